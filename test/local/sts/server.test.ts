import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acs3CanonicalRequest,
  acs3Signature,
  parseAcs3Authorization,
  rpcSignature,
  rpcStringToSign,
} from '../../../local/acs-signature.js';
import { LocalAccount, type TemporaryCredential } from '../../../local/credentials.js';
import { type LocalSts, startLocalSts } from '../../../local/sts/server.js';
import { assumeRoleWith, localStsClient, sdkError } from '../../helpers/alicloud-clients.js';
import { allowPolicy } from '../../helpers/ram-policy.js';
import { signingVector } from '../../helpers/signing-vectors.js';
import { createTestAccount, type TestAccount } from '../../helpers/test-account.js';

interface Vector {
  id: string;
  inputs: Record<string, unknown>;
  expected: Record<string, string>;
}
const vector = (id: string) => signingVector<Vector>(id);

describe('signature verification against the published vectors', () => {
  it('computes the RPC HMAC-SHA1 (SignatureVersion 1.0) string to sign and signature', () => {
    const { inputs, expected } = vector('rpc-doc-describeregions-testid');
    const params = Object.entries(inputs.params as Record<string, string>);
    const stringToSign = rpcStringToSign(inputs.http_method as string, params);
    expect(stringToSign).toBe(expected.string_to_sign);
    expect(rpcSignature(inputs.access_key_secret as string, stringToSign)).toBe(expected.signature);
    expect(rpcSignature('othersecret', stringToSign)).not.toBe(expected.signature);
  });

  it('computes the ACS3-HMAC-SHA256 canonical request and signature, and parses the Authorization header', () => {
    const { inputs, expected } = vector('acs3-doc-ecs-runinstances');
    const headers = Object.fromEntries(inputs.headers as Array<[string, string]>);
    const request = {
      method: inputs.http_method as string,
      path: inputs.canonical_uri as string,
      query: new URLSearchParams(inputs.query as Array<[string, string]>).toString(),
      headers,
      body: Buffer.from(inputs.body as string),
    };
    const parsed = parseAcs3Authorization(expected.authorization as string);
    expect(parsed).toMatchObject({ algorithm: 'ACS3-HMAC-SHA256', accessKeyId: inputs.access_key_id });
    const canonical = acs3CanonicalRequest(request, parsed?.signedHeaders ?? []);
    expect(canonical).toBe(expected.canonical_request);
    expect(acs3Signature(inputs.access_key_secret as string, canonical)).toBe(expected.signature);
    expect(parsed?.signature).toBe(expected.signature);
    const tampered = acs3CanonicalRequest(
      { ...request, body: Buffer.from('x') },
      parsed?.signedHeaders ?? [],
    );
    expect(acs3Signature(inputs.access_key_secret as string, tampered)).not.toBe(expected.signature);
  });
});

describe('local STS AssumeRole with @alicloud/sts20150401', () => {
  let local: TestAccount;
  let sts: LocalSts;
  const temporary = (role: string, options: { now?: number } = {}): TemporaryCredential =>
    local.account.issueTemporary({
      roleArn: local.arn(role),
      roleSessionName: 'fc-test',
      durationSeconds: 900,
      ...options,
    });
  const asRoot = () => localStsClient(sts.endpoint, local.root);
  const uploaderRequest = (extra: Record<string, unknown> = {}) => ({
    roleArn: local.arn('uploader'),
    roleSessionName: 'alice',
    ...extra,
  });

  beforeAll(async () => {
    local = createTestAccount();
    local.putRole('uploader', 'oss:*', 'acs:oss:*:*:bucket/*');
    local.putRole('long-sessions', 'oss:GetObject', '*', 43200);
    local.putRole('token-fn', 'sts:AssumeRole', local.arn('uploader'));
    local.putRole('media-fn', 'oss:GetObject', 'acs:oss:*:*:bucket/*');
    sts = await startLocalSts({ account: local.account });
  });

  afterAll(async () => {
    await sts.close();
    local.close();
  });

  it('issues credentials to the root key, with STS Expiration format and the session policy remembered', async () => {
    const sessionPolicy = allowPolicy('oss:PutObject', 'acs:oss:*:*:bucket/uploads/alice/*');
    const started = Date.now();
    const { statusCode, body } = await assumeRoleWith(
      asRoot(),
      uploaderRequest({ durationSeconds: 900, policy: sessionPolicy }),
    );
    expect(statusCode).toBe(200);
    expect(body?.requestId).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(body?.assumedRoleUser?.arn).toBe(`${local.arn('uploader')}/alice`);
    expect(body?.assumedRoleUser?.assumedRoleId).toMatch(/^\d{17}:alice$/);
    const credentials = body?.credentials;
    expect(credentials?.accessKeyId).toMatch(/^STS\./);
    expect(credentials?.expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const lifetime = Date.parse(credentials?.expiration ?? '') - started;
    expect(lifetime).toBeGreaterThan(895_000);
    expect(lifetime).toBeLessThanOrEqual(901_000);
    const issued = local.account.lookup(credentials?.accessKeyId ?? '');
    expect(issued?.kind).toBe('temporary');
    if (issued?.kind !== 'temporary') return;
    expect(issued.credential.securityToken).toBe(credentials?.securityToken);
    expect(issued.credential.sessionPolicy).toBe(sessionPolicy);
    expect(LocalAccount.permits(issued, 'oss:PutObject', 'acs:oss:*:*:bucket/uploads/alice/a.jpg')).toBe(
      true,
    );
    expect(LocalAccount.permits(issued, 'oss:PutObject', 'acs:oss:*:*:bucket/uploads/bob/a.jpg')).toBe(false);
    expect(sts.calls().at(-1)).toMatchObject({ status: 200, signature: 'ACS3-HMAC-SHA256' });
    expect(sts.calls().at(-1)?.securityToken).toBeUndefined();
  });

  it('accepts a function role calling with its temporary credentials and security token', async () => {
    const caller = temporary('token-fn');
    const client = localStsClient(sts.endpoint, caller);
    const { body } = await assumeRoleWith(client, uploaderRequest());
    expect(body?.credentials?.securityToken).toBeTruthy();
    // Default duration is 3600 s.
    expect(Date.parse(body?.credentials?.expiration ?? '') - Date.now()).toBeGreaterThan(3590_000);
    expect(sts.calls().at(-1)).toMatchObject({
      status: 200,
      accessKeyId: caller.accessKeyId,
      securityToken: caller.securityToken,
    });
  });

  it('refuses temporary credentials without their token (MissingSecurityToken)', async () => {
    const caller = temporary('token-fn');
    const error = await sdkError(() =>
      assumeRoleWith(
        localStsClient(sts.endpoint, {
          accessKeyId: caller.accessKeyId,
          accessKeySecret: caller.accessKeySecret,
        }),
        uploaderRequest(),
      ),
    );
    expect(error).toMatchObject({ statusCode: 400, code: 'MissingSecurityToken' });
  });

  it('refuses a token that belongs to other credentials, and expired credentials', async () => {
    const caller = temporary('token-fn');
    const other = temporary('token-fn');
    const mismatch = await sdkError(() =>
      assumeRoleWith(
        localStsClient(sts.endpoint, { ...caller, securityToken: other.securityToken }),
        uploaderRequest(),
      ),
    );
    expect(mismatch).toMatchObject({ statusCode: 400, code: 'InvalidSecurityToken.MismatchWithAccessKey' });
    const expired = temporary('token-fn', { now: Date.now() - 2 * 3600_000 });
    const late = await sdkError(() =>
      assumeRoleWith(localStsClient(sts.endpoint, expired), uploaderRequest()),
    );
    expect(late).toMatchObject({ statusCode: 400, code: 'InvalidSecurityToken.Expired' });
  });

  it('refuses a role session whose policy does not allow sts:AssumeRole on the role (NoPermission)', async () => {
    const caller = temporary('media-fn');
    const error = await sdkError(() =>
      assumeRoleWith(localStsClient(sts.endpoint, caller), uploaderRequest()),
    );
    expect(error).toMatchObject({ statusCode: 403, code: 'NoPermission' });
    // token-fn may assume only the uploader role.
    const other = await sdkError(() =>
      assumeRoleWith(
        localStsClient(sts.endpoint, temporary('token-fn')),
        uploaderRequest({ roleArn: local.arn('media-fn') }),
      ),
    );
    expect(other).toMatchObject({ statusCode: 403, code: 'NoPermission' });
  });

  it('refuses a wrong secret (SignatureDoesNotMatch) and an unknown key (InvalidAccessKeyId.NotFound)', async () => {
    const wrong = await sdkError(() =>
      assumeRoleWith(
        localStsClient(sts.endpoint, { ...local.root, accessKeySecret: 'not-the-secret' }),
        uploaderRequest(),
      ),
    );
    expect(wrong).toMatchObject({ statusCode: 400, code: 'SignatureDoesNotMatch' });
    expect(String(wrong.data.Message)).toContain('server string to sign is:');
    const unknown = await sdkError(() =>
      assumeRoleWith(
        localStsClient(sts.endpoint, { ...local.root, accessKeyId: 'LTAInobody' }),
        uploaderRequest(),
      ),
    );
    expect(unknown).toMatchObject({ statusCode: 404, code: 'InvalidAccessKeyId.NotFound' });
  });

  it("answers errors in STS's JSON shape", async () => {
    const error = await sdkError(() => assumeRoleWith(asRoot(), uploaderRequest({ roleSessionName: 'a' })));
    expect(Object.keys(error.data).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    expect(error.data).toMatchObject({
      Code: 'InvalidParameter.RoleSessionName',
      Message: 'The parameter RoleSessionName is wrongly formed.',
      RequestId: expect.stringMatching(/^[0-9A-F-]{36}$/),
      Recommend: expect.stringContaining('q=InvalidParameter.RoleSessionName'),
    });
  });

  it.each([
    [{ durationSeconds: 899 }, 400, 'InvalidParameter.DurationSeconds'],
    [{ durationSeconds: 3601 }, 400, 'InvalidParameter.DurationSeconds'],
    [{ roleArn: 'long-sessions', durationSeconds: 43201 }, 400, 'InvalidParameter.DurationSeconds'],
    [{ roleSessionName: 'a' }, 400, 'InvalidParameter.RoleSessionName'],
    [{ roleSessionName: 'x'.repeat(65) }, 400, 'InvalidParameter.RoleSessionName'],
    [{ roleSessionName: 'alice smith' }, 400, 'InvalidParameter.RoleSessionName'],
    [{ roleSessionName: 'alice/1' }, 400, 'InvalidParameter.RoleSessionName'],
    [{ policy: 'x'.repeat(2049) }, 400, 'InvalidParameter.PolicySize'],
    [{ policy: 'not json' }, 400, 'InvalidParameter.PolicyGrammar'],
    [{ policy: '{"Version":"1"}' }, 400, 'InvalidParameter.PolicyGrammar'],
    [
      { policy: '{"Version":"1","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}' },
      400,
      'InvalidParameter.PolicyGrammar',
    ],
    [{ roleArn: undefined }, 400, 'MissingRoleArn'],
    [{ roleSessionName: undefined }, 400, 'MissingRoleSessionName'],
    [{ roleArn: 'arn:aws:iam::123:role/x' }, 400, 'InvalidParameter.RoleArn'],
    [{ roleArn: 'no-such-role' }, 404, 'EntityNotExist.Role'],
  ])('refuses %j with %i %s', async (change, status, code) => {
    const request: Record<string, unknown> = uploaderRequest(change);
    const role = (change as { roleArn?: string }).roleArn;
    if (role && !role.includes(':')) request.roleArn = local.arn(role);
    const error = await sdkError(() => assumeRoleWith(asRoot(), request));
    expect(error).toMatchObject({ statusCode: status, code });
  });

  it.each([
    [{ durationSeconds: 900 }],
    [{ durationSeconds: 3600 }],
    [{ roleArn: 'long-sessions', durationSeconds: 43200 }],
    [{ roleSessionName: 'ab' }],
    [{ roleSessionName: 'a'.repeat(64) }],
    [{ roleSessionName: 'alice.b@example_1-2' }],
    [{ policy: allowPolicy('oss:PutObject', 'acs:oss:*:*:bucket/*').padEnd(2048, ' ') }],
  ])('accepts the limit %j', async (change) => {
    const request: Record<string, unknown> = uploaderRequest(change);
    const role = (change as { roleArn?: string }).roleArn;
    if (role) request.roleArn = local.arn(role);
    const { body } = await assumeRoleWith(asRoot(), request);
    expect(body?.credentials?.accessKeyId).toMatch(/^STS\./);
  });

  it('injects a fault once with failNext, mapped by the SDK like a real one', async () => {
    const faults = [
      [
        'ThrottlingError',
        { status: 400, code: 'Throttling.User', message: 'Request was denied due to user flow control.' },
      ],
      [
        'ServerError',
        {
          status: 503,
          code: 'ServiceUnavailable',
          message: 'The request has failed due to a temporary failure.',
        },
      ],
    ] as const;
    for (const [name, fault] of faults) {
      sts.failNext(fault);
      const error = await sdkError(() => assumeRoleWith(asRoot(), uploaderRequest()));
      expect(error).toMatchObject({ name, statusCode: fault.status, code: fault.code });
    }
    const { body } = await assumeRoleWith(asRoot(), uploaderRequest());
    expect(body?.credentials?.accessKeyId).toMatch(/^STS\./);
  });

  it('also verifies the RPC HMAC-SHA1 signature (signatureAlgorithm v2), with SecurityToken as a parameter', async () => {
    const { body } = await assumeRoleWith(
      localStsClient(sts.endpoint, local.root, { signatureAlgorithm: 'v2' }),
      uploaderRequest(),
    );
    expect(body?.credentials?.accessKeyId).toMatch(/^STS\./);
    expect(sts.calls().at(-1)?.signature).toBe('HMAC-SHA1');
    const caller = temporary('token-fn');
    await assumeRoleWith(
      localStsClient(sts.endpoint, caller, { signatureAlgorithm: 'v2' }),
      uploaderRequest(),
    );
    expect(sts.calls().at(-1)).toMatchObject({ status: 200, securityToken: caller.securityToken });
    const wrong = await sdkError(() =>
      assumeRoleWith(
        localStsClient(
          sts.endpoint,
          { ...local.root, accessKeySecret: 'wrong' },
          { signatureAlgorithm: 'v2' },
        ),
        uploaderRequest(),
      ),
    );
    expect(wrong).toMatchObject({ statusCode: 400, code: 'SignatureDoesNotMatch' });
  });

  describe('raw requests', () => {
    const signedRequest = (date: Date, nonce: string) => {
      const url = new URL(sts.endpoint);
      const query = new URLSearchParams({
        RoleArn: local.arn('uploader'),
        RoleSessionName: 'raw',
      }).toString();
      const headers: Record<string, string> = {
        host: url.host,
        'x-acs-action': 'AssumeRole',
        'x-acs-version': '2015-04-01',
        'x-acs-date': date.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        'x-acs-signature-nonce': nonce,
        'x-acs-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      };
      const signed = Object.keys(headers).sort();
      const canonical = acs3CanonicalRequest(
        { method: 'POST', path: '/', query, headers, body: Buffer.alloc(0) },
        signed,
      );
      headers.authorization = `ACS3-HMAC-SHA256 Credential=${local.root.accessKeyId},SignedHeaders=${signed.join(';')},Signature=${acs3Signature(local.root.accessKeySecret, canonical)}`;
      return () => fetch(`${sts.endpoint}/?${query}`, { method: 'POST', headers });
    };

    it('refuses a replayed signature nonce', async () => {
      const send = signedRequest(new Date(), randomUUID());
      const first = await send();
      expect(first.status, await first.text()).toBe(200);
      const replay = await send();
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ Code: 'SignatureNonceUsed' });
    });

    it('refuses a request signed more than 15 minutes ago', async () => {
      const response = await signedRequest(new Date(Date.now() - 16 * 60_000), randomUUID())();
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ Code: 'InvalidTimeStamp.Expired' });
    });

    it('refuses an unsigned request and an unknown action', async () => {
      const unsigned = await fetch(
        `${sts.endpoint}/?Action=AssumeRole&Version=2015-04-01&RoleArn=x&RoleSessionName=ab`,
        {
          method: 'POST',
        },
      );
      expect(unsigned.status).toBe(400);
      expect(await unsigned.json()).toMatchObject({ Code: 'IncompleteSignature' });
      const unknown = await fetch(`${sts.endpoint}/?Action=GetCallerIdentity&Version=2015-04-01`, {
        method: 'POST',
      });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ Code: 'InvalidAction.NotFound' });
    });
  });
});
