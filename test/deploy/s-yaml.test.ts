/**
 * s.yaml, checked offline: rendered by the real Serverless Devs CLI (`s preview`), its fc3 properties checked against
 * the component's property names (test/fixtures/fc3-props.json; `s deploy`/`s plan` would validate them but need the
 * fc3 component from Serverless Devs' registry), and tied to the code: every setting a function reads is declared for
 * it, the rendered values pass the function's own config loader, and no function is handed a setting it does not read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SIZES as COST_MODEL_SIZES } from '../../bench/cost.js';
import { CALLBACK_SETTINGS, loadCallbackConfig } from '../../functions/callback/config.js';
import { loadMediaConfig, MEDIA_SETTINGS } from '../../functions/media/config.js';
import { TRIGGER_EVENTS } from '../../functions/media/trigger.js';
import { loadTokenConfig, TOKEN_SETTINGS } from '../../functions/token/config.js';
import { SETTINGS, type SettingName } from '../../shared/config.js';
import { SECRET_NAME_SETTINGS } from '../../shared/kms-secrets.js';
import fc3 from '../fixtures/fc3-props.json' with { type: 'json' };
import {
  DEPLOY_ENV,
  type FcFunctionProps,
  MEDIA_RESOURCES,
  type PreviewResult,
  previewSYaml,
  REPO_ROOT,
  RESOURCE_PACKAGES,
  type RenderedSYaml,
  TEST_ACCOUNT_ID,
} from '../helpers/serverless-devs.js';

const OVERRIDES = {
  ...DEPLOY_ENV,
  UPCALL_REGION: 'eu-central-1',
  UPCALL_UPLOADS_PREFIX: 'incoming/',
  UPCALL_DERIVED_PREFIX: 'processed/',
  DEPLOY_MEDIA_VIDEO_TIMEOUT_SECONDS: '1800',
  UPCALL_OSS_ENDPOINT: 'https://oss-eu-central-1.aliyuncs.com',
  DEPLOY_TOKEN_ROLE_ARN: 'acs:ram::1234567890123456:role/my-token-role',
  DEPLOY_MEDIA_FAILURE_DESTINATION: 'acs:mns:eu-central-1::/queues/my-failures/messages',
};

/** The settings each resource's code reads, as the functions export them. */
const CODE_SETTINGS: Record<string, readonly SettingName[]> = {
  token: TOKEN_SETTINGS,
  callback: CALLBACK_SETTINGS,
  mediaImage: MEDIA_SETTINGS,
  mediaVideo: MEDIA_SETTINGS,
};
const CONFIG_LOADERS: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  token: loadTokenConfig,
  callback: loadCallbackConfig,
  mediaImage: loadMediaConfig,
  mediaVideo: loadMediaConfig,
};
/** Read by shared code in every function (shared/log.ts, shared/kms-secrets.ts) rather than by its config loader. */
const READ_BY_SHARED_CODE: SettingName[] = [
  'UPCALL_LOG_LEVEL',
  'UPCALL_KMS_ENDPOINT',
  'UPCALL_SECRETS_REFRESH_SECONDS',
];

/** Real-looking values of the secret settings, as an operator's shell might still hold them. */
const SECRET_VALUES: Record<keyof typeof SECRET_NAME_SETTINGS, string> = {
  UPCALL_TICKET_KEYS: `k1:${'T9x'.repeat(14)}`,
  UPCALL_JWT_SECRET: 'jwt-Secret-0f9e8d7c6b5a4f3e2d1c0b9a8f7e',
  UPCALL_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
};

/** A function's settings as s.yaml declares them: each secret it reads by the setting naming its KMS secret. */
const declaredFor = (settings: readonly SettingName[]): SettingName[] =>
  settings.map((name) =>
    name in SECRET_NAME_SETTINGS ? SECRET_NAME_SETTINGS[name as keyof typeof SECRET_NAME_SETTINGS] : name,
  );

/** The environment the config loader sees once the start-up path has read the named secrets from KMS. */
function withSecretsRead(env: Record<string, string>): Record<string, string> {
  const read: Record<string, string> = { ...env };
  for (const [setting, nameSetting] of Object.entries(SECRET_NAME_SETTINGS)) {
    if (env[nameSetting]) read[setting] = SECRET_VALUES[setting as keyof typeof SECRET_NAME_SETTINGS];
  }
  return read;
}

const isSetting = (name: string): name is SettingName => Object.hasOwn(SETTINGS, name);

function rendered(result: PreviewResult): RenderedSYaml {
  if (!result.ok) throw new Error(`s preview failed:\n${result.output}`);
  return result.rendered;
}

/** Run a function's config loader on its rendered environment, recording which registered settings it reads. */
function loadRecordingReads(resource: string, env: Record<string, unknown>) {
  const read = new Set<SettingName>();
  // FC sets FC_ACCOUNT_ID in every function; the FC endpoint defaults from it.
  const fcEnv: Record<string, string> = { FC_ACCOUNT_ID: TEST_ACCOUNT_ID };
  for (const [name, value] of Object.entries(env)) fcEnv[name] = String(value);
  Object.assign(fcEnv, withSecretsRead(fcEnv));
  const recording = new Proxy(fcEnv, {
    get(target, name) {
      if (typeof name === 'string' && isSetting(name)) read.add(name);
      return Reflect.get(target, name);
    },
  });
  const loader = CONFIG_LOADERS[resource];
  if (!loader) throw new Error(`no config loader for ${resource}`);
  loader(recording);
  return read;
}

describe('s.yaml', () => {
  let defaults: RenderedSYaml;
  let overridden: RenderedSYaml;
  let withoutBucket: PreviewResult;
  let withSecretsSet: PreviewResult;
  const fn = (doc: RenderedSYaml, resource: string): FcFunctionProps => {
    const props = doc.resources[resource]?.props;
    if (!props) throw new Error(`s.yaml has no resource ${resource}`);
    return props;
  };

  beforeAll(async () => {
    const { UPCALL_BUCKET: _bucket, ...noBucket } = DEPLOY_ENV;
    const results = await Promise.all([
      previewSYaml(DEPLOY_ENV),
      previewSYaml(OVERRIDES),
      previewSYaml(noBucket),
      previewSYaml({ ...DEPLOY_ENV, ...SECRET_VALUES }),
    ]);
    [defaults, overridden] = [rendered(results[0]), rendered(results[1])];
    [, , withoutBucket, withSecretsSet] = results;
  });

  it('renders offline with `s preview` into four fc3 functions of three packages, built before every deploy', () => {
    expect(defaults.edition).toBe('3.0.0');
    expect(Object.keys(defaults.resources).sort()).toEqual(Object.keys(RESOURCE_PACKAGES).sort());
    for (const [name, resource] of Object.entries(defaults.resources)) {
      expect(resource.component).toBe('fc3');
      // The build writes dist/<package>/ (scripts/build.ts); the global pre-deploy action runs it.
      expect(resource.props.code).toBe(`./dist/${RESOURCE_PACKAGES[name]}`);
      expect(resource.props.handler).toBe('index.handler');
    }
    expect(defaults.actions?.['pre-deploy']).toEqual([{ run: 'npm run build', path: './' }]);
  });

  it('refuses to render without a required variable, naming it', () => {
    expect(withoutBucket.ok).toBe(false);
    if (!withoutBucket.ok) expect(withoutBucket.output).toContain("env('UPCALL_BUCKET')");
  });

  it('passes no secret as a value: `s preview` with real-looking secrets in the environment prints none of them', () => {
    const preview = rendered(withSecretsSet);
    if (!withSecretsSet.ok) return;
    for (const [setting, value] of Object.entries(SECRET_VALUES)) {
      expect(withSecretsSet.output, setting).not.toContain(value);
      expect(JSON.stringify(preview), setting).not.toContain(value);
    }
    for (const [resource, { props }] of Object.entries(preview.resources)) {
      const secrets = Object.keys(props.environmentVariables).filter(
        (name) => isSetting(name) && SETTINGS[name].secret,
      );
      expect(secrets, resource).toEqual([]);
      // Every function reads the ticket keys, from the secret the RAM documents grant it.
      expect(props.environmentVariables.UPCALL_TICKET_KEYS_SECRET_NAME, resource).toBe('upcall-ticket-keys');
    }
  });

  it("uses only fc3 property names and values the component's schema accepts", () => {
    for (const doc of [defaults, overridden]) {
      for (const [name, { props }] of Object.entries(doc.resources)) {
        const where = `${name}:`;
        expect(fc3.function.properties, where).toEqual(expect.arrayContaining(Object.keys(props)));
        for (const required of fc3.function.required) expect(props, where).toHaveProperty(required);
        expect(fc3.function.runtimes, where).toContain(props.runtime);
        expect(props.memorySize % fc3.function.memorySize.multipleOf, where).toBe(0);
        expect(props.memorySize, where).toBeGreaterThanOrEqual(fc3.function.memorySize.minimum);
        expect(props.memorySize, where).toBeLessThanOrEqual(fc3.function.memorySize.maximum);
        expect(props.cpu, where).toBeGreaterThanOrEqual(fc3.function.cpu.minimum);
        expect(props.cpu, where).toBeLessThanOrEqual(fc3.function.cpu.maximum);
        expect(Number.isInteger(props.timeout), where).toBe(true);
        expect(props.timeout, where).toBeGreaterThanOrEqual(fc3.function.timeout.minimum);
        expect(props.timeout, where).toBeLessThanOrEqual(fc3.function.timeout.maximum);
        expect(fc3.function.diskSize, where).toContain(props.diskSize);
        expect(props.logConfig, where).toBe(fc3.function.logConfig.const);
        // FC's environment variables are strings; a number here would be refused at deploy time.
        for (const [variable, value] of Object.entries(props.environmentVariables)) {
          expect(typeof value, `${where} ${variable}`).toBe('string');
        }
        for (const trigger of props.triggers ?? []) {
          expect(fc3.trigger.properties, where).toEqual(expect.arrayContaining(Object.keys(trigger)));
          for (const required of fc3.trigger.required) expect(trigger, where).toHaveProperty(required);
          const spec = trigger.triggerType === 'http' ? fc3.trigger.http : fc3.trigger.oss;
          expect(['http', 'oss'], where).toContain(trigger.triggerType);
          expect(spec.properties, where).toEqual(expect.arrayContaining(Object.keys(trigger.triggerConfig)));
          for (const required of spec.required) expect(trigger.triggerConfig, where).toHaveProperty(required);
        }
        if (props.asyncInvokeConfig) {
          const async = props.asyncInvokeConfig as Record<string, unknown> & {
            maxAsyncRetryAttempts: number;
            maxAsyncEventAgeInSeconds: number;
            destinationConfig: Record<string, Record<string, unknown>>;
          };
          const limits = fc3.asyncInvokeConfig;
          expect(limits.properties).toEqual(expect.arrayContaining(Object.keys(async)));
          expect(async.maxAsyncRetryAttempts).toBeGreaterThanOrEqual(limits.maxAsyncRetryAttempts.minimum);
          expect(async.maxAsyncRetryAttempts).toBeLessThanOrEqual(limits.maxAsyncRetryAttempts.maximum);
          expect(async.maxAsyncEventAgeInSeconds).toBeLessThanOrEqual(
            limits.maxAsyncEventAgeInSeconds.maximum,
          );
          expect(limits.destinationConfig).toEqual(
            expect.arrayContaining(Object.keys(async.destinationConfig)),
          );
          for (const destination of Object.values(async.destinationConfig)) {
            expect(Object.keys(destination)).toEqual(limits.destination);
          }
        }
      }
    }
  });

  it('declares every setting each function reads, and its values pass that function’s own config loader', () => {
    for (const doc of [defaults, overridden]) {
      for (const [resource, settings] of Object.entries(CODE_SETTINGS)) {
        const env = fn(doc, resource).environmentVariables;
        const declared = Object.keys(env);
        expect(declared, resource).toEqual(
          expect.arrayContaining([...declaredFor(settings), ...READ_BY_SHARED_CODE]),
        );
        // Also what the loader reads beyond its list (e.g. shared plan settings): all declared, and valid.
        const read = loadRecordingReads(resource, env);
        expect(declared, resource).toEqual(expect.arrayContaining(declaredFor([...read])));
        // Least privilege for configuration too: a function is handed only settings it reads (no stray secrets).
        const used = new Set<string>([...declaredFor([...settings, ...read]), ...READ_BY_SHARED_CODE]);
        expect(
          declared.filter((name) => !used.has(name)),
          `${resource} is given settings it does not read`,
        ).toEqual([]);
      }
    }
  });

  it('names only registered settings in UPCALL_* variables', () => {
    const text = readFileSync(join(REPO_ROOT, 's.yaml'), 'utf8');
    const named = new Set(text.match(/\bUPCALL_[A-Z0-9_]+/g));
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((name) => !isSetting(name))).toEqual([]);
    for (const { props } of Object.values(defaults.resources)) {
      for (const name of Object.keys(props.environmentVariables)) expect(isSetting(name), name).toBe(true);
    }
  });

  it("spells the prefixes with the registry's defaults, and passes overrides everywhere they matter", () => {
    const defaultOf = (name: SettingName) => (SETTINGS[name].schema as { default?: unknown }).default;
    expect(defaults.vars.uploadsPrefix).toBe(defaultOf('UPCALL_UPLOADS_PREFIX'));
    expect(defaults.vars.derivedPrefix).toBe(defaultOf('UPCALL_DERIVED_PREFIX'));
    expect(defaults.vars.region).toBe(defaultOf('UPCALL_REGION'));

    for (const [doc, env] of [
      [defaults, DEPLOY_ENV],
      [overridden, OVERRIDES],
    ] as const) {
      const region = 'UPCALL_REGION' in env ? env.UPCALL_REGION : 'cn-hangzhou';
      const uploads = 'UPCALL_UPLOADS_PREFIX' in env ? env.UPCALL_UPLOADS_PREFIX : 'uploads/';
      for (const name of Object.keys(RESOURCE_PACKAGES)) {
        const props = fn(doc, name);
        expect(props.region).toBe(region);
        expect(props.environmentVariables.UPCALL_REGION).toBe(region);
        expect(props.environmentVariables.UPCALL_BUCKET).toBe(env.UPCALL_BUCKET);
        expect(props.environmentVariables.UPCALL_UPLOADS_PREFIX).toBe(uploads);
      }
      const media = fn(doc, 'mediaImage');
      const trigger = media.triggers?.find((t) => t.triggerType === 'oss');
      expect((trigger!.triggerConfig as { filter: { key: { prefix: string } } }).filter.key.prefix).toBe(
        uploads,
      );
      // Outputs must never land where the trigger looks.
      const derived = String(media.environmentVariables.UPCALL_DERIVED_PREFIX);
      expect(derived.startsWith(uploads) || uploads.startsWith(derived)).toBe(false);
      // Jobs are queued, by kind, on the functions s.yaml deploys: by the callback and by either media function.
      const names = {
        UPCALL_MEDIA_IMAGE_FUNCTION_NAME: fn(doc, 'mediaImage').functionName,
        UPCALL_MEDIA_VIDEO_FUNCTION_NAME: fn(doc, 'mediaVideo').functionName,
      };
      for (const name of ['callback', ...MEDIA_RESOURCES]) {
        expect(fn(doc, name).environmentVariables, name).toMatchObject(names);
      }
      for (const name of MEDIA_RESOURCES) {
        const props = fn(doc, name);
        // No layer: FC's official FFmpeg layer does not support nodejs20; ffmpeg ships in the code package instead.
        expect(props.layers ?? []).toEqual([]);
        // Each media function holds a job's lease for exactly its own FC timeout.
        expect(String(props.timeout), name).toBe(props.environmentVariables.UPCALL_MEDIA_TIMEOUT_SECONDS);
      }
    }
    expect(fn(overridden, 'mediaVideo').timeout).toBe(1800);
    expect(fn(defaults, 'callback').environmentVariables.UPCALL_OSS_ENDPOINT).toBe(
      'https://oss-cn-hangzhou-internal.aliyuncs.com',
    );
    expect(fn(overridden, 'mediaVideo').environmentVariables.UPCALL_OSS_ENDPOINT).toBe(
      OVERRIDES.UPCALL_OSS_ENDPOINT,
    );
    expect(fn(overridden, 'token').role).toBe(OVERRIDES.DEPLOY_TOKEN_ROLE_ARN);
    for (const name of MEDIA_RESOURCES) {
      const destination = (
        fn(overridden, name).asyncInvokeConfig as { destinationConfig: { onFailure: unknown } }
      ).destinationConfig.onFailure;
      expect(destination).toEqual({ destination: OVERRIDES.DEPLOY_MEDIA_FAILURE_DESTINATION });
    }
  });

  it('serves token and callback over anonymous HTTP triggers with the methods their clients use', () => {
    const http = (name: string) => {
      const triggers = fn(defaults, name).triggers ?? [];
      expect(triggers).toHaveLength(1);
      expect(triggers[0]?.triggerType).toBe('http');
      return triggers[0]?.triggerConfig as { authType: string; methods: string[] };
    };
    // Stock Android/iOS providers send a bare GET; browsers POST and preflight with OPTIONS.
    expect(http('token')).toMatchObject({ authType: 'anonymous' });
    expect(http('token').methods.sort()).toEqual(['GET', 'OPTIONS', 'POST']);
    // OSS POSTs its callback.
    expect(http('callback')).toMatchObject({ authType: 'anonymous', methods: ['POST'] });
  });

  it('runs both media functions asynchronously in task mode with retries and a failure destination', () => {
    for (const name of MEDIA_RESOURCES) {
      const media = fn(defaults, name);
      expect(media.asyncInvokeConfig, name).toMatchObject({
        asyncTask: true,
        destinationConfig: {
          onFailure: { destination: 'acs:mns:cn-hangzhou::/queues/upcall-media-failures/messages' },
        },
      });
      expect(
        (media.asyncInvokeConfig as { maxAsyncRetryAttempts: number }).maxAsyncRetryAttempts,
        name,
      ).toBeGreaterThan(0);
    }
  });

  it('attaches the uploads trigger to the image function only', () => {
    expect(fn(defaults, 'mediaVideo').triggers ?? []).toEqual([]);
    const triggers = fn(defaults, 'mediaImage').triggers ?? [];
    expect(triggers).toHaveLength(1);
    expect(triggers[0]).toMatchObject({
      triggerType: 'oss',
      sourceArn: `acs:oss:cn-hangzhou:${TEST_ACCOUNT_ID}:${DEPLOY_ENV.UPCALL_BUCKET}`,
      invocationRole: `acs:ram::${TEST_ACCOUNT_ID}:role/aliyunosseventnotificationrole`,
    });
    // The three upload completions only: `oss:ObjectCreated:*` would fire for every multipart step too.
    const { events } = triggers[0]!.triggerConfig as { events: string[] };
    expect(events.sort()).toEqual([...TRIGGER_EVENTS].sort());
    expect(fc3.trigger.oss.events).toEqual(expect.arrayContaining(events));
  });

  it('sizes each function for its work, with FC timeouts above the deadlines the code keeps', () => {
    const [token, callback, image, video] = ['token', 'callback', ...MEDIA_RESOURCES].map((name) =>
      fn(defaults, name),
    );
    if (!token || !callback || !image || !video) throw new Error('missing function');
    // Video: ffmpeg on 2 vCPU, 4 GB and the 10 GB disk for transcodes; images: 1 vCPU, 2 GB, FC's smallest disk.
    expect(video).toMatchObject({ cpu: 2, memorySize: 4096, diskSize: 10240 });
    expect(image).toMatchObject({ cpu: 1, memorySize: 2048, diskSize: 512 });
    expect(image.memorySize).toBeGreaterThanOrEqual(8 * token.memorySize);
    // The callback answers OSS by its own deadline (≤ 4.5 s by schema); FC must never cut it off first.
    const deadlineMax = (SETTINGS.UPCALL_CALLBACK_DEADLINE_MS.schema as { maximum: number }).maximum;
    expect(callback.timeout * 1000).toBeGreaterThan(deadlineMax);
    // An image renders within UPCALL_IMAGE_TIMEOUT_SECONDS; the function also downloads, uploads, and keeps 20 s back.
    const imageRender = (SETTINGS.UPCALL_IMAGE_TIMEOUT_SECONDS.schema as { default: number }).default;
    expect(image.timeout).toBeGreaterThan(imageRender + 60);
    expect(video.timeout).toBeGreaterThan(image.timeout);
    for (const props of [token, callback, image, video]) {
      expect(props.role).toMatch(new RegExp(`^acs:ram::${TEST_ACCOUNT_ID}:role/upcall-[a-z]+-fn$`));
    }
    // The cost model (npm run bench -- cost) prices each invocation at exactly these sizes.
    for (const [name, size] of Object.entries(COST_MODEL_SIZES)) {
      const { cpu, memorySize, diskSize } = fn(defaults, name);
      expect({ vcpu: cpu, memoryGB: memorySize / 1024, diskGB: diskSize / 1024 }, name).toEqual(size);
    }
  });
});
