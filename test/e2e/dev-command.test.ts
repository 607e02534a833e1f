/**
 * `npm run dev` as a user runs it: a child process that prints the URLs, writes stack.json (the extended schema),
 * serves the demo and a working token endpoint, and stops with exit code 0 on SIGTERM.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DevStackInfoSchema } from '../../local/dev/stack-info.js';
import { SETTINGS } from '../../shared/config.js';
import { compileSchema } from '../../shared/schema.js';
import { TokenResponseSchema } from '../../shared/token-contract.js';
import { npmScriptSandbox } from '../helpers/npm-script.js';

const devStackInfo = compileSchema(DevStackInfoSchema);
const tokenResponse = compileSchema(TokenResponseSchema);

describe('npm run dev', () => {
  const scripts = npmScriptSandbox();

  it('prints the URLs, writes stack.json, serves the demo and the token function, and exits 0 on SIGTERM', async () => {
    const { UPCALL_BUCKET: _bucket, UPCALL_CORS_ORIGINS: _origins, ...env } = process.env;
    const dataDir = join(scripts.dir, 'data');
    // Every port the dev stack listens on, on any free port.
    const ports = Object.keys(SETTINGS).filter((name) => name.endsWith('_PORT'));
    const dev = scripts.start(['dev'], {
      ...env,
      ...Object.fromEntries(ports.map((name) => [name, '0'])),
      UPCALL_LOCAL_DATA_DIR: dataDir,
      UPCALL_LOG_LEVEL: 'silent',
    });
    await dev.ready('Press Ctrl-C');

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
      expect(dev.stdout).toContain(url);
    }
    expect(dev.stdout).toContain('npm run upload --');

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

    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
    expect(dev.stdout).toContain('SIGTERM: stopping the dev stack');
    await expect(fetch(info.token.url)).rejects.toThrow();
    await expect(fetch(info.demo.url)).rejects.toThrow();
  });
});
