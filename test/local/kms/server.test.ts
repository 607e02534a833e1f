/**
 * The local KMS stand-in, checked with the official SDK core's own signer (not upcall's): GetSecretValue in KMS's
 * shape for ACS3 and HMAC-SHA1 signatures, refused for a bad signature, a role without `kms:GetSecretValue` on the
 * secret, or a secret that does not exist; a put is a new version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalKms, startLocalKms } from '../../../local/kms/server.js';
import { kmsGetSecretValue, type SdkError } from '../../helpers/alicloud-clients.js';
import { createTestAccount, type TestAccount } from '../../helpers/test-account.js';

let local: TestAccount;
let kms: LocalKms;

beforeAll(async () => {
  local = createTestAccount();
  kms = await startLocalKms({ account: local.account, region: 'cn-hangzhou' });
  kms.putSecret('app-key', 'v1');
  kms.putSecret('other', 'x');
  local.putRole(
    'reader',
    'kms:GetSecretValue',
    `acs:kms:cn-hangzhou:${local.account.accountId}:secret/app-*`,
  );
});
afterAll(async () => {
  await kms.close();
  local.close();
});

const roleCredentials = () => {
  const { accessKeyId, accessKeySecret, securityToken } = local.account.issueTemporary({
    roleArn: local.arn('reader'),
    roleSessionName: 'test',
    durationSeconds: 900,
  });
  return { accessKeyId, accessKeySecret, securityToken };
};

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as SdkError,
  );

describe('local KMS GetSecretValue', () => {
  it("answers in KMS's shape to both signature versions, and a put makes a new current version", async () => {
    const acs3 = await kmsGetSecretValue(kms.endpoint, roleCredentials(), 'app-key');
    expect(acs3).toMatchObject({
      SecretName: 'app-key',
      SecretData: 'v1',
      SecretDataType: 'text',
      VersionStages: { VersionStage: ['ACSCurrent'] },
    });
    kms.putSecret('app-key', 'v2');
    const rpc = await kmsGetSecretValue(kms.endpoint, roleCredentials(), 'app-key', {
      signatureAlgorithm: 'v2',
    });
    expect(rpc).toMatchObject({ SecretData: 'v2' });
    expect(rpc.VersionId).not.toBe(acs3.VersionId);
    // By ARN too.
    const arn = `acs:kms:cn-hangzhou:${local.account.accountId}:secret/app-key`;
    expect(await kmsGetSecretValue(kms.endpoint, roleCredentials(), arn)).toMatchObject({ SecretData: 'v2' });
  });

  it('refuses a wrong signature, a secret outside the role policy, and an unknown secret', async () => {
    const wrong = { ...roleCredentials(), accessKeySecret: 'not-the-secret' };
    expect(await failureOf(kmsGetSecretValue(kms.endpoint, wrong, 'app-key'))).toMatchObject({
      statusCode: 400,
      code: 'SignatureDoesNotMatch',
    });
    expect(await failureOf(kmsGetSecretValue(kms.endpoint, roleCredentials(), 'other'))).toMatchObject({
      statusCode: 403,
      code: 'Forbidden.RAM',
    });
    expect(await failureOf(kmsGetSecretValue(kms.endpoint, roleCredentials(), 'app-missing'))).toMatchObject({
      statusCode: 404,
      code: 'Forbidden.ResourceNotFound',
    });
  });
});
