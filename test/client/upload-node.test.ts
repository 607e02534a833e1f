/**
 * The client library in Node against the dev stack: the form path for small files, presigned parts above the
 * threshold (neither costing an AssumeRole), credentials where those do not fit, the callback's answer and the
 * outputs, typed errors, and a resume after the uploading process was killed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  createPathUpload,
  fileCheckpoints,
  nodeTransport,
  UploadError,
  type UploadProgress,
} from '../../client/node.js';
import { useE2eStack } from '../helpers/dev-stack.js';
import { noisePng as noiseImage } from '../helpers/media.js';

const e2e = useE2eStack();

/** A noise PNG written to `path`; returns its size. */
async function noisePng(path: string, side: number): Promise<number> {
  const buffer = await noiseImage(side);
  await writeFile(path, buffer);
  return buffer.length;
}

const auth = (jwt: string) => () => `Bearer ${jwt}`;

/** AssumeRole calls the local STS has served so far. */
const assumeRoles = () => e2e.stack.cloud.sts.stats().AssumeRole;

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The token endpoint as a deployment from before the multipart grant answers it (400 InvalidRequest), passing every
 * other request through; records the grant kinds asked for.
 */
async function tokenWithoutMultipart(tokenUrl: string) {
  const asked: string[] = [];
  const server = createServer(async (request, response) => {
    const body = await bodyOf(request);
    const grant = String((JSON.parse(body || '{}') as { grant?: string }).grant ?? 'credentials');
    asked.push(grant);
    if (grant.startsWith('multipart')) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'InvalidRequest', message: 'grant: unknown kind' } }));
      return;
    }
    const upstream = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: request.headers.authorization ?? '', 'content-type': 'application/json' },
      body,
    });
    response.writeHead(upstream.status, { 'content-type': 'application/json' });
    response.end(await upstream.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, asked, close: () => server.close() };
}

describe('the client library in Node', () => {
  it('uploads a small file with the form, returns the callback answer and readable outputs', async () => {
    const path = join(e2e.dataDir, 'small.png');
    const size = await noisePng(path, 200);
    const progress: UploadProgress[] = [];
    const before = assumeRoles();
    const upload = await createPathUpload(path, {
      tokenUrl: e2e.stack.info.token.url,
      authorization: auth(await e2e.stack.userToken('nina')),
      contentType: 'image/png',
      checkpoints: false,
      waitForOutputs: { timeoutMs: 60_000 },
      onProgress: (p) => progress.push(p),
    });
    const result = await upload.done;
    expect(result.multipart).toBe(false);
    expect(result.key).toMatch(/^uploads\/nina\/[0-9a-f-]{36}\/small\.png$/);
    // The form costs none; reading the outputs costs one.
    expect(assumeRoles() - before).toBe(1);
    expect(result.answer).toMatchObject({ status: 'accepted', userId: 'nina', object: { size } });
    expect(progress.at(-1)).toMatchObject({ loaded: size, total: size, fraction: 1 });
    const [job] = result.jobs ?? [];
    expect(job?.manifest.status).toBe('succeeded');
    const thumbnail = await fetch(job?.outputs[0]?.url ?? '');
    expect(thumbnail.status).toBe(200);
    expect((await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).width).toBe(
      job?.outputs[0]?.width,
    );
  });

  it('uploads a large file in parts with the callback on Complete', async () => {
    const path = join(e2e.dataDir, 'large.png');
    const size = await noisePng(path, 900);
    const upload = await createPathUpload(path, {
      tokenUrl: e2e.stack.info.token.url,
      authorization: auth(await e2e.stack.userToken('nina')),
      contentType: 'image/png',
      multipartThresholdBytes: 1024 * 1024,
      partSizeBytes: 256 * 1024,
      checkpoints: fileCheckpoints(await mkdtemp(join(e2e.dataDir, 'cp-'))),
    });
    const before = assumeRoles();
    const result = await upload.done;
    expect(result.multipart).toBe(true);
    expect(result.answer.object).toMatchObject({ size, contentType: 'image/png' });
    expect(result.answer.object.etag).toMatch(new RegExp(`-${Math.ceil(size / (256 * 1024))}$`));
    expect(result.sentBytes).toBe(size);
    // The token endpoint started it (its key) and presigned every request: no STS credentials at all.
    expect(result.key).toMatch(/^uploads\/nina\/[0-9a-f-]{36}\/large\.png$/);
    expect(assumeRoles()).toBe(before);
  });

  it('goes up with credentials where presigned parts do not fit: an exact object name, an older token endpoint', async () => {
    const path = join(e2e.dataDir, 'exact.png');
    const size = await noisePng(path, 800);
    const options = {
      // A user of her own: a user's STS credentials are reused, and this test counts AssumeRole calls.
      authorization: auth(await e2e.stack.userToken('nora')),
      contentType: 'image/png',
      multipartThresholdBytes: 1024 * 1024,
      partSizeBytes: 256 * 1024,
      checkpoints: false as const,
    };
    let before = assumeRoles();
    const named = await createPathUpload(path, {
      ...options,
      tokenUrl: e2e.stack.info.token.url,
      objectName: 'photos/exact.png',
    });
    const result = await named.done;
    expect(result).toMatchObject({ key: 'uploads/nora/photos/exact.png', multipart: true });
    expect(result.answer.object).toMatchObject({ key: 'uploads/nora/photos/exact.png', size });
    expect(assumeRoles() - before).toBeGreaterThanOrEqual(1);

    const older = await tokenWithoutMultipart(e2e.stack.info.token.url);
    try {
      before = assumeRoles();
      const fallback = await (await createPathUpload(path, { ...options, tokenUrl: older.url })).done;
      expect(fallback.answer).toMatchObject({ status: 'accepted', object: { size } });
      expect(fallback.key).toMatch(/^uploads\/nora\/[0-9a-f-]{36}\/exact\.png$/);
      expect(older.asked[0]).toBe('multipart');
      expect(older.asked.slice(1).every((kind) => kind === 'credentials')).toBe(true);
      // Nora's credentials from the upload above are reused: the token function asks STS nothing new.
      expect(assumeRoles() - before).toBe(0);
    } finally {
      older.close();
    }
  });

  it('cancels: the unfinished upload is aborted on OSS, not left for a lifecycle rule', async () => {
    const path = join(e2e.dataDir, 'cancelled.png');
    await noisePng(path, 900);
    let partsDone = 0;
    let uploadId = '';
    const upload = await createPathUpload(path, {
      transport: (request) => {
        uploadId = new URL(request.url).searchParams.get('uploadId') ?? uploadId;
        return nodeTransport(request);
      },
      tokenUrl: e2e.stack.info.token.url,
      authorization: auth(await e2e.stack.userToken('pia')),
      contentType: 'image/png',
      multipartThresholdBytes: 1024 * 1024,
      partSizeBytes: 256 * 1024,
      partConcurrency: 1,
      checkpoints: false,
      onProgress: (p) => {
        partsDone = Math.floor(p.loaded / (256 * 1024));
      },
    });
    while (partsDone < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const listParts = () =>
      e2e.root
        .listParts(upload.key ?? '', uploadId, {
          'max-parts': 1000,
          'part-number-marker': 0,
          'encoding-type': 'url',
        })
        .then(
          (answer) => answer.res.status,
          (error: { status?: number }) => error.status,
        );
    expect(await listParts()).toBe(200);
    await upload.cancel();
    expect(await upload.done.catch((error: UploadError) => error.code)).toBe('Aborted');
    expect(await listParts()).toBe(404);
  });

  it('says why the token endpoint refused, with a stable code', async () => {
    const path = join(e2e.dataDir, 'refused.png');
    await noisePng(path, 50);
    const upload = await createPathUpload(path, {
      tokenUrl: e2e.stack.info.token.url,
      authorization: () => 'Bearer not-a-jwt',
      contentType: 'image/png',
      checkpoints: false,
    });
    const error = await upload.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect(error).toMatchObject({ code: 'TokenRefused', detail: { status: 401 } });
  });

  it('resumes after the uploading process was killed, resending less than half the file', async () => {
    const path = join(e2e.dataDir, 'killed.png');
    const size = await noisePng(path, 1000);
    const checkpointDir = await mkdtemp(join(e2e.dataDir, 'cp-'));
    const jwt = await e2e.stack.userToken('olga');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures', 'upload-child.ts'),
        e2e.stack.info.token.url,
        jwt,
        path,
        checkpointDir,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let killedAt = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          const loaded = Number(/^progress (\d+)$/.exec(line)?.[1] ?? Number.NaN);
          if (loaded >= size * 0.6 && killedAt === 0) {
            killedAt = loaded;
            child.kill('SIGKILL');
          }
        }
      });
      child.once('exit', () => (killedAt > 0 ? resolve() : reject(new Error('the child finished first'))));
    });

    // The token endpoint started the upload: its ticket is kept for the Complete after the restart.
    const [saved] = await readdir(checkpointDir);
    const checkpoint = JSON.parse(await readFile(join(checkpointDir, saved ?? ''), 'utf8')) as {
      ticket?: string;
    };
    expect(checkpoint.ticket).toMatch(/^ey/);

    const upload = await createPathUpload(path, {
      tokenUrl: e2e.stack.info.token.url,
      authorization: auth(jwt),
      contentType: 'image/png',
      multipartThresholdBytes: 1024 * 1024,
      partSizeBytes: 256 * 1024,
      checkpoints: fileCheckpoints(checkpointDir),
    });
    const before = assumeRoles();
    const result = await upload.done;
    expect(assumeRoles()).toBe(before);
    expect(await readdir(checkpointDir)).toEqual([]);
    expect(result.answer.object.size).toBe(size);
    expect(result.resumedBytes).toBeGreaterThan(size / 2);
    expect(result.sentBytes).toBeLessThan(size / 2);
    expect(result.resumedBytes + result.sentBytes).toBe(size);
  });
});
