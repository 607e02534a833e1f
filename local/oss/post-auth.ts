/**
 * PostObject authentication: the form's V4 (`x-oss-signature` over the policy with the V4 signing key) or V1
 * (`Signature` = HMAC-SHA1 of the policy) signature, its STS token, and the policy it signs.
 */
import type { Principal } from './auth-input.js';
import type { OssServices } from './context.js';
import { parseIsoBasic, resolveCredential, sameSignature, signatureMismatch } from './credential-check.js';
import { accessDenied, invalidArgument } from './errors.js';
import { type PostPolicy, parsePostPolicy, policyPins } from './post-policy.js';
import { v1PostSignature } from './signature-v1.js';
import { parseV4Credential, V4_ALGORITHM, v4PostSignature } from './signature-v4.js';

const POST_SIGNATURE_EC = '0002-00000705';
/** A form's x-oss-date may run ahead of OSS's clock by at most this much. */
const MAX_FUTURE_SKEW_MS = 15 * 60 * 1000;

/** Who signed the form, and its policy (undefined for an unsigned form: anonymous). */
export function authenticatePost(
  fields: ReadonlyMap<string, string>,
  services: OssServices,
  now: number,
): { principal: Principal; policy: PostPolicy | undefined } {
  const policyText = fields.get('policy');
  if (policyText === undefined) return { principal: { kind: 'anonymous' }, policy: undefined };
  const version = fields.get('x-oss-signature-version');
  let principal: Principal;
  if (version !== undefined) {
    if (version !== V4_ALGORITHM) throw invalidArgument(`Unsupported x-oss-signature-version: ${version}`);
    const credential = parseV4Credential(fields.get('x-oss-credential') ?? '');
    if (!credential) throw invalidArgument('The x-oss-credential field is missing or malformed.');
    if (credential.region !== services.region || credential.product !== 'oss') {
      throw invalidArgument(`Invalid signing region in x-oss-credential: ${credential.region}`);
    }
    const datetime = fields.get('x-oss-date') ?? '';
    const signedAt = parseIsoBasic(datetime);
    if (Number.isNaN(signedAt) || !datetime.startsWith(credential.date)) {
      throw accessDenied(
        `x-oss-date is not yyyymmddTHHMMSSZ of the credential's date: ${datetime}`,
        '0002-00000502',
      );
    }
    if (signedAt - now > MAX_FUTURE_SKEW_MS) throw accessDenied('x-oss-date is too far in the future.');
    const provided = fields.get('x-oss-signature') ?? '';
    const { lookup, secret } = resolveCredential(
      services.account,
      credential.accessKeyId,
      fields.get('x-oss-security-token'),
      now,
    );
    const expected = v4PostSignature(secret, credential.date, credential.region, policyText);
    if (!sameSignature(expected, provided))
      throw signatureMismatch(POST_SIGNATURE_EC, credential.accessKeyId, provided, policyText);
    principal = { kind: 'credential', accessKeyId: credential.accessKeyId, lookup };
  } else {
    const accessKeyId = fields.get('ossaccesskeyid');
    const provided = fields.get('signature');
    if (!accessKeyId || !provided) throw accessDenied('A signed form needs OSSAccessKeyId and Signature.');
    const { lookup, secret } = resolveCredential(
      services.account,
      accessKeyId,
      fields.get('x-oss-security-token'),
      now,
    );
    if (!sameSignature(v1PostSignature(secret, policyText), provided)) {
      throw signatureMismatch(POST_SIGNATURE_EC, accessKeyId, provided, policyText);
    }
    principal = { kind: 'credential', accessKeyId, lookup };
  }
  const policy = parsePostPolicy(policyText);
  // A V4 form is bound to its signing fields only if the policy pins them (OSS requires it).
  const pinned = version === undefined ? [] : ['x-oss-signature-version', 'x-oss-credential', 'x-oss-date'];
  if (fields.has('x-oss-security-token') && version !== undefined) pinned.push('x-oss-security-token');
  const unpinned = pinned.find((field) => !policyPins(policy, field));
  if (unpinned)
    throw accessDenied(`Invalid according to Policy: the policy must have a condition on ${unpinned}.`);
  return { principal, policy };
}
