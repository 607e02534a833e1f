/**
 * `npm run build`: bundle each function into dist/<name>/index.js (CommonJS, exports `handler`, as FC's
 * `index.handler` expects). Native modules stay external and are packaged beside the bundle by the deploy step.
 */
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

export const FUNCTIONS = ['token', 'callback', 'media'] as const;
const NATIVE_EXTERNALS = ['sharp', '@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe'];

export async function buildFunctions(outRoot = 'dist'): Promise<void> {
  for (const name of FUNCTIONS) {
    rmSync(`${outRoot}/${name}`, { recursive: true, force: true });
    await build({
      entryPoints: [`functions/${name}/index.ts`],
      outfile: `${outRoot}/${name}/index.js`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'linked',
      minify: true,
      keepNames: true,
      legalComments: 'none',
      external: NATIVE_EXTERNALS,
      logLevel: 'warning',
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildFunctions();
}
