/**
 * STS AssumeRole against the local account: parameter limits, the caller's permission and the role's session
 * limit, with STS's documented error codes, HTTP statuses and messages. Pure apart from minting the credential.
 */
import { createHash } from 'node:crypto';
import { type CredentialLookup, LocalAccount } from '../credentials.js';
import { parseRamPolicy } from '../ram-policy.js';

/** An STS error answer: HTTP status, STS's code and message. */
export class StsError extends Error {
  override name = 'StsError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface AssumeRoleResult {
  AssumedRoleUser: { Arn: string; AssumedRoleId: string };
  Credentials: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration: string };
}

const MIN_DURATION_SECONDS = 900;
const DEFAULT_DURATION_SECONDS = 3600;
const MAX_POLICY_LENGTH = 2048;
const ROLE_ARN = /^acs:ram::(\d+):role\/([^/\s]+)$/i;
const ROLE_SESSION_NAME = /^[A-Za-z0-9.@_-]{2,64}$/;

/** A stable numeric role id (RAM role ids are digit strings) derived from the ARN. */
function roleId(roleArn: string): string {
  const digest = createHash('sha256').update(roleArn.toLowerCase()).digest();
  return (digest.readBigUInt64BE(0) % 10n ** 17n).toString().padStart(17, '3');
}

/**
 * Validate and perform AssumeRole for `caller` (already authenticated). `params` are the action's request parameters
 * (query and form body). Throws `StsError` for every refusal.
 */
export function assumeRole(
  account: LocalAccount,
  caller: CredentialLookup,
  params: ReadonlyMap<string, string>,
  now = Date.now(),
): AssumeRoleResult {
  const roleArn = params.get('RoleArn');
  const sessionName = params.get('RoleSessionName');
  const durationText = params.get('DurationSeconds');
  const policy = params.get('Policy');
  if (!roleArn) throw new StsError(400, 'MissingRoleArn', 'RoleArn is mandatory for this action.');
  if (!sessionName) {
    throw new StsError(400, 'MissingRoleSessionName', 'RoleSessionName is mandatory for this action.');
  }
  const arn = ROLE_ARN.exec(roleArn);
  if (!arn) throw new StsError(400, 'InvalidParameter.RoleArn', 'The parameter RoleArn is wrongly formed.');
  if (!ROLE_SESSION_NAME.test(sessionName)) {
    throw new StsError(
      400,
      'InvalidParameter.RoleSessionName',
      'The parameter RoleSessionName is wrongly formed.',
    );
  }
  const duration = durationText === undefined ? DEFAULT_DURATION_SECONDS : Number(durationText);
  if (!Number.isInteger(duration)) {
    throw new StsError(
      400,
      'InvalidParameter.DurationSeconds',
      'The parameter DurationSeconds is wrongly formed.',
    );
  }
  if (policy !== undefined) {
    if (policy.length > MAX_POLICY_LENGTH) {
      throw new StsError(
        400,
        'InvalidParameter.PolicySize',
        'The size of Policy must be smaller than 2048 bytes.',
      );
    }
    if (policy.length === 0 || !parseRamPolicy(policy).ok) {
      throw new StsError(
        400,
        'InvalidParameter.PolicyGrammar',
        'The parameter Policy has not passed grammar check.',
      );
    }
  }
  if (!LocalAccount.permits(caller, 'sts:AssumeRole', roleArn)) {
    throw new StsError(
      403,
      'NoPermission',
      'You are not authorized to do this action. You should be authorized by RAM.',
    );
  }
  const role = account.role(roleArn);
  if (!role || arn[1] !== account.accountId) {
    throw new StsError(404, 'EntityNotExist.Role', 'The specified Role not exists .');
  }
  if (duration < MIN_DURATION_SECONDS || duration > role.maxSessionDuration) {
    const hours = role.maxSessionDuration / 3600;
    throw new StsError(
      400,
      'InvalidParameter.DurationSeconds',
      `The Min/Max value of DurationSeconds is 15min/${Number.isInteger(hours) ? hours : hours.toFixed(2)}hr.`,
    );
  }
  const credential = account.issueTemporary({
    roleArn: role.arn,
    roleSessionName: sessionName,
    durationSeconds: duration,
    ...(policy ? { sessionPolicy: policy } : {}),
    now,
  });
  return {
    AssumedRoleUser: {
      Arn: `${role.arn}/${sessionName}`,
      AssumedRoleId: `${roleId(role.arn)}:${sessionName}`,
    },
    Credentials: {
      AccessKeyId: credential.accessKeyId,
      AccessKeySecret: credential.accessKeySecret,
      SecurityToken: credential.securityToken,
      Expiration: credential.expiration,
    },
  };
}
