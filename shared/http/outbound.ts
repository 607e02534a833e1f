/**
 * Outbound HTTP for the functions' few calls to Alibaba Cloud APIs (OSS HeadObject/PutObjectTagging, FC
 * InvokeFunction): one keep-alive connection pool per process, shared by every client, so an instance's calls reuse
 * warm connections across invocations; one whole-request timeout per call; the answer read to its end (which frees
 * the connection for the next call).
 * Written on node:http by hand rather than with an SDK's HTTP stack: these calls are the callback's hot path and
 * its cold start (BENCHMARKS.md), and need nothing beyond a request, a timeout and the answer.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

export interface OutboundRequest {
  /** The API's origin, e.g. `https://oss-cn-hangzhou-internal.aliyuncs.com` or `http://127.0.0.1:PORT`. */
  origin: URL;
  /** Host to connect to when it differs from the origin's (a virtual-hosted OSS bucket). */
  hostname?: string;
  method: string;
  /** Path and query, already encoded. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** No answer: the call timed out (`RequestTimeout`) or the connection failed (`NetworkError`). */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    readonly code: 'RequestTimeout' | 'NetworkError',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The request's headers as the flat `[name, value, …]` list node:http writes as given: an object would be copied
 * into node's header map first, which costs more than the rest of a small request's headers (the callback makes two
 * calls per upload). With a list node adds no Host of its own, so the origin's is sent unless the caller named one.
 */
export function headerList(request: Pick<OutboundRequest, 'origin' | 'headers' | 'body'>): string[] {
  const list: string[] = [];
  let host = false;
  for (const name in request.headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-length' && request.body) continue;
    if (lower === 'host') host = true;
    list.push(name, request.headers[name] as string);
  }
  if (!host) list.push('host', request.origin.host);
  if (request.body) list.push('content-length', String(request.body.length));
  return list;
}

/**
 * One call: its request, its timeout, its answer. A pooled connection the server closed while it was idle
 * (ECONNRESET on a reused socket, as after an FC instance was frozen) is retried once on a fresh one, as node's docs
 * advise: every call made here is idempotent (HEAD, PUT of tags, an async invocation under a task id FC
 * de-duplicates). A class rather than closures: one promise and no named function per call (the bundle's keepNames
 * names each local closure again at every call), and the callback makes two calls per upload.
 */
class Exchange {
  private settled = false;
  private readonly outgoing: ClientRequest;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly request: OutboundRequest,
    private readonly deadline: number,
    private readonly retryStale: boolean,
    private readonly resolve: (response: OutboundResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {
    const https = request.origin.protocol === 'https:';
    this.outgoing = (https ? httpsRequest : httpRequest)(
      {
        host: request.hostname ?? request.origin.hostname,
        port: request.origin.port || undefined,
        method: request.method,
        path: request.path,
        headers: headerList(request),
        agent: https ? agents.https : agents.http,
      },
      (response) => this.read(response),
    );
    this.timer = setTimeout(
      () =>
        this.outgoing.destroy(
          new TransportError('RequestTimeout', `no answer within ${request.timeoutMs} ms`),
        ),
      Math.max(1, deadline - Date.now()),
    );
    this.outgoing.on('error', (error: Error) => this.fail(error));
    this.outgoing.end(request.body);
  }

  private read(response: IncomingMessage): void {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => {
      if (this.settled) return;
      this.settled = true;
      clearTimeout(this.timer);
      this.resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
      });
    });
    response.on('error', (error: Error) => this.fail(error));
  }

  private fail(error: Error & { code?: string }): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (error instanceof TransportError) this.reject(error);
    else if (this.retryStale && this.outgoing.reusedSocket && error.code === 'ECONNRESET')
      new Exchange(this.request, this.deadline, false, this.resolve, this.reject);
    else this.reject(new TransportError('NetworkError', error.message, { cause: error }));
  }
}

/** Send `request` and read the whole answer (a stale pooled connection is retried once: see `Exchange`). */
export function sendRequest(request: OutboundRequest): Promise<OutboundResponse> {
  const deadline = Date.now() + request.timeoutMs;
  return new Promise((resolve, reject) => new Exchange(request, deadline, true, resolve, reject));
}
