/**
 * Who signs a multipart upload's requests. Two ways, one protocol (`upload.ts`):
 * - presigned (the default, no AssumeRole): the token endpoint starts the upload (`multipart` grant: key, upload id,
 *   ticket), presigns part PUTs in batches with a ListParts (`multipart-parts`), and presigns the Complete with the
 *   callback once the parts are in (`multipart-complete`, with the ticket the upload was started with);
 * - credentials (the fallback: an exact object name, a token endpoint without the multipart grant, a checkpoint made
 *   that way): the library signs with the grant's STS credentials, limited to the user's prefix.
 */
import type { SignedRequest } from '../shared/token-contract.js';
import type { Checkpoint } from './checkpoint.js';
import { type CredentialsGrant, EXPIRY_MARGIN_MS, type GrantHolder, type GrantOf } from './grant.js';
import { objectUrl, signedHeaders } from './oss-sign.js';
import type { TransportRequest } from './transport.js';

/** A request ready for the transport but for its signal and progress callback. */
export type RequestSpec = Omit<TransportRequest, 'signal' | 'onUploadProgress'>;

/** Asks the token endpoint (the upload's authorization and retries). */
export type AskToken = <K extends keyof GrantOf>(
  wanted: { grant: K } & Record<string, unknown>,
  signal: AbortSignal,
) => Promise<GrantOf[K]>;

export interface PartSigner {
  /** ListParts from `marker`; undefined when this signer cannot page past the first 1000 parts. */
  listParts(marker: string, signal: AbortSignal): Promise<RequestSpec | undefined>;
  uploadPart(number: number, body: Blob, signal: AbortSignal): Promise<RequestSpec>;
  complete(body: string, signal: AbortSignal): Promise<RequestSpec>;
}

/** The most part URLs one `multipart-parts` request may ask for (MAX_PART_URLS_PER_REQUEST). */
const BATCH = 100;

const fresh = (signed: SignedRequest | undefined): signed is SignedRequest =>
  signed !== undefined && Date.parse(signed.expiration) - Date.now() > EXPIRY_MARGIN_MS;

const spec = (signed: SignedRequest, body?: RequestSpec['body']): RequestSpec => ({
  method: signed.method,
  url: signed.url,
  headers: { ...signed.headers },
  ...(body !== undefined ? { body } : {}),
});

/** Part URLs fetched a batch at a time, ahead of the lanes that use them, and fetched again when near expiry. */
export function presignedParts(checkpoint: Checkpoint & { ticket: string }, ask: AskToken): PartSigner {
  const partCount = Math.max(1, Math.ceil(checkpoint.size / checkpoint.partSize));
  const urls = new Map<number, SignedRequest>();
  let listParts: SignedRequest | undefined;
  let batch: Promise<void> | undefined;
  const target = { key: checkpoint.key, uploadId: checkpoint.uploadId };

  /** The URLs of `first` and the parts after it (one request in flight at a time; the lanes wait for it). */
  async function fetchFrom(first: number, signal: AbortSignal): Promise<void> {
    while (batch) await batch.catch(() => undefined);
    if (fresh(urls.get(first)) && fresh(listParts)) return;
    const partNumbers: number[] = [];
    for (let n = first; n <= partCount && partNumbers.length < BATCH; n++) {
      if (n === first || !fresh(urls.get(n))) partNumbers.push(n);
    }
    batch = ask({ grant: 'multipart-parts', ...target, partNumbers }, signal).then((answer) => {
      for (const part of answer.parts) urls.set(part.partNumber, part.put);
      listParts = answer.listParts;
    });
    try {
      await batch;
    } finally {
      batch = undefined;
    }
  }

  return {
    async listParts(marker, signal) {
      if (marker !== '0') return undefined;
      if (!fresh(listParts)) await fetchFrom(1, signal);
      return spec(listParts as SignedRequest);
    },
    async uploadPart(number, body, signal) {
      if (!fresh(urls.get(number))) await fetchFrom(number, signal);
      return spec(urls.get(number) as SignedRequest, body);
    },
    async complete(body, signal) {
      const answer = await ask({ grant: 'multipart-complete', ...target, ticket: checkpoint.ticket }, signal);
      return spec(answer.complete, body);
    },
  };
}

/** Requests signed here with the grant's STS credentials (fresh ones when they near expiry). */
export async function credentialsRequest(
  grant: CredentialsGrant,
  method: TransportRequest['method'],
  key: string,
  query: Array<[string, string]>,
  extra: { headers?: Record<string, string>; body?: TransportRequest['body'] } = {},
): Promise<RequestSpec> {
  const target = { endpoint: grant.endpoint, bucket: grant.bucket, region: grant.region };
  const headers = await signedHeaders(grant.credentials, {
    method,
    target,
    key,
    query,
    ...(extra.headers ? { headers: extra.headers } : {}),
  });
  return {
    method,
    url: objectUrl(target, key, query),
    headers,
    ...(extra.body !== undefined ? { body: extra.body } : {}),
  };
}

export function credentialsParts(checkpoint: Checkpoint, grants: GrantHolder<CredentialsGrant>): PartSigner {
  const upload: [string, string] = ['uploadId', checkpoint.uploadId];
  return {
    async listParts(marker, signal) {
      const query: Array<[string, string]> = [['max-parts', '1000'], ['part-number-marker', marker], upload];
      return credentialsRequest(await grants.current(signal), 'GET', checkpoint.key, query);
    },
    async uploadPart(number, body, signal) {
      const query: Array<[string, string]> = [['partNumber', String(number)], upload];
      return credentialsRequest(await grants.current(signal), 'PUT', checkpoint.key, query, { body });
    },
    async complete(body, signal) {
      // The callback of the grant current now: a fresh ticket after a reload, never one kept in the checkpoint.
      const grant = await grants.current(signal);
      return credentialsRequest(grant, 'POST', checkpoint.key, [upload], {
        headers: { 'content-type': 'application/xml', ...grant.callback.headers },
        body,
      });
    },
  };
}
