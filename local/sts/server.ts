/**
 * The local STS: AssumeRole over STS's RPC-style API (`POST /` with the action in `x-acs-action` or `Action`), as
 * `@alicloud/sts20150401` calls it. Requests are authenticated against the local account (ACS3-HMAC-SHA256, or
 * HMAC-SHA1 for clients set to `signatureAlgorithm: 'v2'`); errors come in STS's JSON shape.
 *
 * AssumeRole has STS's per-account quota (100 calls per second by default, `assumeRolePerSecond`): calls beyond it
 * are answered `Throttling.User` and not served. `GET /_local/stats` reports what was served and refused.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { EdgeRequest, EdgeResponse } from '../../shared/http/edge.js';
import { jsonResponse } from '../../shared/http/edge.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger, type Logger } from '../../shared/log.js';
import {
  AcsRequestVerifier,
  GATEWAY_AUTH_ERRORS,
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
  /** The last requests seen (at most 10,000), oldest first. */
  calls(): StsCallRecord[];
  /** AssumeRole calls served and refused by the quota since start (also at `GET /_local/stats`). */
  stats(): StsStats;
  close(): Promise<void>;
}

export interface StsStats {
  AssumeRole: number;
  throttled: number;
}

const API_VERSION = '2015-04-01';
/** STS's AssumeRole quota: 100 calls per second per account (STS quota page, `AssumeRole 100/1(s)`). */
export const DEFAULT_ASSUME_ROLE_PER_SECOND = 100;
const MAX_RECORDS = 10_000;

/**
 * The quota as a token bucket: `perSecond` tokens a second, at most one second's worth banked. (How STS counts within
 * a second is not documented; a bucket never allows more than the quota over any second plus one burst.)
 */
class RateLimit {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond;
    this.updatedAt = this.now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** STS's answer to a call over the quota (Alibaba Cloud's flow-control error for a user's API quota). */
const THROTTLED = {
  status: 400,
  code: 'Throttling.User',
  message: 'Request was denied due to user flow control.',
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
  records: StsCallRecord[] = [];
  readonly stats: StsStats = { AssumeRole: 0, throttled: 0 };
  private readonly verifier: AcsRequestVerifier;
  private readonly quota: RateLimit;

  constructor(
    private readonly account: LocalAccount,
    private readonly log: Logger,
    assumeRolePerSecond: number,
  ) {
    this.verifier = new AcsRequestVerifier(account, { allowRpc: true });
    this.quota = new RateLimit(assumeRolePerSecond);
  }

  handle(raw: EdgeRequest): EdgeResponse {
    // STS request ids look like `6894B13B-6D71-4EF5-88FA-F32781734A7F`.
    const request = { ...raw, requestId: randomUUID().toUpperCase() };
    if (request.method === 'GET' && request.path === '/_local/stats') {
      return jsonResponse(200, this.stats);
    }
    const params = new Map(requestParams(request));
    const action = request.headers['x-acs-action'] ?? params.get('Action') ?? '';
    const version = request.headers['x-acs-version'] ?? params.get('Version') ?? '';
    const record: StsCallRecord = { requestId: request.requestId, action, status: 200 };
    this.records.push(record);
    if (this.records.length > 2 * MAX_RECORDS) this.records = this.records.slice(-MAX_RECORDS);
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
      const failure = GATEWAY_AUTH_ERRORS[check.kind];
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
    if (!this.quota.take()) {
      this.stats.throttled += 1;
      return answer(stsError(request, THROTTLED.status, THROTTLED.code, THROTTLED.message), THROTTLED.code);
    }
    this.stats.AssumeRole += 1;
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
  /** AssumeRole calls allowed per second for the account (STS's quota); 100 by default. */
  assumeRolePerSecond?: number;
}): Promise<LocalSts> {
  const log = createLogger('local-sts');
  const perSecond = options.assumeRolePerSecond ?? DEFAULT_ASSUME_ROLE_PER_SECOND;
  if (!(perSecond > 0)) throw new Error(`assumeRolePerSecond must be positive (got ${perSecond})`);
  const service = new StsService(options.account, log, perSecond);
  const server = createServer(
    createNodeListener(
      { handle: async (request) => service.handle(request) },
      { log, maxBodyBytes: 1024 * 1024 },
    ),
  );
  const { endpoint, port } = await listen(server, options.port, options.host);
  return {
    endpoint,
    port,
    failNext(fault) {
      service.faults.push(fault);
    },
    calls: () => service.records.slice(-MAX_RECORDS).map((record) => ({ ...record })),
    stats: () => ({ ...service.stats }),
    close: () => closeServer(server),
  };
}
