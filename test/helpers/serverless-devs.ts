/**
 * Runs the real Serverless Devs CLI (`@serverless-devs/s`) offline: `s preview` renders s.yaml (vars, env, the
 * access's AccountID) without the fc3 component, which only `s deploy`/`s plan` download. Each call gets a fresh
 * config home with a made-up access, and only the environment it is given (the developer's own UPCALL_* never leak
 * in). NODE_ENV=test keeps the CLI from spawning its update/report daemons, which would reach for the network.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const S_CLI = join(REPO_ROOT, 'node_modules', '@serverless-devs', 's', 'bin', 's');

/**
 * s.yaml's resources and the code package each deploys (`dist/<package>/`), whose name its execution role carries
 * too (`upcall-<package>-fn`): media's package twice, sized apart for images and for video.
 */
export const RESOURCE_PACKAGES: Record<string, string> = {
  token: 'token',
  callback: 'callback',
  mediaImage: 'media',
  mediaVideo: 'media',
};
export const MEDIA_RESOURCES = ['mediaImage', 'mediaVideo'] as const;

/** The account id of the made-up access, which `${config('AccountID')}` renders to. */
export const TEST_ACCOUNT_ID = '1234567890123456';

/** The minimum a deployer sets (README "Deploy"); everything else has a default. */
export const DEPLOY_ENV = {
  UPCALL_BUCKET: 'upcall-test-bucket',
  // The token function's callers sign with HS256; the secret itself is kept in KMS.
  UPCALL_JWT_SECRET_NAME: 'upcall-jwt-secret',
  UPCALL_CALLBACK_URL: 'https://upcall-callback-abcdef.cn-hangzhou.fcapp.run/',
};

export interface FcFunctionProps {
  region: string;
  functionName: string;
  runtime: string;
  code: string;
  handler: string;
  memorySize: number;
  cpu: number;
  diskSize: number;
  timeout: number;
  role: string;
  layers?: string[];
  environmentVariables: Record<string, unknown>;
  asyncInvokeConfig?: Record<string, unknown>;
  triggers?: Array<Record<string, unknown> & { triggerType: string; triggerConfig: Record<string, unknown> }>;
  [prop: string]: unknown;
}

export interface RenderedSYaml {
  edition: string;
  name: string;
  vars: Record<string, unknown>;
  actions?: Record<string, Array<{ run?: string; path?: string }>>;
  resources: Record<string, { component: string; props: FcFunctionProps }>;
}

/** The rendered document, and everything the CLI printed (`output`: what an operator sees). */
export type PreviewResult =
  | { ok: true; rendered: RenderedSYaml; output: string }
  | { ok: false; output: string };

/** `s preview -t s.yaml -o json` from the repo root with exactly `env` (plus PATH). */
export async function previewSYaml(env: Record<string, string>): Promise<PreviewResult> {
  const home = await mkdtemp(join(tmpdir(), 'upcall-'));
  const childEnv = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    serverless_devs_config_home: home,
    NODE_ENV: 'test',
    ...env,
  };
  const s = (args: string[]) =>
    run(process.execPath, [S_CLI, ...args], { cwd: REPO_ROOT, env: childEnv, timeout: 60_000 });
  try {
    await s([
      'config',
      'add',
      '-a',
      'default',
      '--AccessKeyID',
      'LTAItest',
      '--AccessKeySecret',
      'test-secret',
      '--AccountID',
      TEST_ACCOUNT_ID,
      '-f',
    ]);
    try {
      const { stdout, stderr } = await s(['preview', '-t', 's.yaml', '-o', 'json']);
      // The CLI prints a warning line (e.g. about running as root) before the JSON document.
      const start = stdout.indexOf('\n{');
      const json = stdout.startsWith('{') ? stdout : start === -1 ? '' : stdout.slice(start + 1);
      return { ok: true, rendered: JSON.parse(json) as RenderedSYaml, output: `${stdout}${stderr}` };
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` || failure.message };
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
