import { join } from 'node:path';
import { Readable } from 'node:stream';
import { InvokeFunctionHeaders, InvokeFunctionRequest } from '@alicloud/fc20230330';
import { RuntimeOptions } from '@darabonba/typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesOssTrigger, ossTriggerEvent } from '../../../local/fc/oss-trigger.js';
import { type LocalFc, type LocalFcContext, startLocalFc } from '../../../local/fc/server.js';
import { type ClientCredentials, localFcClient, sdkError } from '../../helpers/alicloud-clients.js';
import { createTestAccount, type TestAccount } from '../../helpers/test-account.js';

const REGION = 'cn-hangzhou';

async function readAll(body: Readable | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body ?? []) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('local Function Compute with @alicloud/fc20230330', () => {
  let local: TestAccount;
  let fc: LocalFc;
  const session = (role: string) =>
    local.account.issueTemporary({
      roleArn: local.arn(role),
      roleSessionName: 'caller',
      durationSeconds: 900,
    });

  const invoke = (
    credentials: ClientCredentials,
    name: string,
    payload: Buffer | string,
    headers: { type?: 'Sync' | 'Async'; taskId?: string } = {},
  ) =>
    localFcClient(fc.endpoint, credentials).invokeFunctionWithOptions(
      name,
      new InvokeFunctionRequest({ body: Readable.from([Buffer.from(payload)]) }),
      new InvokeFunctionHeaders({
        ...(headers.type ? { xFcInvocationType: headers.type } : {}),
        ...(headers.taskId ? { xFcAsyncTaskId: headers.taskId } : {}),
      }),
      new RuntimeOptions({ autoretry: false }),
    );

  beforeAll(async () => {
    local = createTestAccount();
    local.putRole('media-fn', 'oss:GetObject', 'acs:oss:*:*:bucket/*');
    local.putRole(
      'callback-fn',
      'fc:InvokeFunction',
      `acs:fc:${REGION}:${local.account.accountId}:functions/media*`,
    );
    fc = await startLocalFc({
      account: local.account,
      region: REGION,
      dataDir: join(local.dir, 'fc'),
      retryBackoffMs: 5,
    });
  });

  afterAll(async () => {
    await fc.close();
    local.close();
  });

  it('queues an async invocation (202) and runs the handler with the role credentials', async () => {
    const seen: Array<{ event: string; context: LocalFcContext }> = [];
    fc.register(
      'media',
      async (event, context) => {
        seen.push({ event: event.toString('utf8'), context });
      },
      { roleArn: local.arn('media-fn') },
    );
    const response = await invoke(local.root, 'media', '{"key":"uploads/a.jpg"}', {
      type: 'Async',
      taskId: 'job_1',
    });
    expect(response.statusCode).toBe(202);
    expect(response.headers?.['x-fc-request-id']).toBeTruthy();
    await fc.idle();
    expect(seen).toHaveLength(1);
    const [{ event, context }] = seen as [{ event: string; context: LocalFcContext }];
    expect(event).toBe('{"key":"uploads/a.jpg"}');
    expect(context).toMatchObject({
      requestId: response.headers?.['x-fc-request-id'],
      function: { name: 'media' },
      region: REGION,
      accountId: local.account.accountId,
    });
    const issued = local.account.lookup(context.credentials?.accessKeyId ?? '');
    expect(issued?.kind).toBe('temporary');
    if (issued?.kind !== 'temporary') return;
    expect(issued.credential.roleArn).toBe(local.arn('media-fn'));
    expect(issued.credential.securityToken).toBe(context.credentials?.securityToken);
    expect(issued.credential.accessKeySecret).toBe(context.credentials?.accessKeySecret);
    expect(fc.invocations('media')).toEqual([
      expect.objectContaining({
        type: 'Async',
        taskId: 'job_1',
        status: 'succeeded',
        attempts: 1,
        errors: [],
      }),
    ]);
  });

  it('refuses a repeated async task id with 409 and runs the job once', async () => {
    let runs = 0;
    fc.register('media-dedup', async () => {
      runs += 1;
    });
    expect(
      (await invoke(local.root, 'media-dedup', '{}', { type: 'Async', taskId: 'upcall-abc' })).statusCode,
    ).toBe(202);
    const repeated = await sdkError(() =>
      invoke(local.root, 'media-dedup', '{}', { type: 'Async', taskId: 'upcall-abc' }),
    );
    expect(repeated).toMatchObject({ statusCode: 409, code: 'StatefulAsyncInvocationAlreadyExists' });
    expect(repeated.data).toMatchObject({
      Code: 'StatefulAsyncInvocationAlreadyExists',
      RequestId: expect.any(String),
    });
    await fc.idle();
    expect(runs).toBe(1);
  });

  it('retries a failing async job maxAsyncRetryAttempts times, then dead-letters it', async () => {
    let attempt = 0;
    fc.register(
      'flaky',
      async () => {
        attempt += 1;
        throw new Error(`boom ${attempt}`);
      },
      { maxAsyncRetryAttempts: 2 },
    );
    await invoke(local.root, 'flaky', '{"n":1}', { type: 'Async', taskId: 'flaky_1' });
    await fc.idle();
    expect(attempt).toBe(3);
    const [letter, ...rest] = fc.deadLetters('flaky');
    expect(rest).toEqual([]);
    expect(letter).toMatchObject({
      functionName: 'flaky',
      taskId: 'flaky_1',
      attempts: 3,
      lastErrorMessage: 'boom 3',
    });
    expect(letter?.event.toString()).toBe('{"n":1}');
    expect(fc.invocations('flaky')[0]).toMatchObject({
      status: 'dead-lettered',
      attempts: 3,
      errors: ['boom 1', 'boom 2', 'boom 3'],
    });
    const listed = await fetch(`${fc.endpoint}/_local/dead-letters?function=flaky`);
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual([
      expect.objectContaining({
        taskId: 'flaky_1',
        attempts: 3,
        lastErrorMessage: 'boom 3',
        event: '{"n":1}',
      }),
    ]);
  });

  it('counts a job that fails once and then succeeds as succeeded, with no dead letter', async () => {
    let attempt = 0;
    fc.register('recovers', async () => {
      attempt += 1;
      if (attempt === 1) throw new Error('transient');
      return 'ok';
    });
    await invoke(local.root, 'recovers', '{}', { type: 'Async' });
    await fc.idle();
    expect(fc.invocations('recovers')[0]).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      errors: ['transient'],
    });
    expect(fc.deadLetters('recovers')).toEqual([]);
  });

  it('answers a sync invocation with the handler result, and a handler error as FC reports it', async () => {
    fc.register('echo', async (event) => ({ got: JSON.parse(event.toString('utf8')) }));
    const response = await invoke(local.root, 'echo', '{"a":1}', { type: 'Sync' });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse((await readAll(response.body)).toString('utf8'))).toEqual({ got: { a: 1 } });

    fc.register('text', async () => 'plain text');
    const text = await invoke(local.root, 'text', '', {});
    expect((await readAll(text.body)).toString('utf8')).toBe('plain text');

    fc.register('broken', async () => {
      throw new TypeError('cannot read the event');
    });
    const failed = await invoke(local.root, 'broken', '{}', { type: 'Sync' });
    expect(failed.statusCode).toBe(200);
    expect(failed.headers?.['x-fc-error-type']).toBe('UnhandledInvocationError');
    expect(JSON.parse((await readAll(failed.body)).toString('utf8'))).toMatchObject({
      errorMessage: 'cannot read the event',
      errorType: 'TypeError',
      stackTrace: expect.any(Array),
    });
  });

  it('answers 404 FunctionNotFound for an unknown function', async () => {
    const error = await sdkError(() => invoke(local.root, 'no-such-function', '{}', { type: 'Async' }));
    expect(error).toMatchObject({ statusCode: 404, code: 'FunctionNotFound' });
  });

  it('authenticates and authorises the caller', async () => {
    fc.register('media-auth', async () => undefined);
    const wrongSecret = await sdkError(() =>
      invoke({ ...local.root, accessKeySecret: 'nope' }, 'media-auth', '{}', { type: 'Async' }),
    );
    expect(wrongSecret).toMatchObject({ statusCode: 403, code: 'SignatureNotMatch' });
    const unknownKey = await sdkError(() =>
      invoke({ ...local.root, accessKeyId: 'LTAInobody' }, 'media-auth', '{}', { type: 'Async' }),
    );
    expect(unknownKey).toMatchObject({ statusCode: 403, code: 'InvalidAccessKeyID' });

    // The callback function's role may invoke media* functions, with its security token.
    const callbackRole = session('callback-fn');
    expect((await invoke(callbackRole, 'media-auth', '{}', { type: 'Async' })).statusCode).toBe(202);
    const noToken = await sdkError(() =>
      invoke(
        { accessKeyId: callbackRole.accessKeyId, accessKeySecret: callbackRole.accessKeySecret },
        'media-auth',
        '{}',
        { type: 'Async' },
      ),
    );
    expect(noToken).toMatchObject({ statusCode: 400, code: 'MissingRequiredHeader' });
    fc.register('echo-auth', async () => 'x');
    const notAllowed = await sdkError(() => invoke(callbackRole, 'echo-auth', '{}', { type: 'Sync' }));
    expect(notAllowed).toMatchObject({ statusCode: 403, code: 'AccessDenied' });
    const mediaRole = session('media-fn');
    const noPolicy = await sdkError(() => invoke(mediaRole, 'media-auth', '{}', { type: 'Async' }));
    expect(noPolicy).toMatchObject({ statusCode: 403, code: 'AccessDenied' });
    await fc.idle();
  });

  it('refuses task ids FC would refuse and async payloads over 128 KB', async () => {
    fc.register('media-limits', async () => undefined);
    const badId = await sdkError(() =>
      invoke(local.root, 'media-limits', '{}', { type: 'Async', taskId: '1-starts-with-digit' }),
    );
    expect(badId).toMatchObject({ statusCode: 400, code: 'InvalidArgument' });
    const big = await sdkError(() =>
      invoke(local.root, 'media-limits', Buffer.alloc(128 * 1024 + 1, 0x61), { type: 'Async' }),
    );
    expect(big).toMatchObject({ statusCode: 400, code: 'EntityTooLarge' });
    expect(fc.invocations('media-limits')).toEqual([]);
  });

  it.each([
    [1, 1],
    [2, 2],
  ])(
    'runs async jobs of one function %i at a time when its concurrency is %i',
    async (concurrency, expected) => {
      const name = `queue-${concurrency}`;
      let active = 0;
      let peak = 0;
      const order: string[] = [];
      fc.register(
        name,
        async (event) => {
          active += 1;
          peak = Math.max(peak, active);
          order.push(event.toString('utf8'));
          await new Promise((resolve) => setTimeout(resolve, 20));
          active -= 1;
        },
        { concurrency },
      );
      for (const n of ['1', '2', '3', '4']) fc.invokeAsync(name, Buffer.from(n));
      await fc.idle();
      expect(peak).toBe(expected);
      expect(order).toEqual(['1', '2', '3', '4']);
    },
  );
});

describe("FC's OSS trigger event", () => {
  const created = {
    eventName: 'ObjectCreated:PutObject' as const,
    bucket: 'testbucket',
    key: 'uploads/alice/a.jpg',
    etag: '688A7BF4F233DC9C88A80BF985AB7329',
    size: 122539,
    eventTime: '2022-08-13T06:45:43Z',
    requestId: '58F9FF2D3DF792092E12044C',
    sourceIp: '127.0.0.1',
  };

  it('has the documented shape', () => {
    const event = ossTriggerEvent(created, {
      region: REGION,
      accountId: '1234567890123456',
      ruleId: 'rule-1',
    });
    expect(event).toEqual({
      events: [
        {
          eventName: 'ObjectCreated:PutObject',
          eventSource: 'acs:oss',
          eventTime: '2022-08-13T06:45:43.000Z',
          eventVersion: '1.0',
          oss: {
            bucket: {
              arn: `acs:oss:${REGION}:1234567890123456:testbucket`,
              name: 'testbucket',
              ownerIdentity: '1234567890123456',
            },
            object: {
              deltaSize: 122539,
              eTag: '688A7BF4F233DC9C88A80BF985AB7329',
              key: 'uploads/alice/a.jpg',
              size: 122539,
            },
            ossSchemaVersion: '1.0',
            ruleId: 'rule-1',
          },
          region: REGION,
          requestParameters: { sourceIPAddress: '127.0.0.1' },
          responseElements: { requestId: '58F9FF2D3DF792092E12044C' },
          userIdentity: { principalId: '1234567890123456' },
        },
      ],
    });
  });

  it.each([
    [{}, true],
    [{ bucket: 'other' }, false],
    [{ key: 'derived/a.jpg' }, false],
    [{ key: 'uploads/alice/a.png' }, false],
    [{ eventName: 'ObjectCreated:PostObject' as const }, true],
    [{ eventName: 'ObjectCreated:CompleteMultipartUpload' as const }, false],
  ])('matches %j: %s', (change, expected) => {
    const trigger = {
      functionName: 'media',
      bucket: 'testbucket',
      prefix: 'uploads/',
      suffix: '.jpg',
      events: ['oss:ObjectCreated:PutObject', 'oss:ObjectCreated:Post*'],
    };
    expect(matchesOssTrigger(trigger, { ...created, ...change })).toBe(expected);
  });
});
