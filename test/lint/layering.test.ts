/**
 * The layering `npm run lint` enforces (biome.json, noRestrictedImports): shared/ imports no function and nothing
 * outside the product; a function imports no other function; the local cloud (but its dev stack) imports no function
 * code. Checked by linting probe files with the project's own biome.json in a scratch tree.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

/** Each probe: a file and what it imports; `refused` says whether the layering forbids it. */
const PROBES: Array<[string, string, boolean]> = [
  ['shared/probe-a.ts', '../functions/token/app.js', true],
  ['shared/http/probe-b.ts', '../../local/oss/server.js', true],
  ['shared/probe-c.ts', '../test/helpers/media.js', true],
  ['shared/probe-d.ts', './log.js', false],
  ['functions/token/probe-e.ts', '../media/app.js', true],
  ['functions/callback/probe-f.ts', '../token/handler.js', true],
  ['functions/media/probe-g.ts', '../../local/cloud.js', true],
  ['functions/media/probe-h.ts', '../../shared/log.js', false],
  ['local/oss/probe-i.ts', '../../functions/callback/decide.js', true],
  ['local/oss/probe-j.ts', '../../shared/log.js', false],
  ['local/dev/probe-k.ts', '../../functions/token/app.js', false],
];

let scratch: string;
let refusedPaths: string[];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'upcall-layering-'));
  await copyFile(join(ROOT, 'biome.json'), join(scratch, 'biome.json'));
  for (const [file, target] of PROBES) {
    await mkdir(dirname(join(scratch, file)), { recursive: true });
    await writeFile(join(scratch, file), `import { probe } from '${target}';\nexport const used = probe;\n`);
  }
  const { stdout } = await promisify(execFile)(
    BIOME,
    ['lint', '--vcs-enabled=false', '--reporter=json', '.'],
    {
      cwd: scratch,
    },
  ).catch((error: { stdout: string }) => error);
  const report = JSON.parse(stdout) as {
    diagnostics: Array<{ category: string; location: { path: string } }>;
  };
  refusedPaths = report.diagnostics
    .filter((diagnostic) => diagnostic.category === 'lint/style/noRestrictedImports')
    .map((diagnostic) => diagnostic.location.path);
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('npm run lint enforces the layering', () => {
  it.each(PROBES)('%s importing %s: refused %s', (file, _target, refused) => {
    expect(refusedPaths.includes(file)).toBe(refused);
  });
});
