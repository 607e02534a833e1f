/**
 * `npm run build`: one deployable directory per function, `dist/<name>/`, which is what `s deploy` uploads:
 * - `index.js`: the function bundled by esbuild, CommonJS, exporting `handler` (FC's `index.handler`), minified
 *   with names kept, so stack traces in FC's logs still name functions; `import.meta.url` is the bundle's own URL;
 * - media only: `image-child.js`, the process images render in (functions/media/isolated.ts forks it);
 * - `package.json` marking the directory CommonJS (the repo itself is ESM; on FC the code root has no package.json);
 * - `node_modules/`: only the native packages the bundle leaves external. For media that is sharp with its
 *   linux-x64 glibc binaries — the platform FC's `nodejs20` runtime is — whatever machine runs the build.
 * - `bin/ffmpeg`, `bin/ffprobe` (media only): static linux-x64 builds copied out of the npm packages that carry them
 *   in their tarballs (nothing is downloaded at install time), at package-lock.json's versions, mode 0755, with
 *   `bin/NOTICE.md` naming their source and licence (GPL). FC's official FFmpeg layer cannot be used: it does not
 *   list nodejs20 among its runtimes, and FC refuses the function (README "Deploy" → "ffmpeg").
 * Source maps go to `dist/sourcemaps/<name>.js.map`, outside what is uploaded (several MB each, unused at run time),
 * for mapping a logged stack trace by hand. Prints one summary line per function with its size, and the size of
 * its zip, which is what FC's code-package limit counts (500 MB in the main regions, 100 MB in the others).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';

export const FUNCTIONS = ['token', 'callback', 'media'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/**
 * Per function: packages left out of the bundle, which of those are shipped in its node_modules, and the
 * executables copied into its `bin/` (tool name → the lock's package that carries it, at the package's root). The
 * ffmpeg installer packages stay external and unshipped: the media code imports them only as its last fallback
 * (running from source), lazily; the deployed worker finds its own `bin/` first.
 */
const PACKAGING: Record<
  FunctionName,
  { external: string[]; ship: string[]; tools: Record<string, string>; children?: string[] }
> = {
  token: { external: [], ship: [], tools: {} },
  callback: { external: [], ship: [], tools: {} },
  media: {
    // Entry points of child processes, bundled beside index.js.
    children: ['image-child'],
    // libheif-js (HEIC decoding) stays a package: its glue loads the .wasm beside it; only HEIC jobs load it.
    external: ['sharp', 'libheif-js', '@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe'],
    ship: ['sharp', 'libheif-js'],
    // The most used npm packages that carry static linux-x64 builds in their tarballs (ffmpeg-static and the like
    // download at install time). Checked: libx264, the native AAC encoder, HEVC decoding (test/scripts/build).
    tools: { ffmpeg: '@ffmpeg-installer/linux-x64', ffprobe: '@ffprobe-installer/linux-x64' },
  },
};

/**
 * Optional requires of bundled libraries that are not installed, left to fail where they would fail anyway: urllib
 * (under ali-oss) loads `proxy-agent` only when an HTTP proxy is configured, which upcall never does on FC.
 */
const NOT_INSTALLED = ['proxy-agent'];

/** FC's built-in runtimes are linux-x64 on glibc (Debian 10, glibc 2.28): ship only those native binaries. */
const TARGET = { os: 'linux', cpu: 'x64', libc: 'glibc' } as const;
const TARGET_OPTIONALS: Record<string, string[]> = {
  sharp: ['@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64'],
};

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface FunctionReport {
  name: FunctionName;
  /** Bytes of `index.js`. */
  bundleBytes: number;
  /** Bytes of the whole directory (bundle, shipped packages, tools). */
  totalBytes: number;
  /** Bytes of the directory's files deflated as a zip stores them: what FC's code-package limit counts. */
  zippedBytes: number;
  files: number;
  /** Shipped packages: lock path (`node_modules/...`) → version. */
  shipped: Record<string, string>;
  /** How shipped packages were obtained. */
  shippedFrom: 'none' | 'node_modules' | 'npm';
  /** Tools in `bin/`: name → `{ package, version, bytes }`. */
  tools: Record<string, { package: string; version: string; bytes: number }>;
}

interface LockPackage {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface Lockfile {
  packages: Record<string, LockPackage>;
}

/**
 * The lock paths (`node_modules/a`, `node_modules/a/node_modules/b`) of `names` and of everything they need at run
 * time, resolved the way Node resolves (nearest node_modules first), plus each package's target-platform optionals.
 * The versions come from package-lock.json, so a build ships exactly what the lock pins.
 */
export function runtimeClosure(lock: Lockfile, names: string[]): Map<string, string> {
  const closure = new Map<string, string>();
  const resolveFrom = (fromPath: string, name: string): string => {
    let base = fromPath;
    for (;;) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (base === '')
        throw new Error(`package-lock.json has no ${name} reachable from ${fromPath || 'the root'}`);
      const cut = base.lastIndexOf('/node_modules/');
      base = cut === -1 ? '' : base.slice(0, cut);
    }
  };
  const visit = (lockPath: string) => {
    if (closure.has(lockPath)) return;
    const entry = lock.packages[lockPath];
    if (!entry?.version) throw new Error(`package-lock.json has no version for ${lockPath}`);
    closure.set(lockPath, entry.version);
    const name = lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const optionals = (TARGET_OPTIONALS[name] ?? []).filter((dep) => entry.optionalDependencies?.[dep]);
    for (const dep of [...Object.keys(entry.dependencies ?? {}), ...optionals])
      visit(resolveFrom(lockPath, dep));
  };
  for (const name of names) visit(resolveFrom('', name));
  return closure;
}

const installedVersion = (dir: string): string | undefined => {
  const manifest = join(dir, 'package.json');
  return existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version
    : undefined;
};

/**
 * Copy the closure into `outDir/node_modules`, keeping the lock's layout. The repo's node_modules is used when it
 * holds exactly the locked versions, target binaries included (a linux-x64 glibc machine after `npm ci`): offline
 * and byte-for-byte what `npm ci` verified. Otherwise (a Mac, arm64, musl) npm fetches the same pinned versions for
 * the target platform into a staging directory first.
 */
function shipPackages(closure: Map<string, string>, outDir: string): FunctionReport['shippedFrom'] {
  if (closure.size === 0) return 'none';
  const fromRepo = [...closure].every(
    ([path, version]) => installedVersion(join(REPO_ROOT, path)) === version,
  );
  let sourceRoot = REPO_ROOT;
  let staging: string | undefined;
  if (!fromRepo) {
    staging = mkdtempSync(join(tmpdir(), 'upcall-build-'));
    sourceRoot = staging;
    const pins = new Map<string, string>();
    for (const [path, version] of closure) {
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      if (pins.has(name) && pins.get(name) !== version) {
        throw new Error(`cannot pin ${name} twice (${pins.get(name)}, ${version}) in one npm install`);
      }
      pins.set(name, version);
    }
    // Pinning every package of the closure at the top level makes npm's resolution deterministic; the lock's
    // layout is then re-created by the copy below (each package found at the top of the staging tree).
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        staging,
        '--no-save',
        '--no-package-lock',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        `--os=${TARGET.os}`,
        `--cpu=${TARGET.cpu}`,
        `--libc=${TARGET.libc}`,
        ...[...pins].map(([name, version]) => `${name}@${version}`),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  try {
    for (const [path, version] of closure) {
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const source = staging ? join(sourceRoot, 'node_modules', name) : join(sourceRoot, path);
      if (installedVersion(source) !== version) {
        throw new Error(`${source} is not ${name}@${version} as package-lock.json pins it`);
      }
      const nested = join(source, 'node_modules');
      cpSync(source, join(outDir, path), {
        recursive: true,
        filter: (file) => file !== nested && !file.startsWith(nested + sep),
      });
    }
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
  return staging ? 'npm' : 'node_modules';
}

/** Sizes of a directory: raw, and deflated file by file (a zip's entries plus ~100 bytes of headers each). */
function directorySize(dir: string): { bytes: number; zippedBytes: number; files: number } {
  let bytes = 0;
  let zippedBytes = 22;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    bytes += statSync(path).size;
    zippedBytes += deflateRawSync(readFileSync(path)).length + 2 * (46 + relative(dir, path).length);
    files += 1;
  }
  return { bytes, zippedBytes, files };
}

/** Where the shipped tools' licence is stated, next to them (GPL: whoever gets the binaries gets this too). */
function toolsNotice(tools: FunctionReport['tools']): string {
  const rows = Object.entries(tools).map(
    ([tool, { package: name, version }]) => `- \`${tool}\`: npm package \`${name}@${version}\`, unmodified.`,
  );
  return `# Third-party executables in this directory

${rows.join('\n')}

These are static builds of FFmpeg (https://ffmpeg.org) configured with \`--enable-gpl --enable-version3\` (run
\`./ffmpeg -version\` to see the revision and the full configuration), so they are licensed under the GNU General
Public License, version 3 or later. upcall runs them as separate programs and does not link them, so upcall's own
code is not affected. If you distribute this directory (or a package built from it) to others, the GPL applies to
these two files: pass this notice on and offer the corresponding source (FFmpeg at that revision and the libraries
its configuration names). Running them in your own Function Compute account is not distribution.
`;
}

/** Copy each tool out of the package that carries it into `outDir/bin/`, executable (zips keep the mode). */
function shipTools(lock: Lockfile, tools: Record<string, string>, outDir: string): FunctionReport['tools'] {
  const shipped: FunctionReport['tools'] = {};
  if (Object.keys(tools).length === 0) return shipped;
  const closure = runtimeClosure(lock, Object.values(tools));
  const staging = mkdtempSync(join(tmpdir(), 'upcall-tools-'));
  try {
    shipPackages(closure, staging);
    mkdirSync(join(outDir, 'bin'));
    for (const [tool, name] of Object.entries(tools)) {
      const target = join(outDir, 'bin', tool);
      copyFileSync(join(staging, 'node_modules', name, tool), target);
      chmodSync(target, 0o755);
      shipped[tool] = {
        package: name,
        version: closure.get(`node_modules/${name}`) ?? '',
        bytes: statSync(target).size,
      };
    }
    writeFileSync(join(outDir, 'bin', 'NOTICE.md'), toolsNotice(shipped));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return shipped;
}

/** Build every function into `outRoot/<name>/`; returns what was built and how big it is. */
export async function buildFunctions(outRoot = join(REPO_ROOT, 'dist')): Promise<FunctionReport[]> {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const reports: FunctionReport[] = [];
  for (const name of FUNCTIONS) {
    const outDir = join(outRoot, name);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    await build({
      entryPoints: ['index', ...(PACKAGING[name].children ?? [])].map((entry) => ({
        in: join(REPO_ROOT, 'functions', name, `${entry}.ts`),
        out: entry,
      })),
      outdir: outDir,
      // CommonJS has no import.meta: give code that finds files beside itself its own URL.
      banner: { js: 'var __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
      define: { 'import.meta.url': '__importMetaUrl' },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'external',
      minify: true,
      keepNames: true,
      legalComments: 'none',
      external: [...PACKAGING[name].external, ...NOT_INSTALLED],
      logLevel: 'warning',
    });
    mkdirSync(join(outRoot, 'sourcemaps'), { recursive: true });
    for (const entry of ['index', ...(PACKAGING[name].children ?? [])]) {
      const map = entry === 'index' ? `${name}.js.map` : `${name}-${entry}.js.map`;
      renameSync(join(outDir, `${entry}.js.map`), join(outRoot, 'sourcemaps', map));
    }
    writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ private: true, type: 'commonjs' })}\n`);
    const closure = runtimeClosure(lock, PACKAGING[name].ship);
    const shippedFrom = shipPackages(closure, outDir);
    const tools = shipTools(lock, PACKAGING[name].tools, outDir);
    const { bytes, zippedBytes, files } = directorySize(outDir);
    reports.push({
      name,
      bundleBytes: statSync(join(outDir, 'index.js')).size,
      totalBytes: bytes,
      zippedBytes,
      files,
      shipped: Object.fromEntries(closure),
      shippedFrom,
      tools,
    });
  }
  return reports;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

/**
 * One line per function, e.g.
 * `dist/media/  index.js 0.30 MiB  total 169.20 MiB (312 files), zipped 66.10 MiB  + sharp@0.35.5 …  bin: ffmpeg 65.02 MiB …`.
 */
export function summaryLine(report: FunctionReport, outRoot: string): string {
  const shipped = Object.entries(report.shipped)
    .filter(([path]) => !path.includes('/node_modules/', 'node_modules/'.length))
    .map(([path, version]) => `${path.slice('node_modules/'.length)}@${version}`);
  const extra = shipped.length > 0 ? `  + ${shipped.join(', ')} (from ${report.shippedFrom})` : '';
  const tools = Object.entries(report.tools).map(
    ([tool, { package: name, version, bytes }]) => `${tool} ${mib(bytes)} (${name}@${version})`,
  );
  const bin = tools.length > 0 ? `  bin: ${tools.join(', ')}` : '';
  return `${relative(process.cwd(), join(outRoot, report.name)) || '.'}/  index.js ${mib(report.bundleBytes)}  total ${mib(report.totalBytes)} (${report.files} files), zipped ${mib(report.zippedBytes)}${extra}${bin}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outRoot = join(REPO_ROOT, 'dist');
  for (const report of await buildFunctions(outRoot)) console.log(summaryLine(report, outRoot));
}
