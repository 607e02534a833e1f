/**
 * `npm run bucket-config`: render deploy/oss/*.xml — the bucket's CORS rule and lifecycle rules — into dist/oss/, the
 * bodies README "Deploy" step 5 hands to `ossutil api put-bucket-cors` / `put-bucket-lifecycle`. Placeholders:
 * `${UPLOADS_PREFIX}`, `${DERIVED_PREFIX}` and `${ALLOWED_ORIGINS}` (one `<AllowedOrigin>` per origin), read from the
 * same variables as `s deploy`, so the rules cover exactly the prefixes the functions use and the bucket allows
 * exactly the browser origins the token function allows (`UPCALL_CORS_ORIGINS`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { escapeXml } from '../client/oss-xml.js';
import { ConfigError, loadSettings } from '../shared/config.js';
import { REPO_ROOT, renderTemplate } from './ram-policies.js';

export const BUCKET_TEMPLATE_DIR = join(REPO_ROOT, 'deploy', 'oss');

export type BucketValues = {
  UPLOADS_PREFIX: string;
  DERIVED_PREFIX: string;
  /** `<AllowedOrigin>…</AllowedOrigin>` elements; empty when no browser may upload. */
  ALLOWED_ORIGINS: string;
};

/** The placeholder values from the deployment's environment. Throws ConfigError naming each bad setting. */
export function bucketValuesFromEnv(env: NodeJS.ProcessEnv): BucketValues {
  const settings = loadSettings(
    ['UPCALL_UPLOADS_PREFIX', 'UPCALL_DERIVED_PREFIX', 'UPCALL_CORS_ORIGINS'],
    env,
  );
  const origins = settings.UPCALL_CORS_ORIGINS.split(',').filter((origin) => origin !== '');
  return {
    UPLOADS_PREFIX: settings.UPCALL_UPLOADS_PREFIX,
    DERIVED_PREFIX: settings.UPCALL_DERIVED_PREFIX,
    ALLOWED_ORIGINS: origins.map((origin) => `<AllowedOrigin>${escapeXml(origin)}</AllowedOrigin>`).join(''),
  };
}

/**
 * Render the templates into `outDir`; returns the written paths. Without origins no browser may call the token
 * function, so there is no CORS rule to put (a rule without an origin is invalid): cors.xml is left out.
 */
export function renderBucketConfig(values: BucketValues, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const files = values.ALLOWED_ORIGINS === '' ? ['lifecycle.xml'] : ['cors.xml', 'lifecycle.xml'];
  return files.map((file) => {
    const target = join(outDir, file);
    writeFileSync(target, renderTemplate(readFileSync(join(BUCKET_TEMPLATE_DIR, file), 'utf8'), values));
    return target;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const values = bucketValuesFromEnv(process.env);
    const written = renderBucketConfig(values, join(REPO_ROOT, 'dist', 'oss'));
    for (const path of written) console.log(relative(process.cwd(), path));
    if (values.ALLOWED_ORIGINS === '') {
      console.error('no cors.xml: UPCALL_CORS_ORIGINS is empty, so no browser page may upload');
    }
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exitCode = 1;
  }
}
