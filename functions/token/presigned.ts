/**
 * The presigned requests of the `put` and `multipart` grants, signed with the token function's own role credentials
 * (no AssumeRole). A presigned V4 URL signs content-type and every x-oss-* header the request carries, so the
 * callback, its variables (the ticket) and the ticket metadata are bound to the signature: a client that drops or
 * changes one, or adds an x-oss-* header of its own (tagging, ACL…), gets 403 SignatureDoesNotMatch. The key is in
 * the signed path. Size is not signable on a PUT: the callback refuses an upload larger than its ticket allows.
 */
import type { RoleCredentials } from '../../shared/http/edge.js';
import { bucketAddress, encodeQuery, presignOssV4 } from '../../shared/oss-v4.js';
import { MAX_PART_NUMBER, type SignedRequest } from '../../shared/token-contract.js';

/** A presigned PUT or Complete lives 15 minutes: enough to start the request, short if the URL leaks. */
export const PRESIGNED_LIFETIME_SECONDS = 15 * 60;
/**
 * Part URLs live an hour: a client works through a batch of them one after another (or a few at a time) and asks for
 * the next batch, or for the same parts again after an interruption.
 */
export const PART_URL_LIFETIME_SECONDS = 60 * 60;
/** The part size a client is told to use unless the file needs larger parts (OSS's smallest is 100 KB). */
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export interface PresignTarget {
  bucket: string;
  /** Region id without `oss-`. */
  region: string;
  /** The public endpoint: where the client sends the requests. */
  endpoint: string;
  credentials: RoleCredentials;
  now: Date;
}

/** One presigned request: the client sends `method` to `url` with exactly `headers`. */
export function presignedRequest(
  target: PresignTarget,
  method: SignedRequest['method'],
  key: string,
  query: Array<[string, string]>,
  headers: Record<string, string>,
  lifetimeSeconds: number,
): SignedRequest {
  const address = bucketAddress(target.endpoint, target.bucket);
  const signed = presignOssV4(
    { method, bucket: target.bucket, key, query, headers },
    target.credentials,
    target.region,
    target.now,
    lifetimeSeconds,
  );
  return {
    method,
    url: `${address.origin.protocol}//${address.host}${address.path(key)}?${encodeQuery(signed)}`,
    headers,
    expiration: new Date(target.now.getTime() + lifetimeSeconds * 1000).toISOString(),
  };
}

/** The part size to recommend for an upload of up to `maxBytes`, and how many parts that makes at most. */
export function partPlan(maxBytes: number): { partSize: number; maxParts: number } {
  const needed = Math.ceil(maxBytes / MAX_PART_NUMBER / 1024) * 1024;
  const partSize = Math.max(DEFAULT_PART_BYTES, needed);
  return { partSize, maxParts: Math.min(MAX_PART_NUMBER, Math.max(1, Math.ceil(maxBytes / partSize))) };
}
