/** What authenticating a request takes and gives: the request's parts, the account, and who signed it. */
import type { CredentialLookup, LocalAccount } from '../credentials.js';
import type { QueryPairs } from './query.js';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'credential'; accessKeyId: string; lookup: CredentialLookup };

export interface AuthInput {
  method: string;
  bucket: string | undefined;
  key: string;
  query: QueryPairs;
  /** Lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Epoch ms. */
  now: number;
}

export interface AuthSettings {
  account: LocalAccount;
  region: string;
}
