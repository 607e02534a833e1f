/**
 * `npm run ram-policies`: render deploy/ram/*.json for one deployment into dist/ram/, ready for `aliyun ram` or the
 * console (README "Deploy"). Placeholders: `${ACCOUNT_ID}` (DEPLOY_ACCOUNT_ID, the account `s config add` names),
 * `${REGION}`, `${BUCKET}`, `${UPLOADS_PREFIX}`, `${DERIVED_PREFIX}` — read from the same variables as `s deploy`,
 * validated by the settings registry, with its defaults, so the policies cover exactly the prefixes the functions use.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadSettings } from '../shared/config.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RAM_TEMPLATE_DIR = join(REPO_ROOT, 'deploy', 'ram');

export type RamValues = {
  ACCOUNT_ID: string;
  REGION: string;
  BUCKET: string;
  UPLOADS_PREFIX: string;
  DERIVED_PREFIX: string;
};

/** The placeholder values for one deployment, from the deployment's environment. Throws ConfigError naming each bad one. */
export function ramValuesFromEnv(env: NodeJS.ProcessEnv): RamValues {
  const accountId = env.DEPLOY_ACCOUNT_ID?.trim() ?? '';
  const problems = /^[0-9]{1,32}$/.test(accountId)
    ? []
    : ['DEPLOY_ACCOUNT_ID must be the Alibaba Cloud account id (digits), as `s config add` was given'];
  let settings: ReturnType<typeof loadDeploySettings> | undefined;
  try {
    settings = loadDeploySettings(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || !settings) throw new ConfigError(problems);
  return {
    ACCOUNT_ID: accountId,
    REGION: settings.UPCALL_REGION,
    BUCKET: settings.UPCALL_BUCKET,
    UPLOADS_PREFIX: settings.UPCALL_UPLOADS_PREFIX,
    DERIVED_PREFIX: settings.UPCALL_DERIVED_PREFIX,
  };
}

function loadDeploySettings(env: NodeJS.ProcessEnv) {
  return loadSettings(
    ['UPCALL_REGION', 'UPCALL_BUCKET', 'UPCALL_UPLOADS_PREFIX', 'UPCALL_DERIVED_PREFIX'],
    env,
  );
}

/**
 * Fill a template's `${NAME}` placeholders (deploy/ram/*.json, deploy/oss/*.xml); an unknown placeholder is an error,
 * never left in a document.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    if (!Object.hasOwn(values, name)) throw new Error(`unknown placeholder \${${name}}`);
    return values[name] as string;
  });
}

/** Every template file name in deploy/ram/. */
export function ramTemplateFiles(): string[] {
  return readdirSync(RAM_TEMPLATE_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort();
}

/** Render every template into `outDir`; returns the written paths. */
export function renderRamPolicies(values: RamValues, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return ramTemplateFiles().map((file) => {
    const rendered = renderTemplate(readFileSync(join(RAM_TEMPLATE_DIR, file), 'utf8'), values);
    JSON.parse(rendered); // a value that broke the JSON (it cannot, given the settings' patterns) fails here
    const target = join(outDir, file);
    writeFileSync(target, rendered);
    return target;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const written = renderRamPolicies(ramValuesFromEnv(process.env), join(REPO_ROOT, 'dist', 'ram'));
    for (const path of written) console.log(relative(process.cwd(), path));
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exitCode = 1;
  }
}
