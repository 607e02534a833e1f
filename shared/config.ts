/**
 * Every setting upcall reads: its environment variable, schema (with default), and what it is for. Functions load
 * only the settings they use (`loadSettings`), validated at start-up; an invalid or missing value fails with a message
 * that names the variable. The README's configuration table lists the same settings (a test keeps them in step).
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { compileSchema } from './schema.js';

interface Setting<S extends TSchema = TSchema> {
  schema: S;
  description: string;
  /** Secret values are never echoed in error messages or logs. */
  secret?: boolean;
}

const setting = <S extends TSchema>(schema: S, description: string, secret = false): Setting<S> => ({
  schema,
  description,
  secret,
});

const REGION = '^[a-z]{2,3}-[a-z0-9-]{2,32}$';
const BUCKET = '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$';
const OPTIONAL_HTTP_URL = '^(https?://[^\\s]+)?$';
const PREFIX = "^([A-Za-z0-9!_.*'()-]+/)*$";

export const SETTINGS = {
  UPCALL_REGION: setting(
    Type.String({ pattern: REGION, default: 'cn-hangzhou' }),
    'Alibaba Cloud region of the bucket and functions, e.g. `cn-hangzhou`.',
  ),
  UPCALL_BUCKET: setting(Type.String({ pattern: BUCKET }), 'The OSS bucket uploads go to. Required.'),
  UPCALL_OSS_ENDPOINT: setting(
    Type.String({ pattern: OPTIONAL_HTTP_URL, default: '' }),
    'OSS endpoint the functions call (e.g. the `-internal` endpoint on FC). Empty: `https://oss-<region>.aliyuncs.com`.',
  ),
  UPCALL_OSS_PUBLIC_ENDPOINT: setting(
    Type.String({ pattern: OPTIONAL_HTTP_URL, default: '' }),
    'OSS endpoint handed to uploading clients. Empty: `https://oss-<region>.aliyuncs.com`.',
  ),
  UPCALL_UPLOADS_PREFIX: setting(
    Type.String({ pattern: PREFIX, minLength: 1, default: 'uploads/' }),
    'Prefix every user upload lives under (the OSS trigger watches it). Ends with `/`.',
  ),
  UPCALL_TICKET_KEYS: setting(
    Type.String({ minLength: 35 }),
    'Upload-ticket HMAC keys `kid:secret[,kid:secret…]`, secrets ≥ 32 chars; the first signs, all verify. Required.',
    true,
  ),
  UPCALL_TICKET_TTL_SECONDS: setting(
    Type.Integer({ minimum: 900, maximum: 604800, default: 86400 }),
    'How long an upload ticket stays valid (long enough for the slowest multipart upload).',
  ),
  UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX: setting(
    Type.String({ pattern: '^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/([^?#]*/)?)?$', default: '' }),
    'Local cloud only: callback key URLs under this prefix use `UPCALL_CALLBACK_TRUSTED_KEY_PEM`. Empty in production.',
  ),
  UPCALL_CALLBACK_TRUSTED_KEY_PEM: setting(
    Type.String({ default: '' }),
    'Local cloud only: the PEM public key for `UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX`.',
  ),
  UPCALL_DERIVED_PREFIX: setting(
    Type.String({ pattern: PREFIX, minLength: 1, default: 'derived/' }),
    'Prefix of media outputs and manifests; must not overlap the uploads prefix (outputs must never re-trigger).',
  ),
  UPCALL_THUMBNAIL_SIZES: setting(
    Type.String({ pattern: '^[0-9]+x[0-9]+(,[0-9]+x[0-9]+)*$', default: '320x320,1280x1280' }),
    'Thumbnail bounding boxes `WxH[,WxH…]`: fit inside, aspect kept, never enlarged.',
  ),
  UPCALL_THUMBNAIL_FORMATS: setting(
    Type.String({ pattern: '^(webp|jpeg|avif|png)(,(webp|jpeg|avif|png))*$', default: 'webp' }),
    'Thumbnail formats, one output per size and format: `webp`, `jpeg`, `avif`, `png`.',
  ),
  UPCALL_LOG_LEVEL: setting(
    Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
      {
        default: 'info',
      },
    ),
    'Log level of the JSON logs.',
  ),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Settings<K extends SettingName> = { [P in K]: Static<(typeof SETTINGS)[P]['schema']> };

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

/**
 * Validate the named settings from an environment. Empty strings count as unset. Throws `ConfigError` naming every
 * bad variable (values of secret settings are never echoed).
 */
export function loadSettings<K extends SettingName>(
  names: readonly K[],
  env: NodeJS.ProcessEnv,
): Settings<K> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const name of names) {
    const { secret } = SETTINGS[name];
    const raw = env[name]?.trim();
    const holder: Record<string, unknown> = raw === undefined || raw === '' ? {} : { value: raw };
    const checked = compiledSetting(name).validate(holder);
    if (checked.ok) {
      values[name] = (checked.value as { value: unknown }).value;
      continue;
    }
    const issue = checked.issues[0];
    if (!('value' in holder)) problems.push(`${name} is required`);
    else {
      const shown = secret ? '' : ` (got ${JSON.stringify(raw)})`;
      problems.push(`${name} ${issue?.message ?? 'is invalid'}${shown}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Settings<K>;
}

const compiledSettings = new Map<SettingName, ReturnType<typeof compileHolder>>();
function compileHolder(schema: TSchema) {
  return compileSchema(Type.Object({ value: schema }), 'coerce');
}
function compiledSetting(name: SettingName) {
  let validator = compiledSettings.get(name);
  if (!validator) {
    validator = compileHolder(SETTINGS[name].schema);
    compiledSettings.set(name, validator);
  }
  return validator;
}

/** Turn a setting's result into a typed value or a `ConfigError` naming it (for settings parsed beyond a schema). */
export function parseSetting<T>(name: SettingName, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigError([`${name} ${(error as Error).message}`]);
  }
}

/** `https://oss-<region>.aliyuncs.com` unless an endpoint is set. */
export function ossEndpoint(explicit: string, region: string): string {
  return explicit === '' ? `https://oss-${region}.aliyuncs.com` : explicit.replace(/\/+$/, '');
}

/** The README's configuration table (Markdown), generated from the registry. */
export function configTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, { schema, description }]) => {
    const fallback = (schema as { default?: unknown }).default;
    const shown =
      fallback === undefined ? '*(required)*' : fallback === '' ? '*(empty)*' : `\`${String(fallback)}\``;
    return `| \`${name}\` | ${shown} | ${description} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
