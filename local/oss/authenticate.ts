/**
 * Who sent a request, checked as OSS checks it: V1 or V4 Authorization header, V1 or V4 presigned URL, or nobody.
 * Credentials come from the LocalAccount; temporary ones need their security token and must not have expired.
 */
import type { AuthInput, AuthSettings, Principal } from './auth-input.js';
import { v1Header, v1Query } from './auth-v1.js';
import { v4Header, v4Query } from './auth-v4.js';
import { invalidArgument } from './errors.js';
import { hasQuery } from './query.js';
import { V4_ALGORITHM } from './signature-v4.js';

export function authenticate(input: AuthInput, settings: AuthSettings): Principal {
  const header = input.headers.authorization;
  const v1InQuery = hasQuery(input.query, 'OSSAccessKeyId') || hasQuery(input.query, 'Signature');
  const v4InQuery =
    hasQuery(input.query, 'x-oss-signature-version') || hasQuery(input.query, 'x-oss-signature');
  if (header !== undefined && (v1InQuery || v4InQuery)) {
    throw invalidArgument('A request cannot carry both an Authorization header and a signature in the URL.');
  }
  if (header !== undefined) {
    if (header.startsWith('OSS ')) return v1Header(input, settings, header);
    if (header.startsWith(`${V4_ALGORITHM} `)) return v4Header(input, settings, header);
    throw invalidArgument('Authorization header is invalid.');
  }
  if (v4InQuery) return v4Query(input, settings);
  if (v1InQuery) return v1Query(input, settings);
  return { kind: 'anonymous' };
}
