/**
 * The few OSS requests the functions make by hand — HeadObject and PutObjectTagging (callback),
 * InitiateMultipartUpload (token, for the presigned multipart grant) — signed with OSS V4 (shared/oss-v4.ts) and sent
 * over the shared keep-alive pool (shared/http/outbound.ts).
 *
 * Written by hand rather than with ali-oss, the well-kept client the media function uses: ali-oss brings its whole
 * HTTP stack (urllib, iconv-lite, xml2js, mime…), about half a megabyte of a bundle, and its per-request machinery,
 * for three requests in functions that pay their bundle at every cold start (the callback within OSS's 5 s budget).
 * What is here is only the requests; they are checked against the local OSS stand-in, which verifies V4
 * independently.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RoleCredentials } from './http/edge.js';
import { type OutboundResponse, sendRequest, TransportError } from './http/outbound.js';
import { bucketAddress, encodeQuery, type OssV4Request, signOssV4 } from './oss-v4.js';

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

/** The requests on one bucket. Each call takes its own whole-request timeout. */
export function createOssRestClient(options: OssRestOptions) {
  const address = bucketAddress(options.endpoint, options.bucket);

  /** One signed request on `key` of the bucket: no query, headers or body unless given. */
  async function send(
    method: string,
    key: string,
    { query = [], headers = {}, body }: Partial<Pick<OssV4Request, 'query' | 'headers'>> & { body?: Buffer },
    timeoutMs: number,
  ): Promise<OutboundResponse> {
    const request: OssV4Request = { method, bucket: options.bucket, key, query, headers };
    const signed = signOssV4(request, options.credentials, options.region, new Date());
    // Host is not signed in V4; the signed headers are a fresh object of this request's.
    signed.host = address.host;
    const encoded = encodeQuery(query);
    try {
      return await sendRequest({
        origin: address.origin,
        hostname: address.hostname,
        method,
        path: `${address.path(key)}${encoded ? `?${encoded}` : ''}`,
        headers: signed,
        body,
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
      const answer = await send('HEAD', key, {}, timeoutMs);
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
      const answer = await send('PUT', key, { query: [['tagging', '']], headers, body }, timeoutMs);
      if (answer.status !== 200) throw failure(`PutObjectTagging ${key}`, answer);
    },

    /**
     * InitiateMultipartUpload with `headers` (the object's content type and metadata, fixed here for the whole
     * upload): the new upload id.
     */
    async initiateMultipartUpload(
      key: string,
      headers: Record<string, string>,
      timeoutMs: number,
    ): Promise<string> {
      const answer = await send('POST', key, { query: [['uploads', '']], headers }, timeoutMs);
      if (answer.status !== 200) throw failure(`InitiateMultipartUpload ${key}`, answer);
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(answer.body.toString('utf8'))?.[1];
      if (!uploadId) {
        throw new OssRequestError(answer.status, 'InvalidResponse', 'InitiateMultipartUpload: no UploadId');
      }
      return uploadId;
    },
  };
}
