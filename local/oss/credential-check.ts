/**
 * What every OSS signature check shares: finding the credential (with its STS token and expiry), comparing
 * signatures in constant time, the 15-minute clock window, and the SignatureDoesNotMatch error.
 */
import { timingSafeEqual } from 'node:crypto';
import type { CredentialLookup, LocalAccount } from '../credentials.js';
import { OssError } from './errors.js';

/** OSS refuses requests whose time is more than 15 minutes off its own. */
const MAX_SKEW_MS = 15 * 60 * 1000;

export const sameSignature = (expected: string, provided: string): boolean => {
  const a = Buffer.from(expected);
  const b = Buffer.from(provided);
  return a.length === b.length && timingSafeEqual(a, b);
};

export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000Z');

/** Find the credential and check what OSS checks before the signature: the token and its expiry. */
export function resolveCredential(
  account: LocalAccount,
  accessKeyId: string,
  securityToken: string | undefined,
  now: number,
): { lookup: CredentialLookup; secret: string } {
  const lookup = account.lookup(accessKeyId);
  if (!lookup) {
    throw new OssError(
      403,
      'InvalidAccessKeyId',
      'The OSS Access Key Id you provided does not exist in our records.',
      undefined,
      { OSSAccessKeyId: accessKeyId },
    );
  }
  if (lookup.kind === 'root') return { lookup, secret: lookup.key.accessKeySecret };
  const { credential } = lookup;
  if (!securityToken) {
    throw new OssError(
      403,
      'InvalidAccessKeyId',
      'The request uses a temporary AccessKey but carries no security token.',
      '0002-00000003',
      { OSSAccessKeyId: accessKeyId },
    );
  }
  if (!sameSignature(credential.securityToken, securityToken)) {
    throw new OssError(
      403,
      'InvalidSecurityToken',
      'The security token you provided is invalid.',
      '0002-00000006',
    );
  }
  if (Date.parse(credential.expiration) <= now) {
    throw new OssError(
      403,
      'SecurityTokenExpired',
      'The security token you provided has expired.',
      '0002-00000007',
      { SecurityToken: securityToken },
    );
  }
  return { lookup, secret: credential.accessKeySecret };
}

export function signatureMismatch(
  ec: string,
  accessKeyId: string,
  provided: string,
  stringToSign: string,
  canonicalRequest?: string,
): OssError {
  return new OssError(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    ec,
    {
      OSSAccessKeyId: accessKeyId,
      SignatureProvided: provided,
      StringToSign: stringToSign,
      ...(canonicalRequest === undefined ? {} : { CanonicalRequest: canonicalRequest }),
    },
  );
}

export function checkSkew(requestMs: number, now: number): void {
  if (Math.abs(requestMs - now) > MAX_SKEW_MS) {
    throw new OssError(
      403,
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      undefined,
      {
        RequestTime: isoSeconds(requestMs),
        ServerTime: isoSeconds(now),
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      },
    );
  }
}

/** `20231216T162057Z` → epoch ms, or NaN. */
export function parseIsoBasic(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}
