/**
 * Secrets kept in KMS Secrets Manager instead of plain environment variables (which `s preview`, `s info` and anyone
 * with `fc:GetFunction` can read). A deployment names the secret (`UPCALL_TICKET_KEYS_SECRET_NAME`, …); the function
 * reads it with its role's credentials (KMS `GetSecretValue`, API 2016-01-20, RPC style, ACS3-signed), keeps it in
 * memory and re-reads it every `UPCALL_SECRETS_REFRESH_SECONDS`, so a rotated secret is picked up without a redeploy.
 * Plain values stay possible (`npm run dev`, tests); a setting given both ways is a configuration error.
 */
import { sendAcs3Request } from './acs3.js';
import { ConfigError, loadSettings, type SettingName } from './config.js';
import type { RoleCredentials } from './http/edge.js';
import { TransportError } from './http/outbound.js';

/** Each setting that may come from KMS, and the setting naming its secret. */
export const SECRET_NAME_SETTINGS = {
  UPCALL_TICKET_KEYS: 'UPCALL_TICKET_KEYS_SECRET_NAME',
  UPCALL_JWT_SECRET: 'UPCALL_JWT_SECRET_NAME',
  UPCALL_WEBHOOK_SECRET: 'UPCALL_WEBHOOK_SECRET_NAME',
} as const satisfies Partial<Record<SettingName, SettingName>>;

type SecretSetting = keyof typeof SECRET_NAME_SETTINGS;

const KMS_API_VERSION = '2016-01-20';
const KMS_TIMEOUT_MS = 3000;
/** After a failed re-read, the next try. */
const STALE_RETRY_MS = 10_000;

/** Why a secret could not be read. `transient`: worth another try (KMS unreachable, throttled, failing). */
export class SecretUnavailable extends Error {
  override name = 'SecretUnavailable';
  constructor(
    readonly transient: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Which secrets a function reads from KMS, and where. */
export interface SecretPlan {
  /** Setting → secret name, for the settings this function reads that a deployment keeps in KMS. */
  names: Array<{ setting: SecretSetting; secretName: string }>;
  endpoint: string;
  refreshMs: number;
}

/**
 * The KMS secrets of a function that reads `functionSettings`, from its environment. Throws `ConfigError` naming a
 * setting given both as a plain value and as a secret name.
 */
export function secretPlan(functionSettings: readonly SettingName[], env: NodeJS.ProcessEnv): SecretPlan {
  const read = (Object.keys(SECRET_NAME_SETTINGS) as SecretSetting[]).filter((setting) =>
    functionSettings.includes(setting),
  );
  const s = loadSettings(
    [
      'UPCALL_REGION',
      'UPCALL_KMS_ENDPOINT',
      'UPCALL_SECRETS_REFRESH_SECONDS',
      ...read.map((setting) => SECRET_NAME_SETTINGS[setting]),
    ],
    env,
  );
  const problems: string[] = [];
  const names: SecretPlan['names'] = [];
  for (const setting of read) {
    const nameSetting = SECRET_NAME_SETTINGS[setting];
    const secretName = s[nameSetting];
    if (secretName === '') continue;
    if (env[setting]?.trim()) problems.push(`${setting} and ${nameSetting} are both set; set one`);
    names.push({ setting, secretName });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    names,
    endpoint:
      s.UPCALL_KMS_ENDPOINT === ''
        ? `https://kms.${s.UPCALL_REGION}.aliyuncs.com`
        : s.UPCALL_KMS_ENDPOINT.replace(/\/+$/, ''),
    refreshMs: s.UPCALL_SECRETS_REFRESH_SECONDS * 1000,
  };
}

/** KMS's error answer: `{RequestId, Code, Message}`. */
function kmsError(body: Buffer): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { Code?: unknown; Message?: unknown };
    return {
      ...(typeof parsed.Code === 'string' ? { code: parsed.Code } : {}),
      ...(typeof parsed.Message === 'string' ? { message: parsed.Message } : {}),
    };
  } catch {
    return {};
  }
}

/** One secret's current value (`ACSCurrent`). Throws `SecretUnavailable`; its message never holds a value. */
export async function getSecretValue(
  endpoint: string,
  credentials: RoleCredentials,
  secretName: string,
): Promise<string> {
  let answer: Awaited<ReturnType<typeof sendAcs3Request>>;
  try {
    answer = await sendAcs3Request({
      endpoint,
      credentials,
      action: 'GetSecretValue',
      version: KMS_API_VERSION,
      pathname: '/',
      query: [['SecretName', secretName]],
      contentType: 'application/json',
      body: Buffer.alloc(0),
      timeoutMs: KMS_TIMEOUT_MS,
    });
  } catch (error) {
    const code = error instanceof TransportError ? error.code : 'NetworkError';
    throw new SecretUnavailable(true, `KMS could not be reached for secret ${secretName} (${code})`, {
      cause: error,
    });
  }
  if (answer.status !== 200) {
    const { code, message } = kmsError(answer.body);
    // A missing secret or a missing permission stays so until someone fixes the deployment; the rest may pass.
    const transient = answer.status >= 500 || answer.status === 429 || /Throttling/.test(code ?? '');
    throw new SecretUnavailable(
      transient,
      `KMS refused secret ${secretName}: ${answer.status} ${code ?? ''}${message ? ` (${message})` : ''}`,
    );
  }
  let data: { SecretData?: unknown; SecretDataType?: unknown };
  try {
    data = JSON.parse(answer.body.toString('utf8')) as typeof data;
  } catch (error) {
    throw new SecretUnavailable(true, `KMS answered secret ${secretName} with no JSON`, { cause: error });
  }
  if (typeof data.SecretData !== 'string' || data.SecretDataType === 'binary') {
    throw new SecretUnavailable(false, `secret ${secretName} is not a text secret`);
  }
  return data.SecretData;
}

/**
 * The plan's secrets as setting values, read at most once per refresh period (concurrent callers share one read).
 * A failed re-read keeps the values read last — a KMS hiccup must not take down a working function — and is tried
 * again by the next call; only a function that never read them fails.
 */
export function createSecretReader(plan: SecretPlan, now: () => number = Date.now) {
  let values: Record<string, string> | undefined;
  let readAt = 0;
  let reading: Promise<Record<string, string>> | undefined;
  const readAll = async (credentials: RoleCredentials) => {
    const read = await Promise.all(
      plan.names.map(
        async ({ setting, secretName }) =>
          [setting, await getSecretValue(plan.endpoint, credentials, secretName)] as const,
      ),
    );
    values = Object.fromEntries(read);
    readAt = now();
    return values;
  };
  return async (credentials: RoleCredentials, onStaleFailure: (error: unknown) => void) => {
    if (values && now() - readAt < plan.refreshMs) return values;
    reading ??= readAll(credentials).finally(() => {
      reading = undefined;
    });
    try {
      return await reading;
    } catch (error) {
      if (!values) throw error;
      onStaleFailure(error);
      // Serve the last values a little longer rather than make every invocation wait on a failing KMS.
      readAt = now() - plan.refreshMs + STALE_RETRY_MS;
      return values;
    }
  };
}
