/** V1 (HMAC-SHA1) request authentication: the `OSS <id>:<signature>` header and presigned URLs. */
import type { AuthInput, AuthSettings, Principal } from './auth-input.js';
import {
  checkSkew,
  isoSeconds,
  resolveCredential,
  sameSignature,
  signatureMismatch,
} from './credential-check.js';
import { accessDenied, invalidArgument, UNKNOWN_EC } from './errors.js';
import { queryValue } from './query.js';
import { canonicalizedResource, hmacSha1Base64, v1StringToSign } from './signature-v1.js';

export function v1Header(input: AuthInput, settings: AuthSettings, header: string): Principal {
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(header);
  if (!match) throw invalidArgument('Authorization header is invalid.');
  const [, accessKeyId, provided] = match as unknown as [string, string, string];
  const date = input.headers.date ?? input.headers['x-oss-date'];
  if (!date)
    throw accessDenied('The request carries neither a Date nor an x-oss-date header.', '0002-00000503');
  const dateMs = Date.parse(date);
  if (Number.isNaN(dateMs))
    throw accessDenied(`The Date header is not a valid GMT date: ${date}`, '0002-00000502');
  checkSkew(dateMs, input.now);
  const { lookup, secret } = resolveCredential(
    settings.account,
    accessKeyId,
    input.headers['x-oss-security-token'],
    input.now,
  );
  const stringToSign = v1StringToSign({
    method: input.method,
    contentMd5: input.headers['content-md5'] ?? '',
    contentType: input.headers['content-type'] ?? '',
    date,
    headers: input.headers,
    resource: canonicalizedResource(input.bucket, input.key, input.query),
  });
  if (!sameSignature(hmacSha1Base64(secret, stringToSign), provided)) {
    throw signatureMismatch('0002-00000040', accessKeyId, provided, stringToSign);
  }
  return { kind: 'credential', accessKeyId, lookup };
}

export function v1Query(input: AuthInput, settings: AuthSettings): Principal {
  const accessKeyId = queryValue(input.query, 'OSSAccessKeyId');
  const expires = queryValue(input.query, 'Expires');
  const provided = queryValue(input.query, 'Signature');
  if (!accessKeyId || !expires || !provided) {
    throw accessDenied('A signed URL needs OSSAccessKeyId, Expires and Signature.');
  }
  if (!/^\d+$/.test(expires)) throw accessDenied(`Expires is not a Unix time: ${expires}`);
  if (Number(expires) * 1000 < input.now) {
    throw accessDenied('Request has expired.', undefined, {
      Expires: isoSeconds(Number(expires) * 1000),
      ServerTime: isoSeconds(input.now),
    });
  }
  const { lookup, secret } = resolveCredential(
    settings.account,
    accessKeyId,
    queryValue(input.query, 'security-token'),
    input.now,
  );
  const stringToSign = v1StringToSign({
    method: input.method,
    contentMd5: input.headers['content-md5'] ?? '',
    contentType: input.headers['content-type'] ?? '',
    date: expires,
    headers: input.headers,
    resource: canonicalizedResource(input.bucket, input.key, input.query),
  });
  if (!sameSignature(hmacSha1Base64(secret, stringToSign), provided)) {
    throw signatureMismatch(UNKNOWN_EC, accessKeyId, provided, stringToSign);
  }
  return { kind: 'credential', accessKeyId, lookup };
}
