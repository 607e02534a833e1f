/**
 * The local STS: AssumeRole over STS's RPC-style API (`POST /` with the action in `x-acs-action` or `Action`), as
 * `@alicloud/sts20150401` calls it. Requests are authenticated against the local account (ACS3-HMAC-SHA256, or
 * HMAC-SHA1 for clients set to `signatureAlgorithm: 'v2'`); errors come in STS's JSON shape.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { EdgeRequest, EdgeResponse } from '../../shared/http/edge.js';
import { jsonResponse } from '../../shared/http/edge.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger, type Logger } from '../../shared/log.js';
import {
  AcsRequestVerifier,
  type AuthFailureKind,
  requestParams,
  type SignatureStyle,
} from '../acs-signature.js';
import type { LocalAccount } from '../credentials.js';
import { closeServer, listen } from '../listen.js';
import { assumeRole, StsError } from './assume-role.js';

export interface InjectedStsFault {
  status: number;
  code: string;
  message: string;
}

/** What the stand-in saw of one STS request, for assertions. */
export interface StsCallRecord {
  requestId: string;
  action: string;
  accessKeyId?: string;
  /** The security token the caller sent, if any. */
  securityToken?: string;
  signature?: SignatureStyle;
  status: number;
  /** STS's error code; absent on success. */
  code?: string;
}

export interface LocalSts {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  port: number;
  /** The next AssumeRole answers this error instead (queued: each call injects one more). */
  failNext(fault: InjectedStsFault): void;
  /** Every request seen, oldest first. */
  calls(): StsCallRecord[];
  close(): Promise<void>;
}

const API_VERSION = '2015-04-01';

/** Status and message of each authentication failure, as Alibaba Cloud's API gateway answers them. */
const AUTH_ERRORS: Record<AuthFailureKind, { status: number; code: string; message: string }> = {
  IncompleteSignature: {
    status: 400,
    code: 'IncompleteSignature',
    message: 'The request signature does not conform to Aliyun standards.',
  },
  UnsupportedSignatureMethod: {
    status: 400,
    code: 'InvalidSignatureMethod',
    message: 'Specified signature method is not valid.',
  },
  InvalidTimeStamp: {
    status: 400,
    code: 'InvalidTimeStamp.Expired',
    message: 'Specified time stamp or date value is expired.',
  },
  InvalidAccessKeyId: {
    status: 404,
    code: 'InvalidAccessKeyId.NotFound',
    message: 'Specified access key is not found.',
  },
  SignatureDoesNotMatch: {
    status: 400,
    code: 'SignatureDoesNotMatch',
    message: 'Specified signature is not matched with our calculation.',
  },
  SignatureNonceUsed: {
    status: 400,
    code: 'SignatureNonceUsed',
    message: 'Specified signature nonce was used already.',
  },
  MissingSecurityToken: {
    status: 400,
    code: 'MissingSecurityToken',
    message: 'SecurityToken is mandatory for this action.',
  },
  SecurityTokenMismatch: {
    status: 400,
    code: 'InvalidSecurityToken.MismatchWithAccessKey',
    message: 'Specified SecurityToken mismatch with the AccessKey.',
  },
  SecurityTokenExpired: {
    status: 400,
    code: 'InvalidSecurityToken.Expired',
    message: 'Specified SecurityToken is expired.',
  },
};

function stsError(request: EdgeRequest, status: number, code: string, message: string): EdgeResponse {
  return jsonResponse(
    status,
    {
      RequestId: request.requestId,
      HostId: request.headers.host ?? 'sts.aliyuncs.com',
      Code: code,
      Message: message,
      Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=Sts&requestId=${request.requestId}`,
    },
    { 'x-acs-request-id': request.requestId },
  );
}

class StsService {
  readonly faults: InjectedStsFault[] = [];
  readonly records: StsCallRecord[] = [];
  private readonly verifier: AcsRequestVerifier;

  constructor(
    private readonly account: LocalAccount,
    private readonly log: Logger,
  ) {
    this.verifier = new AcsRequestVerifier(account, { allowRpc: true });
  }

  handle(raw: EdgeRequest): EdgeResponse {
    // STS request ids look like `6894B13B-6D71-4EF5-88FA-F32781734A7F`.
    const request = { ...raw, requestId: randomUUID().toUpperCase() };
    const params = new Map(requestParams(request));
    const action = request.headers['x-acs-action'] ?? params.get('Action') ?? '';
    const version = request.headers['x-acs-version'] ?? params.get('Version') ?? '';
    const record: StsCallRecord = { requestId: request.requestId, action, status: 200 };
    this.records.push(record);
    const answer = (response: EdgeResponse, code?: string): EdgeResponse => {
      record.status = response.status;
      if (code) record.code = code;
      this.log.info({ requestId: request.requestId, action, status: response.status, code }, 'sts request');
      return response;
    };
    if (request.method !== 'POST' && request.method !== 'GET') {
      return answer(
        stsError(request, 400, 'UnsupportedHTTPMethod', 'This http method is not supported.'),
        'UnsupportedHTTPMethod',
      );
    }
    if (action !== 'AssumeRole' || version !== API_VERSION) {
      return answer(
        stsError(
          request,
          404,
          'InvalidAction.NotFound',
          'Specified api is not found, please check your url and method.',
        ),
        'InvalidAction.NotFound',
      );
    }
    const fault = this.faults.shift();
    if (fault) return answer(stsError(request, fault.status, fault.code, fault.message), fault.code);

    const check = this.verifier.verify(request);
    if (!check.ok) {
      const failure = AUTH_ERRORS[check.kind];
      if (check.accessKeyId) record.accessKeyId = check.accessKeyId;
      // Like STS, tell the caller the string we signed, so a client-side signing bug can be diagnosed.
      const message =
        check.kind === 'SignatureDoesNotMatch' && check.stringToSign
          ? `${failure.message} server string to sign is:${check.stringToSign}`
          : failure.message;
      return answer(stsError(request, failure.status, failure.code, message), failure.code);
    }
    record.accessKeyId = check.accessKeyId;
    record.signature = check.style;
    if (check.securityToken) record.securityToken = check.securityToken;
    try {
      const result = assumeRole(this.account, check.caller, params);
      return answer(
        jsonResponse(
          200,
          { RequestId: request.requestId, ...result },
          { 'x-acs-request-id': request.requestId },
        ),
      );
    } catch (error) {
      if (error instanceof StsError) {
        return answer(stsError(request, error.status, error.code, error.message), error.code);
      }
      this.log.error({ err: error, requestId: request.requestId }, 'AssumeRole failed');
      return answer(
        stsError(
          request,
          500,
          'InternalError',
          'STS Server Internal Error happened, please send the RequestId to us.',
        ),
        'InternalError',
      );
    }
  }
}

export async function startLocalSts(options: {
  account: LocalAccount;
  port?: number;
  host?: string;
}): Promise<LocalSts> {
  const log = createLogger('local-sts');
  const service = new StsService(options.account, log);
  const server = createServer(
    createNodeListener(async (request) => service.handle(request), { log, maxBodyBytes: 1024 * 1024 }),
  );
  const { endpoint, port } = await listen(server, options.port, options.host);
  return {
    endpoint,
    port,
    failNext(fault) {
      service.faults.push(fault);
    },
    calls: () => service.records.map((record) => ({ ...record })),
    close: () => closeServer(server),
  };
}
