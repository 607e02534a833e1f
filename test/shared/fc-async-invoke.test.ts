import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalFc, startLocalFc } from '../../local/fc/server.js';
import { type Acs3Request, acs3Authorization, acs3CanonicalRequest } from '../../shared/acs3.js';
import {
  DispatchError,
  dispatchMediaJob,
  invokeAsync,
  isDuplicateTask,
} from '../../shared/fc-async-invoke.js';
import type { MediaJob } from '../../shared/media-job.js';
import { signingVector } from '../helpers/signing-vectors.js';
import { createTestAccount, type TestAccount } from '../helpers/test-account.js';

const REGION = 'cn-hangzhou';

interface Acs3Vector {
  id: string;
  inputs: {
    access_key_id: string;
    access_key_secret: string;
    http_method: string;
    canonical_uri: string;
    query: Array<[string, string]>;
    headers: Array<[string, string]>;
    body: string;
  };
  expected: { canonical_request: string; authorization: string };
}

describe('ACS3-HMAC-SHA256 signing', () => {
  const { inputs, expected } = signingVector<Acs3Vector>('acs3-doc-ecs-runinstances');
  const request: Acs3Request = {
    method: inputs.http_method,
    pathname: inputs.canonical_uri,
    query: inputs.query,
    headers: Object.fromEntries(inputs.headers),
    body: Buffer.from(inputs.body),
  };
  const credentials = { accessKeyId: inputs.access_key_id, accessKeySecret: inputs.access_key_secret };

  it('builds the published canonical request and Authorization header', () => {
    expect(acs3CanonicalRequest(request).canonical).toBe(expected.canonical_request);
    expect(acs3Authorization(request, credentials)).toBe(expected.authorization);
  });

  it('signs every header it is given, so none can be altered on the way', () => {
    const tampered = { ...request, headers: { ...request.headers, 'x-acs-action': 'DeleteInstance' } };
    expect(acs3Authorization(tampered, credentials)).not.toBe(expected.authorization);
    const reordered = { ...request, query: [...request.query].reverse() };
    expect(acs3Authorization(reordered, credentials)).toBe(expected.authorization);
  });
});

describe('a repeated task id means "already queued", by meaning', () => {
  it.each([
    [409, 'StatefulAsyncInvocationAlreadyExists', true],
    [409, undefined, true],
    [400, 'StatefulAsyncInvocationAlreadyExists', true],
    [400, 'InvalidArgument', false],
    [400, undefined, false],
    [403, 'SignatureNotMatch', false],
    [500, 'InternalServerError', false],
  ] as const)('%i %s → %s', (status, code, duplicate) => {
    expect(isDuplicateTask(status, code)).toBe(duplicate);
  });
});

const job = (taskId: string): MediaJob => ({
  version: 1,
  kind: 'image',
  bucket: 'bucket',
  key: 'uploads/alice/a.jpg',
  etag: '5B8A4E5C1F0A3D2E9C7B6A5F4E3D2C1B',
  size: 1234,
  contentType: 'image/jpeg',
  source: 'callback',
  taskId,
  requestedAt: 1_700_000_000_000,
});

describe.each([409, 400] as const)('against the local FC answering a repeated task id with %i', (status) => {
  let local: TestAccount;
  let fc: LocalFc;
  const events: Record<string, string[]> = { images: [], videos: [] };

  beforeAll(async () => {
    local = createTestAccount();
    local.putRole(
      'callback-fn',
      'fc:InvokeFunction',
      `acs:fc:${REGION}:${local.account.accountId}:functions/images`,
    );
    fc = await startLocalFc({
      account: local.account,
      region: REGION,
      dataDir: join(local.dir, 'fc'),
      duplicateTaskStatus: status,
    });
    for (const name of ['images', 'videos'] as const) {
      fc.register(name, async (event) => {
        events[name]?.push(event.toString('utf8'));
      });
    }
  });

  afterAll(async () => {
    await fc.close();
    local.close();
  });

  it('queues a job once: the repeat is "already-queued", and the function runs once', async () => {
    const options = { endpoint: fc.endpoint, credentials: local.root };
    const first = await dispatchMediaJob({ fc: options, functionName: 'images', job: job('img_1') });
    const again = await dispatchMediaJob({ fc: options, functionName: 'images', job: job('img_1') });
    expect([first, again]).toEqual(['queued', 'already-queued']);
    await fc.idle();
    expect(events.images?.map((e) => JSON.parse(e).taskId)).toEqual(['img_1']);
  });

  it('routes by the function name of each call, with task ids per function', async () => {
    const options = { endpoint: fc.endpoint, credentials: local.root };
    expect(await dispatchMediaJob({ fc: options, functionName: 'videos', job: job('img_1') })).toBe('queued');
    await fc.idle();
    expect(fc.invocations('videos').map((r) => r.taskId)).toEqual(['img_1']);
  });

  it('signs with a role session (security token) and is authorised by the role’s policy', async () => {
    const session = local.account.issueTemporary({
      roleArn: local.arn('callback-fn'),
      roleSessionName: 'callback',
      durationSeconds: 900,
    });
    const credentials = {
      accessKeyId: session.accessKeyId,
      accessKeySecret: session.accessKeySecret,
      securityToken: session.securityToken,
    };
    const options = { endpoint: fc.endpoint, credentials };
    expect(
      await invokeAsync({
        fc: options,
        functionName: 'images',
        taskId: 'role_1',
        event: { n: 1 },
        delaySeconds: 1,
      }),
    ).toBe('queued');
    const denied = await invokeAsync({
      fc: options,
      functionName: 'videos',
      taskId: 'role_2',
      event: {},
    }).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(DispatchError);
    expect(denied).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('reports every other refusal as a failure with FC’s code: a wrong secret, a bad task id', async () => {
    const wrongSecret = { ...local.root, accessKeySecret: `${local.root.accessKeySecret}x` };
    const forged = await invokeAsync({
      fc: { endpoint: fc.endpoint, credentials: wrongSecret },
      functionName: 'images',
      taskId: 'forged_1',
      event: {},
    }).catch((error: unknown) => error);
    expect(forged).toMatchObject({ status: 403, code: 'SignatureNotMatch' });
    const badId = await invokeAsync({
      fc: { endpoint: fc.endpoint, credentials: local.root },
      functionName: 'images',
      taskId: '1-starts-with-a-digit',
      event: {},
    }).catch((error: unknown) => error);
    expect(badId).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(fc.invocations('images').map((r) => r.taskId)).not.toContain('forged_1');
  });
});

describe('transport', () => {
  let server: Server;
  let endpoint: string;
  let requests = 0;
  const credentials = { accessKeyId: 'id', accessKeySecret: 'secret' };

  beforeAll(async () => {
    const perSocket = new WeakMap<object, number>();
    server = createServer((req, res) => {
      requests += 1;
      const onSocket = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, onSocket);
      req.resume();
      req.on('end', () => {
        // A connection that went stale while pooled: the second request on it is cut off unanswered.
        if (req.headers['x-fc-async-task-id'] === 'on-stale' && onSocket > 1) return req.socket.destroy();
        if (req.headers['x-fc-async-task-id'] === 'slow') return; // never answers
        if (req.headers['x-fc-async-task-id'] === 'old-shape') {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ ErrorCode: 'StatefulAsyncInvocationAlreadyExists', ErrorMessage: 'exists' }),
          );
          return;
        }
        res.writeHead(202, { 'content-length': '0' });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads FC 2.0’s {ErrorCode} shape of a repeated task id as already queued', async () => {
    const outcome = await invokeAsync({
      fc: { endpoint, credentials },
      functionName: 'f',
      taskId: 'old-shape',
      event: {},
    });
    expect(outcome).toBe('already-queued');
  });

  it('gives up at the timeout with RequestTimeout', async () => {
    const started = Date.now();
    const error = await invokeAsync({
      fc: { endpoint, credentials, timeoutMs: 100 },
      functionName: 'f',
      taskId: 'slow',
      event: {},
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DispatchError);
    expect(error).toMatchObject({ code: 'RequestTimeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('retries once on a fresh connection when a pooled one turns out to be closed', async () => {
    const fcOptions = { endpoint, credentials };
    await invokeAsync({ fc: fcOptions, functionName: 'f', taskId: 'warm', event: {} });
    const before = requests;
    expect(await invokeAsync({ fc: fcOptions, functionName: 'f', taskId: 'on-stale', event: {} })).toBe(
      'queued',
    );
    expect(requests).toBe(before + 2);
  });
});
