/**
 * `npm run build` (second half): the client library as ESM bundles with type declarations, in `dist/client/`:
 * - `upcall.js`: browsers (XMLHttpRequest, IndexedDB), minified; its min+gzip size is printed and capped below,
 *   so the library stays small (the build fails past the cap);
 * - `node.js`: Node (node:http, file checkpoints);
 * - `types/`: declarations emitted by tsc from the same sources.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The browser bundle's min+gzip budget; the figure is in client/README.md. */
export const BROWSER_BUDGET_BYTES = 12 * 1024;

const COMMON = {
  bundle: true,
  format: 'esm',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
} as const;

/** The browser bundle's bytes: what `dist/client/upcall.js` holds, and what the dev stack's demo page loads. */
export async function bundleBrowserClient(): Promise<Uint8Array> {
  const { outputFiles } = await build({
    ...COMMON,
    entryPoints: [join(REPO_ROOT, 'client', 'index.ts')],
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const [bundle] = outputFiles;
  if (!bundle) throw new Error('esbuild wrote no browser bundle');
  return bundle.contents;
}

export async function buildClient(outDir = join(REPO_ROOT, 'dist', 'client')) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'upcall.js'), await bundleBrowserClient());
  await build({
    ...COMMON,
    entryPoints: [join(REPO_ROOT, 'client', 'node.ts')],
    outfile: join(outDir, 'node.js'),
    platform: 'node',
    target: 'node20',
  });
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(REPO_ROOT, 'client', 'tsconfig.json'),
      '--noEmit',
      'false',
      '--declaration',
      '--emitDeclarationOnly',
      '--outDir',
      join(outDir, 'types'),
    ],
    { stdio: 'inherit' },
  );
  const browser = readFileSync(join(outDir, 'upcall.js'));
  return { minBytes: browser.length, gzipBytes: gzipSync(browser, { level: 9 }).length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { minBytes, gzipBytes } = await buildClient();
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `dist/client/  upcall.js ${kib(minBytes)} min, ${kib(gzipBytes)} min+gzip (budget ${kib(BROWSER_BUDGET_BYTES)})`,
  );
  if (gzipBytes > BROWSER_BUDGET_BYTES) {
    console.error(`the browser bundle is over its budget of ${kib(BROWSER_BUDGET_BYTES)} min+gzip`);
    process.exit(1);
  }
}
