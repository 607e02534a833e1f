/** V4 (OSS4-HMAC-SHA256) request authentication: the Authorization header and presigned URLs (≤ 7 days). */
import type { AuthInput, AuthSettings, Principal } from './auth-input.js';
import {
  checkSkew,
  isoSeconds,
  parseIsoBasic,
  resolveCredential,
  sameSignature,
  signatureMismatch,
} from './credential-check.js';
import { accessDenied, invalidArgument } from './errors.js';
import { queryValue } from './query.js';
import {
  parseV4Authorization,
  parseV4Credential,
  UNSIGNED_PAYLOAD,
  V4_ALGORITHM,
  v4CanonicalRequest,
  v4Scope,
  v4Signature,
  v4SigningKey,
  v4StringToSign,
} from './signature-v4.js';

/** Longest validity of a V4 presigned URL (7 days). */
const MAX_V4_EXPIRES_S = 604_800;

function checkRegion(region: string, settings: AuthSettings, product: string): void {
  if (product !== 'oss') throw invalidArgument(`Invalid signing product in the credential: ${product}`);
  if (region !== settings.region) {
    throw invalidArgument(
      `Invalid signing region in the credential: ${region}, expected ${settings.region}.`,
    );
  }
}

export function v4Header(input: AuthInput, settings: AuthSettings, header: string): Principal {
  const parsed = parseV4Authorization(header);
  if (typeof parsed === 'string') throw invalidArgument(parsed);
  const { credential, additionalHeaders, signature } = parsed;
  checkRegion(credential.region, settings, credential.product);
  const datetime = input.headers['x-oss-date'];
  if (!datetime) throw accessDenied('A V4 signed request needs an x-oss-date header.', '0002-00000503');
  const requestMs = parseIsoBasic(datetime);
  if (Number.isNaN(requestMs) || !datetime.startsWith(credential.date)) {
    throw accessDenied(
      `x-oss-date is not yyyymmddTHHMMSSZ of the credential's date: ${datetime}`,
      '0002-00000502',
    );
  }
  checkSkew(requestMs, input.now);
  const payload = input.headers['x-oss-content-sha256'];
  if (payload !== undefined && payload !== UNSIGNED_PAYLOAD) {
    throw invalidArgument('x-oss-content-sha256 must be UNSIGNED-PAYLOAD.', '0002-00000214');
  }
  for (const name of additionalHeaders) {
    if (input.headers[name] === undefined)
      throw invalidArgument(`Additional header ${name} is not in the request.`);
  }
  const { lookup, secret } = resolveCredential(
    settings.account,
    credential.accessKeyId,
    input.headers['x-oss-security-token'],
    input.now,
  );
  const canonicalRequest = v4CanonicalRequest({ ...input, additionalHeaders });
  checkV4Signature(credential, datetime, secret, canonicalRequest, signature);
  return { kind: 'credential', accessKeyId: credential.accessKeyId, lookup };
}

export function v4Query(input: AuthInput, settings: AuthSettings): Principal {
  const version = queryValue(input.query, 'x-oss-signature-version');
  const credential = parseV4Credential(queryValue(input.query, 'x-oss-credential') ?? '');
  const datetime = queryValue(input.query, 'x-oss-date') ?? '';
  const expires = queryValue(input.query, 'x-oss-expires') ?? '';
  const signature = queryValue(input.query, 'x-oss-signature');
  if (version !== V4_ALGORITHM) throw invalidArgument(`Unsupported x-oss-signature-version: ${version}`);
  if (!credential) throw invalidArgument('x-oss-credential is missing or malformed.');
  if (!signature) throw invalidArgument('x-oss-signature is missing or empty.', '0002-00000220');
  checkRegion(credential.region, settings, credential.product);
  const signedAt = parseIsoBasic(datetime);
  if (Number.isNaN(signedAt) || !datetime.startsWith(credential.date)) {
    throw accessDenied(
      `x-oss-date is not yyyymmddTHHMMSSZ of the credential's date: ${datetime}`,
      '0002-00000502',
    );
  }
  if (!/^\d+$/.test(expires) || Number(expires) > MAX_V4_EXPIRES_S) {
    throw invalidArgument(`x-oss-expires must be 1…${MAX_V4_EXPIRES_S} seconds: ${expires}`);
  }
  const expiresAt = signedAt + Number(expires) * 1000;
  if (expiresAt < input.now) {
    throw accessDenied('Request has expired.', undefined, {
      Expires: isoSeconds(expiresAt),
      ServerTime: isoSeconds(input.now),
    });
  }
  const extra = queryValue(input.query, 'x-oss-additional-headers');
  const additionalHeaders = extra ? extra.split(';') : [];
  const { lookup, secret } = resolveCredential(
    settings.account,
    credential.accessKeyId,
    queryValue(input.query, 'x-oss-security-token'),
    input.now,
  );
  const canonicalRequest = v4CanonicalRequest({
    ...input,
    additionalHeaders,
    omitQuery: new Set(['x-oss-signature']),
  });
  checkV4Signature(credential, datetime, secret, canonicalRequest, signature);
  return { kind: 'credential', accessKeyId: credential.accessKeyId, lookup };
}

/** The V4 signature over a canonical request, the same for header and query (presigned) authentication. */
function checkV4Signature(
  credential: { accessKeyId: string; date: string; region: string },
  datetime: string,
  secret: string,
  canonicalRequest: string,
  signature: string,
): void {
  const stringToSign = v4StringToSign(
    datetime,
    v4Scope(credential.date, credential.region),
    canonicalRequest,
  );
  const expected = v4Signature(v4SigningKey(secret, credential.date, credential.region), stringToSign);
  if (!sameSignature(expected, signature)) {
    throw signatureMismatch(
      '0002-00000201',
      credential.accessKeyId,
      signature,
      stringToSign,
      canonicalRequest,
    );
  }
}
