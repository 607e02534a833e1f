/**
 * The load generator, in its own process: autocannon with a fixed duration and connection count against one URL,
 * replaying one request. Each message (`LoadOptions`) is one run; it answers the figures and how many answers were
 * not 2xx. Started once and reused, so process start-up never falls inside a measured window.
 */
import autocannon from 'autocannon';
import { reply, serveRequests } from './child.js';

export interface LoadOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  /** base64 */
  body: string;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  requests: number;
  non2xx: number;
  /** Answers by HTTP status. */
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
}

serveRequests(async (message): Promise<LoadResult> => {
  const options = message as LoadOptions;
  const result = await autocannon({
    url: options.url,
    method: options.method,
    headers: options.headers,
    body: Buffer.from(options.body, 'base64'),
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 10,
  });
  return {
    // Completed requests over the run's actual length (autocannon's per-second average drops partial seconds).
    requestsPerSecond: result.requests.total / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    requests: result.requests.total,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats as Record<string, { count: number }>).map(([status, stats]) => [
        status,
        stats.count,
      ]),
    ),
    errors: result.errors,
    timeouts: result.timeouts,
  };
});
reply({ ready: {} });
