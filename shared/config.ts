/**
 * Every setting upcall reads: its environment variable, schema (with default), and what it is for. Functions load
 * only the settings they use (`loadSettings`), validated at start-up; an invalid or missing value fails with a message
 * that names the variable. The README's configuration table lists the same settings (a test keeps them in step).
 */
import { Kind, type Static, type TSchema, Type } from '@sinclair/typebox';
import { PROCESSED_CONTENT_TYPES } from './media-types.js';

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
/** A KMS secret's name (letters, digits, `_/+=.@-`) or its ARN; empty when unused. */
const SECRET_NAME = '^(acs:kms:[a-z0-9-]+:[0-9]+:secret/)?[A-Za-z0-9_/+=.@-]{0,192}$';
const PREFIX = "^([A-Za-z0-9!_.*'()-]+/)*$";
/** The name of the media function for one kind of job (FC's function name rule; s.yaml's name by default). */
const mediaFunctionName = (kind: 'image' | 'video', description: string) =>
  setting(
    Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$', default: `upcall-media-${kind}` }),
    description,
  );

/** A whole number within `range`, with its default. */
const integer = (range: { minimum: number; maximum?: number; default: number }, description: string) =>
  setting(Type.Integer(range), description);
/** A port to listen on; 0 takes any free port. */
const port = (fallback: number, description: string) =>
  integer({ minimum: 0, maximum: 65535, default: fallback }, description);
/** An http(s) URL, or empty for the default the description names. */
const optionalUrl = (description: string) =>
  setting(Type.String({ pattern: OPTIONAL_HTTP_URL, default: '' }), description);
/** A KMS secret holding a setting, or empty to read the plain variable. */
const secretName = (description: string) =>
  setting(Type.String({ pattern: SECRET_NAME, default: '' }), description);
/** Any text, empty by default. */
const text = (description: string, secret = false) =>
  setting(Type.String({ default: '' }), description, secret);

export const SETTINGS = {
  UPCALL_REGION: setting(
    Type.String({ pattern: REGION, default: 'cn-hangzhou' }),
    'Alibaba Cloud region of the bucket and functions, e.g. `cn-hangzhou`.',
  ),
  UPCALL_BUCKET: setting(Type.String({ pattern: BUCKET }), 'The OSS bucket uploads go to. Required.'),
  UPCALL_OSS_ENDPOINT: optionalUrl(
    'OSS endpoint the functions call (e.g. the `-internal` endpoint on FC). Empty: `https://oss-<region>.aliyuncs.com`.',
  ),
  UPCALL_OSS_PUBLIC_ENDPOINT: optionalUrl(
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
  UPCALL_TICKET_TTL_SECONDS: integer(
    { minimum: 900, maximum: 604800, default: 86400 },
    'How long an upload ticket stays valid (long enough for the slowest multipart upload).',
  ),
  UPCALL_JWT_SECRET: setting(
    Type.String({ pattern: '^(.{32,})?$', default: '' }),
    "Token function: HS256 secret (≥ 32 chars) verifying callers' JWTs. At least one of it and `UPCALL_JWKS_URL` is required.",
    true,
  ),
  UPCALL_JWKS_URL: optionalUrl(
    'Token function: JWKS URL of the identity provider (RS256/ES256 JWTs); https (http only on loopback). Needs `UPCALL_JWT_AUDIENCE`.',
  ),
  UPCALL_JWT_ISSUER: text("Token function: required `iss` of callers' JWTs. Empty: not checked."),
  UPCALL_JWT_AUDIENCE: text(
    "Token function: required `aud` of callers' JWTs. Empty: not checked (allowed only with `UPCALL_JWT_SECRET` alone).",
  ),
  UPCALL_JWT_USER_CLAIM: setting(
    Type.String({ pattern: '^\\S{1,256}$', default: 'sub' }),
    'Token function: the JWT claim holding the user id.',
  ),
  UPCALL_KEY_PREFIX_TEMPLATE: setting(
    Type.String({ pattern: "^(([A-Za-z0-9!_.'()-]|\\{user\\})+/)+$", default: '{user}/' }),
    "Token function: a user's key prefix below `UPCALL_UPLOADS_PREFIX`; `{user}` (exactly once) is the user id made key-safe. Ends with `/`.",
  ),
  UPCALL_UPLOAD_ROLE_ARN: setting(
    Type.String({ pattern: '^acs:ram::[0-9]+:role/[A-Za-z0-9.@_-]{1,64}$' }),
    "Token function: the RAM role assumed for uploaders (`acs:ram::<account>:role/<name>`); the function's own role needs `sts:AssumeRole` on it. Required.",
  ),
  UPCALL_STS_ENDPOINT: setting(
    Type.String({ pattern: '^(https?://)?[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$', default: 'sts.aliyuncs.com' }),
    'Token function: STS endpoint (host, or URL with scheme), e.g. `sts-vpc.cn-hangzhou.aliyuncs.com` inside a VPC.',
  ),
  UPCALL_STS_DURATION_SECONDS: integer(
    { minimum: 900, maximum: 43200, default: 3600 },
    "Token function: lifetime of issued credentials (≤ the role's MaxSessionDuration and ≤ `UPCALL_TICKET_TTL_SECONDS`).",
  ),
  UPCALL_CALLBACK_URL: setting(
    Type.String({ pattern: '^https?://[^\\s?#]+$' }),
    "Token function: the callback function's public URL, which OSS calls after each upload (no query). Required.",
  ),
  UPCALL_MAX_UPLOAD_BYTES: integer(
    { minimum: 1, maximum: 5368709120, default: 104857600 },
    'Token function: largest upload granted, in bytes (PostObject allows up to 5 GiB).',
  ),
  UPCALL_ALLOWED_CONTENT_TYPES: setting(
    Type.String({
      pattern: '^[\\w.+-]+/([\\w.+-]+|\\*)(,[\\w.+-]+/([\\w.+-]+|\\*))*$',
      default: PROCESSED_CONTENT_TYPES.join(','),
    }),
    'Token function: content types uploads may have, exact (`image/png`) or by top-level type (`image/*`). Default: what the media function processes.',
  ),
  UPCALL_CORS_ORIGINS: setting(
    Type.String({ pattern: '^(\\*|https?://[^\\s,/]+(,https?://[^\\s,/]+)*)?$', default: '' }),
    'Token function: browser origins allowed to call it (`https://app.example.com[,…]`, `*` for any). Empty: none.',
  ),
  UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX: setting(
    Type.String({ pattern: '^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/([^?#]*/)?)?$', default: '' }),
    'Local cloud only: callback key URLs under this prefix use `UPCALL_CALLBACK_TRUSTED_KEY_PEM`. Empty in production.',
  ),
  UPCALL_CALLBACK_TRUSTED_KEY_PEM: text(
    'Local cloud only: the PEM public key for `UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX`.',
  ),
  UPCALL_CALLBACK_DEADLINE_MS: integer(
    { minimum: 500, maximum: 4500, default: 3500 },
    'Hard deadline for answering OSS (which waits 5 s, once); past it the callback answers 503 instead of hanging.',
  ),
  UPCALL_MEDIA_IMAGE_FUNCTION_NAME: mediaFunctionName(
    'image',
    "Media function sized for images: image jobs, the OSS trigger's events and webhook deliveries are queued on it (FC async InvokeFunction).",
  ),
  UPCALL_MEDIA_VIDEO_FUNCTION_NAME: mediaFunctionName(
    'video',
    'Media function sized for video (ffmpeg): video jobs are queued on it. The same code as the image function.',
  ),
  UPCALL_FC_ENDPOINT: optionalUrl(
    'FC API endpoint for InvokeFunction. Empty: `https://<FC_ACCOUNT_ID>.<region>-internal.fc.aliyuncs.com` (FC sets `FC_ACCOUNT_ID`).',
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
  UPCALL_MEDIA_TIMEOUT_SECONDS: integer(
    { minimum: 1, maximum: 86400, default: 3600 },
    "Media functions: the function's own FC `timeout` (s.yaml sets each one's from its `timeout`). A job holds its lease this long, so a run killed at its timeout is retried at once.",
  ),
  UPCALL_IMAGE_MAX_BYTES: integer(
    { minimum: 1, maximum: 1073741824, default: 52428800 },
    'Media function: largest image it decodes, in bytes; larger ones fail with `InputTooLarge`.',
  ),
  UPCALL_IMAGE_MAX_PIXELS: integer(
    { minimum: 1, maximum: 1000000000, default: 120000000 },
    'Media function: largest image it decodes, in pixels (every frame of an animation counted; a 108 MP photo passes); guards against decompression bombs.',
  ),
  UPCALL_IMAGE_MAX_FRAMES: integer(
    { minimum: 1, maximum: 100000, default: 1000 },
    'Media function: most frames of an animated GIF/WebP it decodes (decoding cost grows faster than the frame count); more fail with `TooManyFrames`.',
  ),
  UPCALL_IMAGE_TIMEOUT_SECONDS: integer(
    { minimum: 1, maximum: 86400, default: 120 },
    "Media function: longest an image may take to decode and render (in a child process, killed at the limit; never past the function's timeout); slower ones fail with `RenderTimeout`.",
  ),
  UPCALL_IMAGE_KEEP_ANIMATION: setting(
    Type.Boolean({ default: true }),
    'Media function: animated GIF/WebP sources give animated WebP thumbnails (`false`: first frame only). JPEG, PNG and AVIF thumbnails are always stills.',
  ),
  UPCALL_VIDEO_MAX_HEIGHT: integer(
    { minimum: 144, maximum: 4320, default: 720 },
    'Media function: the MP4 transcode is at most this many lines (the shorter side, so portrait videos get the same quality); never enlarged.',
  ),
  UPCALL_VIDEO_MAX_DURATION_SECONDS: integer(
    { minimum: 1, maximum: 86400, default: 1800 },
    'Media function: longest video it transcodes; longer ones fail with `VideoTooLong`.',
  ),
  UPCALL_VIDEO_MAX_BYTES: integer(
    { minimum: 1, maximum: 8589934592, default: 4294967296 },
    'Media function: largest video it downloads to its disk, in bytes (the transcode needs room beside it in the 10 GB `/tmp`); larger ones fail with `InputTooLarge`.',
  ),
  UPCALL_OUTPUT_CACHE_CONTROL: setting(
    Type.String({ minLength: 1, default: 'public, max-age=31536000, immutable' }),
    'Media function: Cache-Control of thumbnails, posters and transcodes (each object version has its own keys, so they never change).',
  ),
  FFMPEG_PATH: text(
    "Media function: ffmpeg binary. Empty: the build's own `bin/ffmpeg` beside the bundle, then `/opt/bin/ffmpeg` (a layer), then `PATH`, then `@ffmpeg-installer/ffmpeg`.",
  ),
  FFPROBE_PATH: text(
    "Media function: ffprobe binary. Empty: the build's own `bin/ffprobe`, then `/opt/bin/ffprobe`, then `PATH`, then `@ffprobe-installer/ffprobe`.",
  ),
  UPCALL_UPLOAD_HOOK_URL: optionalUrl(
    "Callback and media functions: your application's webhook for `upload.completed`, called before an upload is accepted (a 4xx answer refuses it; its JSON reaches the client as `app`). Empty: off.",
  ),
  UPCALL_MEDIA_HOOK_URL: optionalUrl(
    "Media function: your application's webhook for `media.ready` and `media.failed`, retried until it answers 2xx (may be the upload hook's URL). Empty: off.",
  ),
  UPCALL_WEBHOOK_SECRET: setting(
    Type.String({ pattern: '^(whsec_[A-Za-z0-9+/]+={0,2})?$', default: '' }),
    'Callback and media functions: the Standard Webhooks signing secret shared with your application, `whsec_<base64 of 24–64 random bytes>`. Required when a hook URL is set.',
    true,
  ),
  UPCALL_UPLOAD_HOOK_TIMEOUT_MS: integer(
    { minimum: 100, maximum: 4000, default: 2000 },
    "Callback function: longest wait for the upload hook's answer (less when `UPCALL_CALLBACK_DEADLINE_MS` leaves less).",
  ),
  UPCALL_UPLOAD_HOOK_FAILURE_POLICY: setting(
    Type.Union([Type.Literal('fail'), Type.Literal('accept')], { default: 'fail' }),
    'Callback function: when the upload hook times out or fails (5xx, 408, 429, unreachable): `fail` leaves the upload unconfirmed (the client gets 203; the object stays and is processed), `accept` accepts it and delivers `upload.completed` later.',
  ),
  UPCALL_WEBHOOK_TIMEOUT_MS: integer(
    { minimum: 1000, maximum: 60000, default: 10000 },
    'Media function: how long each webhook delivery it makes waits for an answer.',
  ),
  UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS: setting(
    Type.String({ pattern: '^[0-9]{1,4}(,[0-9]{1,4})*$', default: '10,60,300,1800,3600,3600,3600,3600' }),
    "Media function: delays before each retry of an undelivered webhook (each ≤ 3600, FC's longest async delay); after the last retry the event is kept under `<derived prefix>_outbox/dead/`.",
  ),
  UPCALL_TICKET_KEYS_SECRET_NAME: secretName(
    "Deployments: the KMS Secrets Manager secret (name or ARN) holding `UPCALL_TICKET_KEYS`, read with the function's role instead of a plain variable. Empty: the plain variable.",
  ),
  UPCALL_JWT_SECRET_NAME: secretName(
    'Deployments: the KMS secret holding `UPCALL_JWT_SECRET`. Empty: the plain variable.',
  ),
  UPCALL_WEBHOOK_SECRET_NAME: secretName(
    'Deployments: the KMS secret holding `UPCALL_WEBHOOK_SECRET`. Empty: the plain variable.',
  ),
  UPCALL_KMS_ENDPOINT: optionalUrl(
    'KMS endpoint secrets are read from. Empty: `https://kms.<region>.aliyuncs.com` (`https://kms-vpc.<region>.aliyuncs.com` from a VPC).',
  ),
  UPCALL_SECRETS_REFRESH_SECONDS: integer(
    { minimum: 10, maximum: 86400, default: 300 },
    'How often a function re-reads its KMS secrets, so a rotated secret is used without a redeploy (both ticket keys verify during a key rotation).',
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
  UPCALL_LOCAL_DATA_DIR: setting(
    Type.String({ minLength: 1, default: '.local' }),
    'Local cloud only (`npm run local-cloud`, `npm run dev`): where it keeps objects, keys, the account and `stack.json`.',
  ),
  UPCALL_LOCAL_OSS_PORT: port(9100, 'Local cloud only: port of the local OSS (0: any free port).'),
  UPCALL_LOCAL_STS_PORT: port(9101, 'Local cloud only: port of the local STS (0: any free port).'),
  UPCALL_LOCAL_STS_ASSUME_ROLE_PER_SECOND: integer(
    { minimum: 1, default: 100 },
    "Local cloud only: the local STS's AssumeRole quota per second for the account (STS's own is 100); calls beyond it are throttled.",
  ),
  UPCALL_LOCAL_FC_PORT: port(
    9102,
    'Local cloud only: port of the local Function Compute API (0: any free port).',
  ),
  UPCALL_LOCAL_TRIGGER_DELAY_MS: integer(
    { minimum: 0, maximum: 60000, default: 1000 },
    "Local cloud only: how long after an upload the OSS trigger's event reaches FC. OSS delivers event notifications asynchronously, after the upload's callback; 0 delivers at once (the trigger-first race).",
  ),
  UPCALL_DEV_TOKEN_PORT: port(
    9110,
    'Dev stack only (`npm run dev`): port of the token function (0: any free port).',
  ),
  UPCALL_DEV_CALLBACK_PORT: port(9111, 'Dev stack only: port of the callback function (0: any free port).'),
  UPCALL_DEV_DEMO_PORT: port(
    9120,
    'Dev stack only: port of the browser demo page (0: any free port); its origin is allowed by the token function and the local OSS.',
  ),
  UPCALL_LOCAL_RECEIVER_PORT: port(
    9130,
    'Local only: port of the example webhook receiver (`npm run example-receiver`; 0: any free port).',
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
    const { schema, secret } = SETTINGS[name];
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') {
      if (schema.default === undefined) problems.push(`${name} is required`);
      else values[name] = schema.default;
      continue;
    }
    const checked = checkSetting(schema, raw);
    if (checked.ok) {
      values[name] = checked.value;
      continue;
    }
    const shown = secret ? '' : ` (got ${JSON.stringify(raw)})`;
    problems.push(`${name} ${checked.message}${shown}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Settings<K>;
}

/**
 * One setting's value checked against its schema — the few kinds the registry uses, read directly rather than
 * compiled: a function checks each setting once per instance, and compiling every schema with ajv was most of a
 * bundle's load time (BENCHMARKS.md, cold start). A kind not handled here fails loudly in every test that loads it.
 */
function checkSetting(
  schema: TSchema,
  raw: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const fail = (message: string) => ({ ok: false as const, message });
  switch (schema[Kind]) {
    case 'String': {
      if (schema.minLength !== undefined && raw.length < schema.minLength)
        return fail(`must NOT have fewer than ${schema.minLength} characters`);
      if (schema.maxLength !== undefined && raw.length > schema.maxLength)
        return fail(`must NOT have more than ${schema.maxLength} characters`);
      if (schema.pattern !== undefined && !patternOf(schema.pattern).test(raw))
        return fail(`must match pattern "${schema.pattern}"`);
      return { ok: true, value: raw };
    }
    case 'Integer': {
      // As ajv's coercion: any numeric string (Number's reading) that is an integer.
      const value = Number(raw);
      if (!Number.isSafeInteger(value)) return fail('must be integer');
      if (schema.minimum !== undefined && value < schema.minimum) return fail(`must be >= ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) return fail(`must be <= ${schema.maximum}`);
      return { ok: true, value };
    }
    case 'Boolean':
      if (raw === 'true' || raw === 'false') return { ok: true, value: raw === 'true' };
      return fail('must be boolean (true or false)');
    case 'Union': {
      const allowed = (schema.anyOf as TSchema[]).map((option) =>
        option[Kind] === 'Literal' ? String(option.const) : undefined,
      );
      if (allowed.includes(undefined)) break;
      if (allowed.includes(raw)) return { ok: true, value: raw };
      return fail(`must be one of ${allowed.join(', ')}`);
    }
  }
  throw new Error(`settings of kind ${String(schema[Kind])} are not checked by loadSettings`);
}

const patterns = new Map<string, RegExp>();
function patternOf(source: string): RegExp {
  let pattern = patterns.get(source);
  if (!pattern) {
    // As JSON Schema (and ajv) read `pattern`: Unicode-aware, unanchored unless the pattern anchors itself.
    pattern = new RegExp(source, 'u');
    patterns.set(source, pattern);
  }
  return pattern;
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
