/**
 * The credentials a function calls Alibaba Cloud with. Kept apart from the OSS client so functions that only need
 * credentials (token) do not bundle ali-oss.
 */
import { HttpError, type RoleCredentials } from './http/edge.js';

/** Credentials from FC's context when present, else the standard Alibaba Cloud environment variables. */
export function roleCredentials(
  fromContext: RoleCredentials | undefined,
  env: NodeJS.ProcessEnv,
): RoleCredentials {
  if (fromContext?.accessKeyId) return fromContext;
  const accessKeyId = env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const accessKeySecret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  if (!accessKeyId || !accessKeySecret) {
    throw new Error(
      'no credentials: FC passes the role credentials in context; elsewhere set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET',
    );
  }
  const securityToken = env.ALIBABA_CLOUD_SECURITY_TOKEN;
  return { accessKeyId, accessKeySecret, ...(securityToken ? { securityToken } : {}) };
}

/** `roleCredentials` for an HTTP function: having none is a 500 `CredentialsMissing` (the cause stays in the log). */
export function edgeCredentials(
  fromContext: RoleCredentials | undefined,
  env: NodeJS.ProcessEnv,
): RoleCredentials {
  try {
    return roleCredentials(fromContext, env);
  } catch (error) {
    throw new HttpError(500, 'CredentialsMissing', (error as Error).message, {}, { cause: error });
  }
}
