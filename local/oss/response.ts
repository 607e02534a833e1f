/** What a handler answers, and how it goes on the wire with the headers OSS puts on every response. */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorXml, type OssError } from './errors.js';
import { buildXml } from './xml.js';

export interface OssResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: Buffer | Readable;
}

export function xmlResponse(
  status: number,
  document: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return {
    status,
    headers: { ...headers, 'content-type': 'application/xml' },
    body: Buffer.from(buildXml(document), 'utf8'),
  } satisfies OssResponse;
}

export function errorResponse(
  error: OssError,
  requestId: string,
  hostId: string,
  method: string,
): OssResponse {
  const xml = Buffer.from(errorXml(error, requestId, hostId), 'utf8');
  const headers: Record<string, string> = { 'content-type': 'application/xml', 'x-oss-ec': error.ec };
  // A HEAD answer has no body: OSS carries the error document base64 in x-oss-err (ali-oss reads it).
  if (method === 'HEAD')
    return { status: error.status, headers: { ...headers, 'x-oss-err': xml.toString('base64') } };
  return { status: error.status, headers, body: xml };
}

export async function writeResponse(
  res: ServerResponse,
  response: OssResponse,
  requestId: string,
  startedAt: number,
): Promise<void> {
  const headers: Record<string, string> = {
    server: 'AliyunOSS',
    date: new Date().toUTCString(),
    'x-oss-request-id': requestId,
    'x-oss-server-time': String(Date.now() - startedAt),
    ...response.headers,
  };
  const { body } = response;
  if (body === undefined || Buffer.isBuffer(body)) {
    if (headers['content-length'] === undefined) headers['content-length'] = String(body?.length ?? 0);
    res.writeHead(response.status, headers);
    res.end(res.req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.writeHead(response.status, headers);
  if (res.req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  await pipeline(body, res).catch(() => res.destroy());
}
