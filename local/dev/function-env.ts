/**
 * The functions' environment in the dev stack: what s.yaml would set on FC, built from the running local cloud.
 * Settings the developer exported (thumbnail sizes, limits…) pass through; what must match the stack (endpoints,
 * bucket, role, callback key, secrets) is always the stack's.
 */
import { SETTINGS } from '../../shared/config.js';
import type { StackInfo } from '../cloud.js';
import type { DevSecrets } from './dev-auth.js';

export interface DevFunctionEnvInput {
  info: StackInfo;
  bucket: string;
  secrets: DevSecrets;
  callbackUrl: string;
  /** Browser origins the token function must allow (the demo page's); added to any `UPCALL_CORS_ORIGINS` given. */
  corsOrigins: string[];
  /** The developer's environment; only registered settings are taken from it. */
  base: NodeJS.ProcessEnv;
}

function mergeOrigins(given: string | undefined, required: string[]): string {
  const listed = (given ?? '').split(',').map((origin) => origin.trim());
  if (listed.includes('*')) return '*';
  return [...new Set([...listed.filter(Boolean), ...required])].join(',');
}

/** One environment for the three functions; each loads only the settings it reads. */
export function devFunctionEnv(input: DevFunctionEnvInput): NodeJS.ProcessEnv {
  const { info, base } = input;
  const passed = Object.fromEntries(Object.entries(base).filter(([name]) => Object.hasOwn(SETTINGS, name)));
  return {
    ...passed,
    UPCALL_REGION: info.region,
    UPCALL_BUCKET: input.bucket,
    UPCALL_TICKET_KEYS: input.secrets.ticketKeys,
    // token
    UPCALL_OSS_PUBLIC_ENDPOINT: info.oss.endpoint,
    UPCALL_JWT_SECRET: input.secrets.jwtSecret,
    UPCALL_UPLOAD_ROLE_ARN: info.roles.uploader,
    UPCALL_STS_ENDPOINT: info.sts.endpoint,
    UPCALL_CALLBACK_URL: input.callbackUrl,
    UPCALL_CORS_ORIGINS: mergeOrigins(base.UPCALL_CORS_ORIGINS, input.corsOrigins),
    // callback and media
    UPCALL_OSS_ENDPOINT: info.oss.endpoint,
    UPCALL_FC_ENDPOINT: info.fc.endpoint,
    UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX: info.oss.trustedKeyUrlPrefix,
    UPCALL_CALLBACK_TRUSTED_KEY_PEM: info.oss.publicKeyPem,
  };
}
