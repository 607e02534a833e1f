/**
 * The client library in Node against the dev stack: the form path for small files, parts above the threshold, the
 * callback's answer and the outputs, typed errors, and a resume after the uploading process was killed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPathUpload, fileCheckpoints, UploadError, type UploadProgress } from '../../client/node.js';
import { type E2eStack, startE2eStack } from '../helpers/dev-stack.js';

let e2e: E2eStack;
beforeAll(async () => {
  e2e = await startE2eStack();
});
afterAll(async () => {
  await e2e?.close();
});

/** A PNG of noise: large (it does not compress) and a real image the media worker thumbnails. */
async function noisePng(path: string, side: number): Promise<number> {
  const buffer = await sharp({
    create: {
      width: side,
      height: side,
      channels: 3,
      background: '#000000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
  await writeFile(path, buffer);
  return buffer.length;
}

const auth = (jwt: string) => () => `Bearer ${jwt}`;

describe('the client library in Node', () => {
  it('uploads a small file with the form, returns the callback answer and readable outputs', async () => {
    const path = join(e2e.dataDir, 'small.png');
    const size = await noisePng(path, 200);
    const progress: UploadProgress[] = [];
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
    const result = await upload.done;
    expect(result.multipart).toBe(true);
    expect(result.answer.object).toMatchObject({ size, contentType: 'image/png' });
    expect(result.answer.object.etag).toMatch(/-\d+$/);
    expect(result.sentBytes).toBe(size);
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

    const upload = await createPathUpload(path, {
      tokenUrl: e2e.stack.info.token.url,
      authorization: auth(jwt),
      contentType: 'image/png',
      multipartThresholdBytes: 1024 * 1024,
      partSizeBytes: 256 * 1024,
      checkpoints: fileCheckpoints(checkpointDir),
    });
    const result = await upload.done;
    expect(result.answer.object.size).toBe(size);
    expect(result.resumedBytes).toBeGreaterThan(size / 2);
    expect(result.sentBytes).toBeLessThan(size / 2);
    expect(result.resumedBytes + result.sentBytes).toBe(size);
  });
});
