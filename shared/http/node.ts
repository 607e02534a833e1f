/** Adapter: node:http ⇄ EdgeRequest/EdgeResponse, for the local stack and tests. Keeps the raw path and body bytes. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import {
  answerSafely,
  type EdgeApp,
  type EdgeContext,
  type EdgeRequest,
  errorResponse,
  finalHeaders,
  requestContext,
} from './edge.js';

export interface NodeAdapterOptions {
  log: Logger;
  /** Larger bodies are refused with 413 before the handler runs. Default 32 MiB (FC's HTTP trigger limit). */
  maxBodyBytes?: number;
  credentials?: EdgeContext['credentials'];
}

class BodyTooLarge extends Error {}

/** The whole body, read with events: an async iterator over the stream costs several times more per request. */
function readBody(message: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    message.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        message.removeAllListeners('data');
        message.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    message.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    message.on('error', reject);
  });
}

function toEdgeRequest(message: IncomingMessage, body: Buffer, requestId: string): EdgeRequest {
  const url = message.url ?? '/';
  const mark = url.indexOf('?');
  // Node joins repeated headers into one string itself, except Set-Cookie (an array), so its object is used as it
  // is unless a request carries that, rather than copied at every request.
  let headers = message.headers as Record<string, string>;
  if (message.headers['set-cookie'] !== undefined) {
    headers = {};
    for (const name in message.headers) {
      const value = message.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return {
    method: (message.method ?? 'GET').toUpperCase(),
    path: mark === -1 ? url : url.slice(0, mark),
    query: mark === -1 ? '' : url.slice(mark + 1),
    headers,
    body,
    requestId,
    sourceIp: message.socket.remoteAddress ?? '',
  };
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: Uint8Array): void {
  res.writeHead(status, headers);
  res.end(body);
}

export function createNodeListener(app: EdgeApp, options: NodeAdapterOptions): RequestListener {
  const limit = options.maxBodyBytes ?? 32 * 1024 * 1024;
  return (message, res) => {
    const requestId = randomUUID();
    const context = requestContext(options.log, requestId, options.credentials);
    void (async () => {
      let body: Buffer;
      try {
        body = await readBody(message, limit);
      } catch (error) {
        const response =
          error instanceof BodyTooLarge
            ? errorResponse(413, 'BodyTooLarge', `request body exceeds ${limit} bytes`, requestId)
            : errorResponse(400, 'BodyUnreadable', 'the request body could not be read', requestId);
        // Tell the client we are done with this connection: the rest of the body is not read.
        send(
          res,
          response.status,
          { ...finalHeaders(response, requestId), connection: 'close' },
          response.body,
        );
        return;
      }
      const request = toEdgeRequest(message, body, requestId);
      const response = await answerSafely(app, request, context);
      send(res, response.status, finalHeaders(response, requestId), response.body);
    })().catch((error: unknown) => {
      context.log.error({ err: error }, 'failed to write a response');
      res.destroy();
    });
  };
}
