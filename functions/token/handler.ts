/**
 * The token function's core: authenticate the caller, then grant an upload into the caller's own key prefix with the
 * callback attached. `credentials` assumes the uploader role with a session policy limited to that prefix (the stock
 * mobile providers' format on GET, the JSON API on POST); the other grants (PostObject form, presigned PUT,
 * presigned multipart) are signed with the function's own role credentials and cost no AssumeRole call.
 */
import {
  buildCallbackParam,
  buildCallbackVars,
  encodeCallbackHeader,
  TICKET_METADATA_HEADER,
  TICKET_VARIABLE,
} from '../../shared/callback-contract.js';
import {
  type EdgeContext,
  type EdgeHandler,
  type EdgeRequest,
  type EdgeResponse,
  errorResponse,
  HttpError,
  jsonResponse,
  type RoleCredentials,
} from '../../shared/http/edge.js';
import { roleCredentials } from '../../shared/role-credentials.js';
import { compileSchema, formatIssues } from '../../shared/schema.js';
import {
  type FormGrant,
  type TokenApiResponse,
  type TokenRequest,
  TokenRequestSchema,
  type TokenResponse,
} from '../../shared/token-contract.js';
import { contentTypeAllowed, issueUploadTicket } from '../../shared/upload-ticket.js';
import { callerToken, createAuthenticator } from './auth.js';
import type { TokenConfig } from './config.js';
import { buildPostForm, suggestedKey } from './post-policy.js';
import { MAX_KEY_PREFIX_BYTES, roleSessionName, userKeySegment } from './prefix.js';
import {
  corsHeaders,
  mobileCredentials,
  mobileErrorResponse,
  NO_STORE,
  PREFLIGHT_HEADERS,
} from './responses.js';
import { type AssumeRole, StsError, uploadSessionPolicy } from './sts.js';

export interface TokenDeps {
  assumeRole: AssumeRole;
  /** Where the function's own credentials come from when the context has none (`ALIBABA_CLOUD_ACCESS_KEY_ID`, …). */
  env: NodeJS.ProcessEnv;
  /** Clock (epoch ms), for the ticket and the form's date. */
  now?: () => number;
}

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const requestValidator = compileSchema(TokenRequestSchema);
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseTokenRequest(body: Uint8Array): TokenRequest {
  if (body.byteLength === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    throw new HttpError(400, 'InvalidJson', 'the request body is not JSON');
  }
  const checked = requestValidator.validate(value);
  if (!checked.ok) throw new HttpError(400, 'InvalidRequest', formatIssues(checked.issues));
  return checked.value;
}

function checkLimits(wanted: TokenRequest, config: TokenConfig): void {
  if (
    wanted.contentType !== undefined &&
    !contentTypeAllowed(wanted.contentType, config.allowedContentTypes)
  ) {
    throw new HttpError(
      400,
      'ContentTypeNotAllowed',
      `content type ${wanted.contentType} is not allowed (allowed: ${config.allowedContentTypes.join(', ')})`,
    );
  }
  if (wanted.size !== undefined && wanted.size > config.maxUploadBytes) {
    throw new HttpError(
      400,
      'MaxUploadBytesExceeded',
      `size ${wanted.size} exceeds the maximum upload size of ${config.maxUploadBytes} bytes`,
    );
  }
  if (wanted.grant !== undefined && wanted.grant !== 'credentials' && wanted.contentType === undefined) {
    throw new HttpError(
      400,
      'ContentTypeRequired',
      `a ${wanted.grant} grant needs contentType: its signature pins the content type`,
    );
  }
}

function stsFailure(error: StsError): HttpError {
  if (error.kind === 'throttled') {
    const retryAfter = String(error.retryAfterSeconds ?? 1);
    return new HttpError(
      503,
      'StsThrottled',
      `${error.message}; retry later`,
      { 'retry-after': retryAfter },
      {
        cause: error,
      },
    );
  }
  const code = error.kind === 'rejected' ? `Sts.${error.code}` : 'StsUnavailable';
  return new HttpError(502, code, error.message, {}, { cause: error });
}

export function createTokenHandler(config: TokenConfig, deps: TokenDeps): EdgeHandler {
  const authenticate = createAuthenticator(config.jwt);
  const callbackParam = buildCallbackParam(config.callbackUrl);
  const callbackHeader = encodeCallbackHeader(callbackParam);
  const now = deps.now ?? Date.now;

  /** The caller's key prefix, or a 403 when the user id cannot make one. */
  function userPrefix(userId: string): string {
    const segment = userKeySegment(userId);
    if (!segment.ok)
      throw new HttpError(403, 'UserIdUnusable', `${segment.reason}; no key prefix can be made`);
    const keyPrefix = config.keyPrefix(segment.segment);
    if (Buffer.byteLength(keyPrefix) > MAX_KEY_PREFIX_BYTES) {
      throw new HttpError(
        403,
        'UserIdUnusable',
        `the user's key prefix would exceed ${MAX_KEY_PREFIX_BYTES} bytes`,
      );
    }
    return keyPrefix;
  }

  function functionCredentials(context: EdgeContext): RoleCredentials {
    try {
      return roleCredentials(context.credentials, deps.env);
    } catch (error) {
      throw new HttpError(500, 'CredentialsMissing', (error as Error).message, {}, { cause: error });
    }
  }

  /** What every grant of one request shares: the user's prefix, the limits and a fresh ticket. */
  async function uploadTarget(userId: string, wanted: TokenRequest) {
    const keyPrefix = userPrefix(userId);
    const maxBytes = wanted.size ?? config.maxUploadBytes;
    const contentTypes = wanted.contentType ? [wanted.contentType] : config.allowedContentTypes;
    const issuedAt = now();
    const { token } = await issueUploadTicket(
      { userId, keyPrefix, maxBytes, contentTypes },
      config.ticketKeyring,
      { ttlSeconds: config.ticketTtlSeconds, now: issuedAt },
    );
    return {
      issuedAt,
      ticket: token,
      fields: {
        bucket: config.bucket,
        region: config.region,
        endpoint: config.publicEndpoint,
        keyPrefix,
        limits: { maxBytes, contentTypes },
      },
    };
  }

  async function grantCredentials(
    userId: string,
    wanted: TokenRequest,
    context: EdgeContext,
  ): Promise<TokenResponse> {
    const target = await uploadTarget(userId, wanted);
    const { keyPrefix } = target.fields;
    const credentials = await deps.assumeRole(functionCredentials(context), {
      roleArn: config.uploadRoleArn,
      roleSessionName: roleSessionName(userId),
      policy: uploadSessionPolicy(config.bucket, keyPrefix, config.derivedPrefix + keyPrefix),
      durationSeconds: config.stsDurationSeconds,
    });
    const callbackVars = buildCallbackVars(target.ticket);
    context.log.info(
      { userId, keyPrefix, accessKeyId: credentials.accessKeyId, expiration: credentials.expiration },
      'upload credentials issued',
    );
    return {
      grant: 'credentials',
      credentials,
      ...target.fields,
      callback: {
        headers: {
          'x-oss-callback': callbackHeader,
          'x-oss-callback-var': encodeCallbackHeader(callbackVars),
        },
        aliOss: {
          url: callbackParam.callbackUrl,
          ...(callbackParam.callbackHost ? { host: callbackParam.callbackHost } : {}),
          body: callbackParam.callbackBody,
          contentType: callbackParam.callbackBodyType,
          // ali-oss adds the `x:` itself.
          customValue: { [TICKET_VARIABLE.slice(2)]: target.ticket },
        },
        callbackParam,
        callbackVars,
      },
      uploadHeaders: { [TICKET_METADATA_HEADER]: target.ticket },
    };
  }

  async function grantForm(
    userId: string,
    wanted: TokenRequest & { contentType: string },
    context: EdgeContext,
  ): Promise<FormGrant> {
    const target = await uploadTarget(userId, wanted);
    const { keyPrefix, limits } = target.fields;
    const form = buildPostForm({
      bucket: config.bucket,
      region: config.region,
      endpoint: config.publicEndpoint,
      credentials: functionCredentials(context),
      keyPrefix,
      key: suggestedKey(keyPrefix, wanted.fileName),
      maxBytes: limits.maxBytes,
      contentType: wanted.contentType,
      callback: callbackHeader,
      callbackVars: buildCallbackVars(target.ticket),
      objectMetadata: { [TICKET_METADATA_HEADER]: target.ticket },
      now: new Date(target.issuedAt),
    });
    context.log.info({ userId, keyPrefix, grant: 'form' }, 'upload form signed');
    return { grant: 'form', ...target.fields, form };
  }

  async function grantUpload(
    userId: string,
    wanted: TokenRequest,
    context: EdgeContext,
  ): Promise<TokenApiResponse> {
    const grant = wanted.grant ?? 'credentials';
    if (grant === 'credentials') return grantCredentials(userId, wanted, context);
    const { contentType } = wanted;
    // checkLimits made sure of it; narrowing for the compiler.
    if (contentType === undefined) throw new Error('contentType missing after checkLimits');
    if (grant === 'form') return grantForm(userId, { ...wanted, contentType }, context);
    throw new HttpError(501, 'GrantNotImplemented', `the ${grant} grant is not available yet`);
  }

  async function answer(request: EdgeRequest, context: EdgeContext, cors: Record<string, string>) {
    if (request.method === 'OPTIONS') {
      const preflight = request.headers.origin === undefined ? {} : PREFLIGHT_HEADERS;
      return {
        status: 204,
        headers: { ...cors, ...preflight, allow: ALLOWED_METHODS },
        body: new Uint8Array(),
      };
    }
    if (request.method !== 'GET' && request.method !== 'POST') {
      throw new HttpError(405, 'MethodNotAllowed', `use GET (mobile providers) or POST (JSON API)`, {
        allow: ALLOWED_METHODS,
      });
    }
    const { userId } = await authenticate(callerToken(request));
    const headers = { ...cors, ...NO_STORE };
    if (request.method === 'GET') {
      // The stock mobile providers: credentials, in the shape they parse.
      return jsonResponse(200, mobileCredentials(await grantCredentials(userId, {}, context)), headers);
    }
    const wanted = parseTokenRequest(request.body);
    checkLimits(wanted, config);
    return jsonResponse(200, await grantUpload(userId, wanted, context), headers);
  }

  return async (request, context): Promise<EdgeResponse> => {
    const cors = corsHeaders(config.corsOrigins, request.headers.origin);
    try {
      if (!cors) {
        throw new HttpError(
          403,
          'OriginNotAllowed',
          `origin ${request.headers.origin} may not call this function`,
        );
      }
      return await answer(request, context, cors);
    } catch (error) {
      const failure = toHttpError(error, request, context);
      const headers = { ...failure.headers, ...cors, ...NO_STORE };
      return request.method === 'GET'
        ? mobileErrorResponse(failure.status, failure.code, failure.message, request.requestId, headers)
        : errorResponse(failure.status, failure.code, failure.message, request.requestId, headers);
    }
  };
}

/** Every failure as an HttpError, logged once; unexpected ones hide their cause from the caller (it is in the log). */
function toHttpError(error: unknown, request: EdgeRequest, context: EdgeContext): HttpError {
  const failure = error instanceof StsError ? stsFailure(error) : error;
  if (failure instanceof HttpError) {
    const level = failure.status >= 500 ? 'error' : 'warn';
    context.log[level](
      { code: failure.code, status: failure.status, err: failure.cause ?? undefined },
      failure.message,
    );
    return failure;
  }
  context.log.error({ err: error }, 'unhandled error');
  return new HttpError(
    500,
    'InternalError',
    `internal error; the function log has the cause under request id ${request.requestId}`,
  );
}
