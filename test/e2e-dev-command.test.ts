/**
 * `npm run dev` as a user runs it: a child process that prints the URLs, writes stack.json (the extended schema),
 * serves the demo and a working token endpoint, and stops with exit code 0 on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DevStackInfoSchema } from '../local/dev/stack-info.js';
import { compileSchema } from '../shared/schema.js';
import { TokenResponseSchema } from '../shared/token-contract.js';

const devStackInfo = compileSchema(DevStackInfoSchema);
const tokenResponse = compileSchema(TokenResponseSchema);

describe('npm run dev', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'upcall-'));
  });
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the URLs, writes stack.json, serves the demo and the token function, and exits 0 on SIGTERM', async () => {
    const { UPCALL_BUCKET: _bucket, UPCALL_CORS_ORIGINS: _origins, ...env } = process.env;
    const dataDir = join(dir, 'data');
    const ports = [
      'UPCALL_LOCAL_OSS_PORT',
      'UPCALL_LOCAL_STS_PORT',
      'UPCALL_LOCAL_FC_PORT',
      'UPCALL_DEV_TOKEN_PORT',
      'UPCALL_DEV_CALLBACK_PORT',
      'UPCALL_DEV_DEMO_PORT',
      'UPCALL_LOCAL_RECEIVER_PORT',
    ];
    const started = spawn('npm', ['run', '--silent', 'dev'], {
      cwd: join(import.meta.dirname, '..'),
      env: {
        ...env,
        ...Object.fromEntries(ports.map((name) => [name, '0'])),
        UPCALL_LOCAL_DATA_DIR: dataDir,
        UPCALL_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let stdout = '';
    let stderr = '';
    started.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not ready in 20 s; stdout: ${stdout} stderr: ${stderr}`)),
        20_000,
      );
      started.stdout?.on('data', () => {
        if (stdout.includes('Press Ctrl-C')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited early with ${code}; stderr: ${stderr}`));
      });
    });

    const stackFile = join(dataDir, 'stack.json');
    expect(statSync(stackFile).mode & 0o777).toBe(0o600);
    const checked = devStackInfo.validate(JSON.parse(readFileSync(stackFile, 'utf8')));
    expect(checked.ok ? [] : checked.issues).toEqual([]);
    if (!checked.ok) return;
    const info = checked.value;
    expect(info.bucket).toBe('upcall-local');
    for (const url of [
      info.demo.url,
      info.token.url,
      info.callback.url,
      info.oss.endpoint,
      info.fc.endpoint,
    ]) {
      expect(stdout).toContain(url);
    }
    expect(stdout).toContain('npm run upload --');

    const page = await fetch(info.demo.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script type="module" src="app.js">');
    expect(
      ((await (await fetch(`${info.demo.url}config.json`)).json()) as { tokenUrl: string }).tokenUrl,
    ).toBe(info.token.url);

    // The dev token in stack.json is a working caller token.
    const grant = await fetch(info.token.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.devAuth.jwt}` },
    });
    expect(grant.status).toBe(200);
    const answer = tokenResponse.validate(await grant.json());
    expect(answer.ok && answer.value.keyPrefix).toBe(`uploads/${info.devAuth.user}/`);

    started.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('SIGTERM: stopping the dev stack');
    await expect(fetch(info.token.url)).rejects.toThrow();
    await expect(fetch(info.demo.url)).rejects.toThrow();
  });
});
