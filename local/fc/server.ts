/**
 * The local Function Compute: the InvokeFunction API (`POST /2023-03-30/functions/{name}/invocations`) as
 * `@alicloud/fc20230330` calls it, authenticated with ACS3-HMAC-SHA256 against the local account and authorised by
 * `fc:InvokeFunction`; sync invocations answer with the handler's result (errors as FC reports them: 200 plus
 * `x-fc-error-type`), async ones are queued (202), durably, with FC's task-id de-duplication and retries. `/_local/…` exposes
 * invocations and dead letters as JSON for humans and tests.
 */
import { createServer } from 'node:http';
import type { EdgeRequest, EdgeResponse } from '../../shared/http/edge.js';
import { jsonResponse } from '../../shared/http/edge.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { AcsRequestVerifier, type AuthFailureKind } from '../acs-signature.js';
import { LocalAccount } from '../credentials.js';
import { closeServer, listen } from '../listen.js';
import {
  type DeadLetter,
  type DuplicateTaskStatus,
  FcError,
  type InvocationRecord,
  type LocalFcHandler,
  LocalFunctions,
  type RegisterOptions,
} from './functions.js';

export type {
  DeadLetter,
  DuplicateTaskStatus,
  FunctionCredentials,
  InvocationRecord,
  InvocationStatus,
  LocalFcContext,
  LocalFcHandler,
  RegisterOptions,
} from './functions.js';

export interface LocalFc {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  port: number;
  region: string;
  accountId: string;
  register(name: string, handler: LocalFcHandler, options?: RegisterOptions): void;
  /** Queue an async invocation directly, as an FC trigger does (no HTTP, no caller signature). */
  invokeAsync(
    name: string,
    event: Uint8Array,
    options?: { taskId?: string; delaySeconds?: number },
  ): { requestId: string; taskId: string };
  deadLetters(name?: string): DeadLetter[];
  invocations(name?: string): InvocationRecord[];
  /** Resolves when every async queue is drained (jobs succeeded or dead-lettered). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const API_VERSION = '2023-03-30';
const INVOKE_PATH = /^\/2023-03-30\/functions\/([^/]+)\/invocations$/;
/** FC's limit on a synchronous event invocation's payload. */
const MAX_SYNC_PAYLOAD_BYTES = 32 * 1024 * 1024;

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your access key and signing method';

function authError(kind: AuthFailureKind, accessKeyId: string | undefined): FcError {
  switch (kind) {
    case 'InvalidAccessKeyId':
      return new FcError(403, 'InvalidAccessKeyID', `invalid access key ID '${accessKeyId ?? ''}'`);
    case 'SignatureDoesNotMatch':
    case 'IncompleteSignature':
    case 'UnsupportedSignatureMethod':
      return new FcError(403, 'SignatureNotMatch', SIGNATURE_MISMATCH);
    case 'InvalidTimeStamp':
      return new FcError(
        400,
        'InvalidArgument',
        'x-acs-date is malformed or more than 15 minutes from server time',
      );
    case 'SignatureNonceUsed':
      return new FcError(400, 'InvalidArgument', 'x-acs-signature-nonce was used already');
    case 'MissingSecurityToken':
      return new FcError(
        400,
        'MissingRequiredHeader',
        'required HTTP header x-acs-security-token was not specified',
      );
    case 'SecurityTokenMismatch':
      return new FcError(403, 'InvalidSecurityToken', 'the security token does not belong to the access key');
    case 'SecurityTokenExpired':
      return new FcError(403, 'InvalidSecurityToken', 'the security token has expired');
  }
}

function fcErrorResponse(error: FcError, requestId: string): EdgeResponse {
  return jsonResponse(
    error.status,
    { Code: error.code, Message: error.message, RequestId: requestId },
    { 'x-fc-request-id': requestId },
  );
}

/** FC's Node.js runtime returns strings and buffers as they are and serialises anything else as JSON. */
function resultBody(result: unknown): Buffer {
  if (result === undefined || result === null) return Buffer.alloc(0);
  if (typeof result === 'string') return Buffer.from(result, 'utf8');
  if (result instanceof Uint8Array) return Buffer.from(result);
  return Buffer.from(JSON.stringify(result), 'utf8');
}

/** FC's `x-fc-async-delay`: whole seconds from 0 to 3600 before the invocation starts. */
function asyncDelayMs(header: string | undefined): number {
  if (header === undefined) return 0;
  if (!/^[0-9]{1,4}$/.test(header) || Number(header) > 3600) {
    throw new FcError(
      400,
      'InvalidArgument',
      `x-fc-async-delay must be an integer from 0 to 3600 (got '${header}')`,
    );
  }
  return Number(header) * 1000;
}

function functionName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FcError(
      400,
      'InvalidArgument',
      `the function name in the path is not percent-encoded correctly`,
    );
  }
}

const asJson = (record: InvocationRecord | DeadLetter) => ({
  ...record,
  event: record.event.toString('utf8'),
});

class FcService {
  private readonly verifier: AcsRequestVerifier;

  constructor(
    private readonly account: LocalAccount,
    readonly functions: LocalFunctions,
    private readonly log: Logger,
  ) {
    this.verifier = new AcsRequestVerifier(account, { allowRpc: false });
  }

  async handle(request: EdgeRequest): Promise<EdgeResponse> {
    try {
      if (request.method === 'GET' && request.path.startsWith('/_local/')) return this.inspect(request);
      const match = INVOKE_PATH.exec(request.path);
      if (!match || request.method !== 'POST') {
        throw new FcError(
          400,
          'PathNotSupported',
          `'${request.method}' against '${request.path}' is not supported`,
        );
      }
      return await this.invoke(request, functionName(match[1] ?? ''));
    } catch (error) {
      if (error instanceof FcError) {
        this.log.info(
          { requestId: request.requestId, code: error.code, status: error.status },
          error.message,
        );
        return fcErrorResponse(error, request.requestId);
      }
      this.log.error({ err: error, requestId: request.requestId }, 'local FC failed');
      return fcErrorResponse(
        new FcError(500, 'InternalServerError', 'the local FC failed; its log has the cause'),
        request.requestId,
      );
    }
  }

  private async invoke(request: EdgeRequest, name: string): Promise<EdgeResponse> {
    if (!request.headers.authorization) {
      throw new FcError(400, 'MissingRequiredHeader', 'required HTTP header Authorization was not specified');
    }
    if (request.headers['x-acs-version'] !== API_VERSION) {
      throw new FcError(400, 'InvalidArgument', `x-acs-version must be ${API_VERSION}`);
    }
    const check = this.verifier.verify(request);
    if (!check.ok) throw authError(check.kind, check.accessKeyId);
    const resource = `acs:fc:${this.functions.region}:${this.account.accountId}:functions/${name}`;
    if (!LocalAccount.permits(check.caller, 'fc:InvokeFunction', resource)) {
      throw new FcError(
        403,
        'AccessDenied',
        `the caller is not authorized to perform fc:InvokeFunction on ${resource}`,
      );
    }
    const type = (request.headers['x-fc-invocation-type'] ?? 'Sync').toLowerCase();
    if (type === 'async') {
      const { requestId, taskId } = this.functions.invokeAsync(
        name,
        request.body,
        request.headers['x-fc-async-task-id'],
        asyncDelayMs(request.headers['x-fc-async-delay']),
      );
      this.log.info({ requestId, function: name, taskId }, 'async invocation queued');
      return {
        status: 202,
        headers: { 'x-fc-request-id': requestId, 'x-fc-async-task-id': taskId },
        body: new Uint8Array(),
      };
    }
    if (type !== 'sync')
      throw new FcError(400, 'InvalidArgument', 'x-fc-invocation-type must be Sync or Async');
    if (request.body.byteLength > MAX_SYNC_PAYLOAD_BYTES) {
      throw new FcError(
        400,
        'EntityTooLarge',
        `payload size exceeds maximum allowed size (${MAX_SYNC_PAYLOAD_BYTES} bytes)`,
      );
    }
    const outcome = await this.functions.invokeSync(name, request.body);
    if (outcome.ok) {
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream', 'x-fc-request-id': outcome.requestId },
        body: resultBody(outcome.result),
      };
    }
    const { errorMessage, errorType, stackTrace } = outcome;
    return jsonResponse(
      200,
      { errorMessage, errorType, stackTrace },
      { 'x-fc-request-id': outcome.requestId, 'x-fc-error-type': 'UnhandledInvocationError' },
    );
  }

  private inspect(request: EdgeRequest): EdgeResponse {
    const name = new URLSearchParams(request.query).get('function') ?? undefined;
    if (request.path === '/_local/dead-letters')
      return jsonResponse(200, this.functions.deadLetters(name).map(asJson));
    if (request.path === '/_local/invocations')
      return jsonResponse(200, this.functions.invocations(name).map(asJson));
    throw new FcError(400, 'PathNotSupported', `'GET' against '${request.path}' is not supported`);
  }
}

export async function startLocalFc(options: {
  account: LocalAccount;
  region: string;
  /** Where accepted async invocations are kept, so that a local FC started again on it resumes them. */
  dataDir: string;
  port?: number;
  host?: string;
  /** Delay before retry n of a failed async job is n × this (default 1000 ms; tests use a few ms). */
  retryBackoffMs?: number;
  /** How a repeated async task id is refused: 409 (default, FC's task-deduplication pages) or 400 (an older copy). */
  duplicateTaskStatus?: DuplicateTaskStatus;
}): Promise<LocalFc> {
  const log = createLogger('local-fc');
  const functions = new LocalFunctions(
    options.account,
    options.region,
    options.dataDir,
    options.retryBackoffMs ?? 1000,
    options.duplicateTaskStatus,
  );
  const service = new FcService(options.account, functions, log);
  const server = createServer(
    createNodeListener(
      { handle: (request) => service.handle(request) },
      { log, maxBodyBytes: MAX_SYNC_PAYLOAD_BYTES },
    ),
  );
  const { endpoint, port } = await listen(server, options.port, options.host);
  return {
    endpoint,
    port,
    region: options.region,
    accountId: options.account.accountId,
    register: (name, handler, registerOptions) => functions.register(name, handler, registerOptions),
    invokeAsync: (name, event, invokeOptions) =>
      functions.invokeAsync(name, event, invokeOptions?.taskId, (invokeOptions?.delaySeconds ?? 0) * 1000),
    deadLetters: (name) => functions.deadLetters(name),
    invocations: (name) => functions.invocations(name),
    idle: () => functions.idle(),
    close: () => {
      functions.stop();
      return closeServer(server);
    },
  };
}
