/** The dev stack for end-to-end tests: any free ports, a fresh data dir, small outputs, and the CLI run in-process. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runUpload } from '../../cli/upload-command.js';
import { type DevStack, startDevStack } from '../../local/dev/stack.js';
import { createOssClient, type OssClient } from '../../shared/oss-client.js';
import { useForSuite } from './suite.js';

export interface E2eStack {
  stack: DevStack;
  dataDir: string;
  /** ali-oss with the local account's root key: what the tests check OSS with. */
  root: OssClient;
  /** `npm run upload -- …argv` in this process, against this stack's stack.json. */
  upload(argv: string[], env?: NodeJS.ProcessEnv): Promise<CliRun>;
  close(): Promise<void>;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Small thumbnails and transcodes keep the media work light on a 2-core machine. */
export const E2E_FUNCTION_ENV = {
  UPCALL_THUMBNAIL_SIZES: '160x160,64x64',
  UPCALL_THUMBNAIL_FORMATS: 'webp',
  UPCALL_VIDEO_MAX_HEIGHT: '144',
};

function capture(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export async function startE2eStack(
  options: { triggerDelayMs?: number; env?: Record<string, string> } = {},
): Promise<E2eStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'upcall-'));
  const { env, ...rest } = options;
  const stack = await startDevStack({ dataDir, env: { ...E2E_FUNCTION_ENV, ...env }, ...rest });
  const root = createOssClient({
    endpoint: stack.info.oss.endpoint,
    region: stack.info.region,
    bucket: stack.info.bucket,
    credentials: stack.info.rootCredentials,
    timeoutMs: 10_000,
  });
  return {
    stack,
    dataDir,
    root,
    async upload(argv, env = {}) {
      const stdout = capture();
      const stderr = capture();
      const code = await runUpload(argv, {
        stdout: stdout.stream,
        stderr: stderr.stream,
        env: { UPCALL_LOCAL_DATA_DIR: dataDir, ...env },
        cwd: dataDir,
      });
      return { code, stdout: stdout.text(), stderr: stderr.text() };
    },
    async close() {
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The suite's stack, started before its first test and closed after its last. */
export function useE2eStack(options?: Parameters<typeof startE2eStack>[0]): E2eStack {
  return useForSuite(() => startE2eStack(options));
}

/** Poll until `key` exists (root key), or fail after `timeoutMs`. */
export async function waitForObject(root: OssClient, key: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await root.head(key);
      return;
    } catch (error) {
      if ((error as { status?: number }).status !== 404 || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
