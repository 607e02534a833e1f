/**
 * The load generator, in its own process: autocannon with a fixed duration and connection count against one URL,
 * replaying one request. Each message (`LoadOptions`) is one run; it answers the figures and how many answers were
 * not 2xx. Started once and reused, so process start-up never falls inside a measured window.
 */
import autocannon from 'autocannon';
import { reply, serveRequests } from './child.js';

export interface LoadRequest {
  method: 'GET' | 'POST';
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  /** base64 */
  body?: string;
}

export interface LoadOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  /** base64 */
  body: string;
  /** A sequence each connection loops over instead of the one request above (a mix over many users). */
  requests?: LoadRequest[];
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
  /** Answers in the mobile shape (HTTP 200) whose `StatusCode` is not 200: failures the HTTP status hides. */
  mobileErrors: number;
}

serveRequests(async (message): Promise<LoadResult> => {
  const options = message as LoadOptions;
  let mobileErrors = 0;
  const countMobileError = (status: number, body: string) => {
    if (status === 200 && body.startsWith('{"StatusCode"') && !body.startsWith('{"StatusCode":200'))
      mobileErrors += 1;
  };
  const result = await autocannon({
    url: options.url,
    method: options.method,
    headers: options.headers,
    body: Buffer.from(options.body, 'base64'),
    ...(options.requests
      ? {
          requests: options.requests.map((request) => ({
            method: request.method,
            path: request.path,
            headers: request.headers,
            ...(request.body ? { body: Buffer.from(request.body, 'base64') } : {}),
            onResponse: countMobileError,
          })),
        }
      : {}),
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
    mobileErrors,
  };
});
reply({ ready: {} });
