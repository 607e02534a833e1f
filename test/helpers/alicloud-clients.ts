/** The official OpenAPI SDK clients pointed at local-cloud stand-ins, configured the way upcall's code does it. */
import FcModule from '@alicloud/fc20230330';
import OpenApiModule, { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import StsModule, { AssumeRoleRequest } from '@alicloud/sts20150401';
import { RuntimeOptions } from '@darabonba/typescript';
import { cjsDefault } from '../../shared/cjs-default.js';

export interface ClientCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** What the SDK's ClientError / ThrottlingError carry. */
export interface SdkError {
  name: string;
  code: string;
  statusCode: number;
  data: Record<string, unknown>;
}

/** An SDK client's configuration for a local endpoint: host and protocol from its URL. */
function localConfig(
  endpoint: string,
  credentials: ClientCredentials,
  extra: { signatureAlgorithm?: 'v2'; connectTimeout?: number; readTimeout?: number },
) {
  const url = new URL(endpoint);
  return new $OpenApiUtil.Config({
    ...credentials,
    endpoint: url.host,
    protocol: url.protocol.replace(':', ''),
    ...extra,
  });
}

const StsClient = cjsDefault(StsModule);

export function localStsClient(
  endpoint: string,
  credentials: ClientCredentials,
  options: { signatureAlgorithm?: 'v2' } = {},
) {
  return new StsClient(localConfig(endpoint, credentials, options));
}

const FcClient = cjsDefault(FcModule);

/** The official generated FC client (`@alicloud/fc20230330`), configured as the SDK documents for an endpoint. */
export function localFcClient(endpoint: string, credentials: ClientCredentials) {
  return new FcClient(localConfig(endpoint, credentials, { connectTimeout: 3000, readTimeout: 5000 }));
}

export async function assumeRoleWith(
  client: ReturnType<typeof localStsClient>,
  request: { roleArn?: string; roleSessionName?: string; durationSeconds?: number; policy?: string },
) {
  return client.assumeRoleWithOptions(
    new AssumeRoleRequest(request),
    new RuntimeOptions({ autoretry: false }),
  );
}

/** Run `call`, expecting the SDK to throw; returns the error for assertions. */
export async function sdkError(call: () => Promise<unknown>): Promise<SdkError> {
  try {
    await call();
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to fail');
}

const OpenApiClient = cjsDefault(OpenApiModule);

/**
 * KMS `GetSecretValue` with the official SDK core's generic client (RPC style, as the generated KMS client sends it;
 * `signatureAlgorithm: 'v2'` for HMAC-SHA1): a signer other than upcall's own, for checking the local KMS.
 */
export async function kmsGetSecretValue(
  endpoint: string,
  credentials: ClientCredentials,
  secretName: string,
  options: { signatureAlgorithm?: 'v2' } = {},
): Promise<Record<string, unknown>> {
  const url = new URL(endpoint);
  const client = new OpenApiClient(localConfig(endpoint, credentials, options));
  const params = new $OpenApiUtil.Params({
    action: 'GetSecretValue',
    version: '2016-01-20',
    protocol: url.protocol.replace(':', '').toUpperCase(),
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const request = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query({ SecretName: secretName }) });
  const answer = await client.callApi(params, request, new RuntimeOptions({ autoretry: false }));
  return answer.body as Record<string, unknown>;
}
