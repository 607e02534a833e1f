/** What every request handler of the local OSS gets: the parsed request and the server's services. */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../shared/log.js';
import type { LocalAccount } from '../credentials.js';
import type { Principal } from './auth-input.js';
import type { CallbackSigningKey } from './callback-signing.js';
import type { ObjectCreatedHub } from './events.js';
import type { ObjectStore } from './object-store.js';
import type { QueryPairs } from './query.js';
import type { UploadStore } from './upload-store.js';

export interface OssServices {
  store: ObjectStore;
  uploads: UploadStore;
  account: LocalAccount;
  region: string;
  events: ObjectCreatedHub;
  callbackKey: CallbackSigningKey;
  publicKeyUrl: string;
  callbackTimeoutMs: number;
  /** Origins the buckets' CORS rule allows ('*' for any); empty: no CORS, as on a new bucket. */
  corsAllowedOrigins: readonly string[];
  log: Logger;
}

export interface OssRequest {
  method: string;
  bucket: string;
  /** Decoded key; '' for bucket requests. */
  key: string;
  query: QueryPairs;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  requestId: string;
  sourceIp: string;
  /** `<bucket>.oss-<region>.aliyuncs.com`, as OSS names itself in errors. */
  hostId: string;
  /** The request body, unread. */
  body: IncomingMessage;
  principal: Principal;
}

/** The account id OSS names as requester of a request (`x-oss-requester`). */
export function requesterId(request: OssRequest, services: OssServices): string {
  return request.principal.kind === 'anonymous' ? 'anonymous' : services.account.accountId;
}
