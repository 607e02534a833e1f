/**
 * The two OSS requests the callback function makes — HeadObject and PutObjectTagging — signed with OSS V4
 * (OSS4-HMAC-SHA256, as documented for the Authorization header) and sent over the shared keep-alive pool
 * (shared/http/outbound.ts).
 *
 * Written by hand rather than with ali-oss, the well-kept client the media function uses: ali-oss brings its whole
 * HTTP stack (urllib, iconv-lite, xml2js, mime…), about half a megabyte of the callback's bundle, and its per-request
 * machinery, for two requests in a function that has OSS's 5 s budget and pays its bundle at every cold start. What
 * is here is only the signature and the two requests; it is checked against the published V4 vectors and against
 * the local OSS stand-in, which verifies V4 independently.
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { type OutboundResponse, sendRequest, TransportError } from '../../shared/http/outbound.js';

export const OSS_V4_ALGORITHM = 'OSS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** A request to sign. Names of `headers` as they will be sent (case is ignored for signing). */
export interface OssV4Request {
  method: string;
  bucket: string;
  /** Decoded object key. */
  key: string;
  /** Decoded query parameters, e.g. `[['tagging', '']]`. */
  query: Array<[string, string]>;
  headers: Record<string, string>;
  /** Headers to sign beyond the default ones (content-type, content-md5, x-oss-*). */
  additionalHeaders?: string[];
}

/** RFC 3986 percent-encoding (everything but unreserved characters), as V4 canonicalisation requires. */
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `/bucket/key`, each segment encoded, `/` kept. */
function encodePath(segments: string): string {
  return segments.split('/').map(strictEncode).join('/');
}

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function isDefaultSigned(name: string): boolean {
  return name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-');
}

/** `20231216T162057Z` */
function isoBasic(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** The derived key changes once a day per secret and region: keep the last one. */
let cachedSigningKey: { id: string; key: Buffer } | undefined;

function signingKey(secret: string, day: string, region: string): Buffer {
  const id = `${secret}\n${day}\n${region}`;
  if (cachedSigningKey?.id !== id) {
    const key = hmac(hmac(hmac(hmac(`aliyun_v4${secret}`, day), region), 'oss'), 'aliyun_v4_request');
    cachedSigningKey = { id, key };
  }
  return cachedSigningKey.key;
}

/**
 * Sign `request` for `region` (e.g. `cn-hangzhou`) at `now`: returns its headers plus `x-oss-date`,
 * `x-oss-content-sha256`, `x-oss-security-token` (with STS credentials) and `Authorization`.
 */
export function signOssV4(
  request: OssV4Request,
  credentials: RoleCredentials,
  region: string,
  now: Date,
): Record<string, string> {
  const datetime = isoBasic(now);
  const day = datetime.slice(0, 8);
  const headers: Record<string, string> = {
    ...request.headers,
    'x-oss-date': datetime,
    'x-oss-content-sha256': UNSIGNED_PAYLOAD,
    ...(credentials.securityToken ? { 'x-oss-security-token': credentials.securityToken } : {}),
  };
  const additional = [...new Set((request.additionalHeaders ?? []).map((name) => name.toLowerCase()))].sort(
    byCode,
  );
  const signed = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim()] as const)
    .filter(([name]) => isDefaultSigned(name) || additional.includes(name))
    .sort(([a], [b]) => byCode(a, b));
  const query = request.query
    .map(([name, value]) => [strictEncode(name), strictEncode(value)] as const)
    .sort(([a, av], [b, bv]) => byCode(a, b) || byCode(av, bv))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
  const canonicalRequest = [
    request.method.toUpperCase(),
    encodePath(`/${request.bucket}/${request.key}`),
    query,
    signed.map(([name, value]) => `${name}:${value}\n`).join(''),
    additional.join(';'),
    UNSIGNED_PAYLOAD,
  ].join('\n');
  const scope = `${day}/${region}/oss/aliyun_v4_request`;
  const stringToSign = [
    OSS_V4_ALGORITHM,
    datetime,
    scope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  const signature = createHmac('sha256', signingKey(credentials.accessKeySecret, day, region))
    .update(stringToSign, 'utf8')
    .digest('hex');
  const additionalField = additional.length > 0 ? `,AdditionalHeaders=${additional.join(';')}` : '';
  headers.authorization = `${OSS_V4_ALGORITHM} Credential=${credentials.accessKeyId}/${scope}${additionalField},Signature=${signature}`;
  return headers;
}

/** OSS answered with an error (its XML `Code` when it sent a body), or the request failed on the way. */
export class OssRequestError extends Error {
  override name = 'OssRequestError';
  constructor(
    readonly status: number | undefined,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface OssRestOptions {
  /** e.g. `https://oss-cn-hangzhou-internal.aliyuncs.com`, or the local cloud's `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** Region id without `oss-`, e.g. `cn-hangzhou`. */
  region: string;
  bucket: string;
  credentials: RoleCredentials;
}

export interface OssHead {
  status: number;
  headers: IncomingHttpHeaders;
}

const escapeXml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );

/** HeadObject and PutObjectTagging on one bucket. Each call takes its own whole-request timeout. */
export function createOssRestClient(options: OssRestOptions) {
  const endpoint = new URL(options.endpoint);
  // As ali-oss addresses it: path-style on an IP endpoint (the local cloud), virtual-hosted on a named one.
  const pathStyle = isIP(endpoint.hostname.replace(/^\[|\]$/g, '')) !== 0;
  const host = pathStyle ? endpoint.host : `${options.bucket}.${endpoint.host}`;
  const hostname = pathStyle ? endpoint.hostname : `${options.bucket}.${endpoint.hostname}`;

  async function send(
    request: OssV4Request,
    body: Buffer | undefined,
    timeoutMs: number,
  ): Promise<OutboundResponse> {
    const headers = signOssV4(request, options.credentials, options.region, new Date());
    const query = request.query
      .map(([name, value]) =>
        value === '' ? strictEncode(name) : `${strictEncode(name)}=${strictEncode(value)}`,
      )
      .join('&');
    const path = `${encodePath(pathStyle ? `/${options.bucket}/${request.key}` : `/${request.key}`)}${query ? `?${query}` : ''}`;
    try {
      return await sendRequest({
        origin: endpoint,
        hostname,
        method: request.method,
        path,
        headers: { ...headers, host },
        ...(body ? { body } : {}),
        timeoutMs,
      });
    } catch (error) {
      const code = error instanceof TransportError ? error.code : 'NetworkError';
      throw new OssRequestError(undefined, code, (error as Error).message, undefined, { cause: error });
    }
  }

  function failure(what: string, answer: OutboundResponse): OssRequestError {
    const text = answer.body.toString('utf8');
    const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
    const requestId = field('RequestId') ?? (answer.headers['x-oss-request-id'] as string | undefined);
    const code = field('Code') ?? `Http${answer.status}`;
    return new OssRequestError(
      answer.status,
      code,
      `${what}: ${answer.status} ${code}${field('Message') ? ` (${field('Message')})` : ''}`,
      requestId,
    );
  }

  return {
    /** HeadObject: the object's headers, or null when it does not exist. */
    async head(key: string, timeoutMs: number): Promise<OssHead | null> {
      const answer = await send(
        { method: 'HEAD', bucket: options.bucket, key, query: [], headers: {} },
        undefined,
        timeoutMs,
      );
      if (answer.status === 404) return null;
      if (answer.status !== 200) throw failure(`HeadObject ${key}`, answer);
      return { status: answer.status, headers: answer.headers };
    },

    /** PutObjectTagging: replace the object's tags. */
    async putTagging(key: string, tags: Record<string, string>, timeoutMs: number): Promise<void> {
      const tagSet = Object.entries(tags)
        .map(([name, value]) => `<Tag><Key>${escapeXml(name)}</Key><Value>${escapeXml(value)}</Value></Tag>`)
        .join('');
      const body = Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet>${tagSet}</TagSet></Tagging>`,
      );
      const headers = {
        'content-type': 'application/xml',
        'content-md5': createHash('md5').update(body).digest('base64'),
      };
      const request = {
        method: 'PUT',
        bucket: options.bucket,
        key,
        query: [['tagging', '']] as Array<[string, string]>,
        headers,
      };
      const answer = await send(request, body, timeoutMs);
      if (answer.status !== 200) throw failure(`PutObjectTagging ${key}`, answer);
    },
  };
}
