/**
 * The token function's core: authenticate the caller, then grant an upload into the caller's own key prefix with the
 * callback attached. `credentials` assumes the uploader role with a session policy limited to that prefix (the stock
 * mobile providers' format on GET, the JSON API on POST); the other grants (PostObject form, presigned PUT,
 * presigned multipart and its follow-ups) are signed with the function's own role credentials and cost no AssumeRole
 * call — STS allows 100 per second per account.
 */
import {
  buildCallbackParam,
  buildCallbackVars,
  encodeCallbackHeader,
  TICKET_METADATA_HEADER,
  TICKET_VARIABLE,
} from '../../shared/callback-contract.js';
import {
  type EdgeApp,
  type EdgeContext,
  type EdgeRequest,
  HttpError,
  jsonResponse,
  type RoleCredentials,
} from '../../shared/http/edge.js';
import { suggestedKey } from '../../shared/object-key.js';
import { createOssRestClient, OssRequestError } from '../../shared/oss-rest.js';
import { edgeCredentials } from '../../shared/role-credentials.js';
import { compileSchema, formatIssues } from '../../shared/schema.js';
import {
  type FormGrant,
  type MultipartCompleteGrant,
  type MultipartCompleteRequest,
  MultipartCompleteRequestSchema,
  type MultipartGrant,
  type MultipartPartsGrant,
  type MultipartPartsRequest,
  MultipartPartsRequestSchema,
  type PutGrant,
  type TokenApiRequest,
  type TokenApiResponse,
  type TokenRequest,
  TokenRequestSchema,
  type TokenResponse,
} from '../../shared/token-contract.js';
import { contentTypeAllowed, issueUploadTicket, verifyUploadTicket } from '../../shared/upload-ticket.js';
import { callerToken, createAuthenticator } from './auth.js';
import type { TokenConfig } from './config.js';
import { buildPostForm } from './post-policy.js';
import { MAX_KEY_PREFIX_BYTES, roleSessionName, userKeySegment } from './prefix.js';
import {
  PART_URL_LIFETIME_SECONDS,
  PRESIGNED_LIFETIME_SECONDS,
  type PresignTarget,
  partPlan,
  presignedRequest,
} from './presigned.js';
import { corsHeaders, mobileCredentials, NO_STORE, PREFLIGHT_HEADERS, tokenErrorShape } from './responses.js';
import { type AssumeRole, StsError, uploadSessionPolicy } from './sts.js';

export interface TokenDeps {
  assumeRole: AssumeRole;
  /** Where the function's own credentials come from when the context has none (`ALIBABA_CLOUD_ACCESS_KEY_ID`, …). */
  env: NodeJS.ProcessEnv;
  /** Clock (epoch ms), for the ticket and the form's date. */
  now?: () => number;
}

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const validators = {
  grant: compileSchema(TokenRequestSchema),
  'multipart-parts': compileSchema(MultipartPartsRequestSchema),
  'multipart-complete': compileSchema(MultipartCompleteRequestSchema),
};
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** How long the function waits for OSS to start a multipart upload. */
const OSS_TIMEOUT_MS = 5000;

function parseTokenRequest(body: Uint8Array): TokenApiRequest {
  if (body.byteLength === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    throw new HttpError(400, 'InvalidJson', 'the request body is not JSON');
  }
  const grant = (value as { grant?: unknown } | null)?.grant;
  const validator =
    grant === 'multipart-parts' || grant === 'multipart-complete' ? validators[grant] : validators.grant;
  const checked = validator.validate(value);
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

/** What the caller is told when STS fails: throttling is worth a retry, the rest is the service's own problem. */
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

export function createTokenHandler(config: TokenConfig, deps: TokenDeps): EdgeApp {
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

  const functionCredentials = (context: EdgeContext): RoleCredentials =>
    edgeCredentials(context.credentials, deps.env);

  /**
   * A key a multipart follow-up names: under the caller's prefix, and no `.`/`..` segment (an HTTP client would
   * normalise it away from the signed path).
   */
  function ownKey(userId: string, key: string): string {
    const keyPrefix = userPrefix(userId);
    if (!key.startsWith(keyPrefix) || key.length === keyPrefix.length) {
      throw new HttpError(403, 'KeyOutsidePrefix', `the key must be under your prefix ${keyPrefix}`);
    }
    if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
      throw new HttpError(400, 'InvalidKey', 'the key must not contain . or .. segments');
    }
    return key;
  }

  /** Requests and forms signed with the function's own role, at `at` (epoch ms). */
  function presignTarget(context: EdgeContext, at: number): PresignTarget {
    return {
      bucket: config.bucket,
      region: config.region,
      endpoint: config.publicEndpoint,
      credentials: functionCredentials(context),
      now: new Date(at),
    };
  }

  /** The callback and its variables (the ticket) as REST headers. */
  function callbackHeaders(ticket: string) {
    return {
      'x-oss-callback': callbackHeader,
      'x-oss-callback-var': encodeCallbackHeader(buildCallbackVars(ticket)),
    };
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
    const credentials = await deps
      .assumeRole(functionCredentials(context), {
        roleArn: config.uploadRoleArn,
        roleSessionName: roleSessionName(userId),
        policy: uploadSessionPolicy(config.bucket, keyPrefix, config.derivedPrefix + keyPrefix),
        durationSeconds: config.stsDurationSeconds,
      })
      .catch((error: unknown) => {
        throw error instanceof StsError ? stsFailure(error) : error;
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
        headers: callbackHeaders(target.ticket),
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

  /** One new object, as the form, PUT and multipart grants sign for it: its key and content type, and its ticket. */
  interface NewUpload {
    userId: string;
    target: Awaited<ReturnType<typeof uploadTarget>>;
    key: string;
    contentType: string;
  }

  function grantForm({ userId, target, key, contentType }: NewUpload, context: EdgeContext): FormGrant {
    const { keyPrefix, limits } = target.fields;
    const form = buildPostForm({
      ...presignTarget(context, target.issuedAt),
      keyPrefix,
      key,
      maxBytes: limits.maxBytes,
      contentType,
      callback: callbackHeader,
      callbackVars: buildCallbackVars(target.ticket),
      objectMetadata: { [TICKET_METADATA_HEADER]: target.ticket },
    });
    context.log.info({ userId, keyPrefix, grant: 'form' }, 'upload form signed');
    return { grant: 'form', ...target.fields, form };
  }

  /** A presigned PUT of one key: the content type, callback and ticket are inside its signature. */
  function grantPut({ userId, target, key, contentType }: NewUpload, context: EdgeContext): PutGrant {
    const { keyPrefix } = target.fields;
    const headers = {
      'content-type': contentType,
      ...callbackHeaders(target.ticket),
      [TICKET_METADATA_HEADER]: target.ticket,
    };
    const put = presignedRequest(
      presignTarget(context, target.issuedAt),
      'PUT',
      key,
      [],
      headers,
      PRESIGNED_LIFETIME_SECONDS,
    );
    context.log.info({ userId, keyPrefix, key, grant: 'put' }, 'presigned PUT signed');
    return { grant: 'put', ...target.fields, key, put };
  }

  /**
   * A multipart upload started here, with the function's own role: the object's content type and ticket metadata
   * are fixed at the start, so the client's part URLs need no headers; the callback comes with the Complete.
   */
  async function grantMultipart(
    { userId, target, key, contentType }: NewUpload,
    context: EdgeContext,
  ): Promise<MultipartGrant> {
    const { keyPrefix, limits } = target.fields;
    const oss = createOssRestClient({
      endpoint: config.ossEndpoint,
      region: config.region,
      bucket: config.bucket,
      credentials: functionCredentials(context),
    });
    let uploadId: string;
    try {
      uploadId = await oss.initiateMultipartUpload(
        key,
        { 'content-type': contentType, [TICKET_METADATA_HEADER]: target.ticket },
        OSS_TIMEOUT_MS,
      );
    } catch (error) {
      if (!(error instanceof OssRequestError)) throw error;
      throw new HttpError(
        502,
        'OssUnavailable',
        `OSS did not start the upload (${error.code})`,
        {},
        {
          cause: error,
        },
      );
    }
    context.log.info({ userId, keyPrefix, key, uploadId, grant: 'multipart' }, 'multipart upload started');
    return {
      grant: 'multipart',
      ...target.fields,
      key,
      uploadId,
      ticket: target.ticket,
      ...partPlan(limits.maxBytes),
    };
  }

  /** UploadPart URLs for a batch of parts, and ListParts to see what OSS has (resuming). */
  function grantMultipartParts(
    userId: string,
    wanted: MultipartPartsRequest,
    context: EdgeContext,
  ): MultipartPartsGrant {
    const key = ownKey(userId, wanted.key);
    const target = presignTarget(context, now());
    const upload: [string, string] = ['uploadId', wanted.uploadId];
    return {
      grant: 'multipart-parts',
      key,
      uploadId: wanted.uploadId,
      parts: wanted.partNumbers.map((partNumber) => ({
        partNumber,
        put: presignedRequest(
          target,
          'PUT',
          key,
          [['partNumber', String(partNumber)], upload],
          {},
          PART_URL_LIFETIME_SECONDS,
        ),
      })),
      listParts: presignedRequest(target, 'GET', key, [upload], {}, PRESIGNED_LIFETIME_SECONDS),
    };
  }

  /** The CompleteMultipartUpload, the callback with the caller's own ticket inside its signature. */
  async function grantMultipartComplete(
    userId: string,
    wanted: MultipartCompleteRequest,
    context: EdgeContext,
  ): Promise<MultipartCompleteGrant> {
    const key = ownKey(userId, wanted.key);
    const at = now();
    const verified = await verifyUploadTicket(wanted.ticket, config.ticketKeyring, { now: at });
    if (!verified.ok) throw new HttpError(403, verified.code, verified.message);
    if (verified.ticket.userId !== userId || !key.startsWith(verified.ticket.keyPrefix)) {
      throw new HttpError(403, 'TicketNotYours', 'the ticket was issued for another user or prefix');
    }
    const headers = { 'content-type': 'application/xml', ...callbackHeaders(wanted.ticket) };
    const complete = presignedRequest(
      presignTarget(context, at),
      'POST',
      key,
      [['uploadId', wanted.uploadId]],
      headers,
      PRESIGNED_LIFETIME_SECONDS,
    );
    context.log.info({ userId, key, uploadId: wanted.uploadId }, 'multipart complete signed');
    return { grant: 'multipart-complete', key, uploadId: wanted.uploadId, complete };
  }

  async function grantUpload(
    userId: string,
    wanted: TokenApiRequest,
    context: EdgeContext,
  ): Promise<TokenApiResponse> {
    if (wanted.grant === 'multipart-parts') return grantMultipartParts(userId, wanted, context);
    if (wanted.grant === 'multipart-complete') return grantMultipartComplete(userId, wanted, context);
    checkLimits(wanted, config);
    const grant = wanted.grant ?? 'credentials';
    if (grant === 'credentials') return grantCredentials(userId, wanted, context);
    const { contentType } = wanted;
    // checkLimits made sure of it; narrowing for the compiler.
    if (contentType === undefined) throw new Error('contentType missing after checkLimits');
    const target = await uploadTarget(userId, wanted);
    const upload = {
      userId,
      target,
      key: suggestedKey(target.fields.keyPrefix, wanted.fileName),
      contentType,
    };
    if (grant === 'form') return grantForm(upload, context);
    if (grant === 'put') return grantPut(upload, context);
    return grantMultipart(upload, context);
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
    return jsonResponse(200, await grantUpload(userId, parseTokenRequest(request.body), context), headers);
  }

  return {
    async handle(request, context) {
      const cors = corsHeaders(config.corsOrigins, request.headers.origin);
      if (!cors) {
        throw new HttpError(
          403,
          'OriginNotAllowed',
          `origin ${request.headers.origin} may not call this function`,
        );
      }
      return answer(request, context, cors);
    },
    errorShape: tokenErrorShape(config.corsOrigins),
  };
}
