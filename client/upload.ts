/**
 * One upload, start to finish: a grant from the token endpoint, then the file straight to OSS with the callback
 * attached — one signed PostObject form up to `multipartThresholdBytes`, presigned parts in parallel above it (no
 * AssumeRole for either; STS credentials only where those do not fit) — then the callback's answer, and (optionally)
 * the media manifest and readable URLs of the outputs (read with STS credentials).
 *
 * Resumable multipart protocol (each guard named; `multipart.ts` says who signs the requests):
 * - checkpoint: once the upload is started (by the token endpoint's `multipart` grant, or here with credentials) its
 *   key, upload id, part size and — for a grant-started upload — ticket are stored under the file's checkpoint id
 *   (IndexedDB / a file), before any part is sent;
 * - truth from OSS: a resumed run asks OSS (ListParts) which parts it holds, and sends only the others; a checkpoint
 *   whose upload OSS no longer knows, that the token endpoint will not sign for, or that belongs to another key
 *   prefix (user), size, type or object name, is dropped and the upload starts over;
 * - the callback is the upload's own: a grant-started upload completes with the ticket its metadata carries (the
 *   token endpoint signs the Complete for it); a credentials upload carries the callback of the grant current at
 *   Complete (a fresh ticket after a reload);
 * - the checkpoint is deleted only once OSS answered Complete (accepted or refused) or the token endpoint refused to
 *   sign it, never on pause or abort.
 * Pause aborts the requests in flight and keeps the checkpoint; resume is a new run of the same protocol.
 */
import type { CallbackAnswer } from '../shared/callback-contract.js';
import { suggestedKey } from '../shared/object-key.js';
import type { FormGrant } from '../shared/token-contract.js';
import { type Checkpoint, type CheckpointStore, fileFingerprint } from './checkpoint.js';
import { abortError, isAbort, NetworkError, UploadError } from './errors.js';
import { type CredentialsGrant, GrantHolder, requestGrant } from './grant.js';
import { type Limiter, unlimited } from './limiter.js';
import { type JobOutputs, waitForOutputs } from './manifest.js';
import {
  type AskToken,
  credentialsParts,
  credentialsRequest,
  type PartSigner,
  presignedParts,
} from './multipart.js';
import { escapeXml, ossError, xmlBlocks, xmlText } from './oss-xml.js';
import { ProgressMeter, type UploadProgress } from './progress.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';
import {
  OSS_READ_HEADERS,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from './transport.js';

const MIB = 1024 * 1024;
/** OSS: at most 10 000 parts, each but the last at least 100 KiB. */
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 100 * 1024;

/** What the library uploads: a browser File/Blob, or in Node `fs.openAsBlob(path)`. */
export interface UploadSource {
  size: number;
  type?: string;
  name?: string;
  lastModified?: number;
  slice(start?: number, end?: number): Blob;
}

export interface UploadOptions {
  /** The token endpoint's URL (its POST JSON API). */
  tokenUrl: string;
  /** The Authorization header value for the token endpoint; called for every grant, so it may refresh. */
  authorization: () => string | Promise<string>;
  /** Default: the file's type. Must be one the token endpoint allows. */
  contentType?: string;
  /** The file's name, for the token endpoint and the default key (default: the file's name). */
  fileName?: string;
  /**
   * The key under the user's prefix, exactly (e.g. `photos/cat.png`). Default: `<uuid>/<file name>`, so two uploads
   * of one name never overwrite each other. An upload of the same name replaces the object. Large files then go up
   * with STS credentials (the multipart grant chooses its own key).
   */
  objectName?: string;
  /** Files above this go up in parts (default 8 MiB). */
  multipartThresholdBytes?: number;
  /**
   * Default: the multipart grant's recommendation (8 MiB, more for very large files), 5 MiB when signing with
   * credentials; raised when 10 000 parts would not hold the file.
   */
  partSizeBytes?: number;
  /** Parts in flight at once (default 3). */
  partConcurrency?: number;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
  /** Called on every state change (see `UploadState`). */
  onStateChange?: (state: UploadState) => void;
  /** Called with the callback's answer as soon as OSS passes it on — before the outputs are waited for. */
  onAnswer?: (answer: CallbackAnswer, key: string) => void;
  /** Called before each retry: which request, which attempt, why. */
  onRetry?: (info: { request: string; attempt: number; reason: string }) => void;
  /** Where multipart checkpoints live (default: the environment's store); `false`: never resume. */
  checkpoints?: CheckpointStore | false;
  /** Default: from name, size, modification time and type. */
  checkpointId?: string;
  /** Wait for the media manifest(s) and return the outputs with presigned URLs (default false). */
  waitForOutputs?: boolean | { timeoutMs?: number; urlSeconds?: number };
  /** Shares a concurrency limit between several uploads (see `createLimiter`). */
  limiter?: Limiter;
  transport: Transport;
}

export interface UploadResult {
  bucket: string;
  key: string;
  /** What the callback function answered (OSS passed it through). */
  answer: CallbackAnswer;
  multipart: boolean;
  /** Bytes OSS already had when the last run started (resumed from a checkpoint). */
  resumedBytes: number;
  /** Bytes of the file sent over the network, retries and resent parts included. */
  sentBytes: number;
  /** With `waitForOutputs`: one entry per media job. */
  jobs?: JobOutputs[];
}

export type UploadState = 'queued' | 'uploading' | 'paused' | 'processing' | 'done' | 'failed';

interface Part {
  number: number;
  start: number;
  end: number;
  etag?: string;
}

/** An upload in progress: pause, resume, cancel, and `done` for the outcome. */
export class Upload {
  readonly done: Promise<UploadResult>;
  private current: UploadState = 'queued';
  key: string | undefined;
  private run: AbortController | undefined;
  private settle!: { resolve: (r: UploadResult) => void; reject: (e: unknown) => void };
  private readonly retry: RetryPolicy;
  /** Small files: a signed form (no AssumeRole). */
  private readonly formGrants: GrantHolder<FormGrant>;
  /** Parts, and reading the outputs: STS credentials limited to the user's prefix. */
  private readonly grants: GrantHolder<CredentialsGrant>;
  private readonly fileName: string | undefined;
  private readonly contentType: string;
  private readonly meter: ProgressMeter;
  private readonly multipart: boolean;
  private readonly partSize: number;
  private readonly checkpointId: string;
  private sentBytes = 0;
  private resumedBytes = 0;
  private parts: Part[] = [];
  /** The multipart upload this run works on (for `cancel`, also without a checkpoint store). */
  private started: Checkpoint | undefined;
  private inFlight = new Map<number, number>();

  constructor(
    readonly file: UploadSource,
    private readonly options: UploadOptions,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // The outcome is the caller's to read; never an unhandled rejection in between.
    this.done.catch(() => {});
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    const contentType = options.contentType ?? file.type ?? '';
    this.contentType = contentType;
    this.meter = new ProgressMeter(file.size);
    this.multipart = file.size > (options.multipartThresholdBytes ?? 8 * MIB);
    this.partSize = this.partSizeFor(options.partSizeBytes ?? 5 * MIB);
    this.checkpointId = options.checkpointId ?? fileFingerprint({ ...file, type: contentType });
    const fileName = options.fileName ?? file.name;
    this.fileName = fileName;
    const wanted = { contentType, size: file.size, ...(fileName ? { fileName } : {}) };
    const grantOptions = {
      tokenUrl: options.tokenUrl,
      authorization: options.authorization,
      retry: this.retry,
    };
    this.formGrants = new GrantHolder<FormGrant>({ grant: 'form', ...wanted }, grantOptions);
    this.grants = new GrantHolder<CredentialsGrant>({ grant: 'credentials', ...wanted }, grantOptions);
    options.signal?.addEventListener('abort', () => this.stop(abortError(options.signal)), { once: true });
    if (!contentType) {
      this.fail(new UploadError('InvalidFile', 'the file has no content type: give `contentType`'));
    } else {
      this.start();
    }
  }

  /** `queued` (waiting for the limiter), `uploading`, `paused`, `processing` (waiting for the outputs), `done`, `failed`. */
  get state(): UploadState {
    return this.current;
  }

  private setState(state: UploadState) {
    if (state === this.current) return;
    this.current = state;
    this.options.onStateChange?.(state);
  }

  /** Stop sending; the parts OSS has are kept and `resume()` carries on from them. */
  pause(): void {
    if (this.state !== 'uploading' && this.state !== 'queued') return;
    this.setState('paused');
    this.run?.abort('paused');
  }

  resume(): void {
    if (this.state === 'paused') this.start();
  }

  /**
   * Stop for good; an unfinished multipart upload is aborted on OSS (with the user's credentials, which may abort
   * uploads under the prefix) and its checkpoint dropped.
   */
  async cancel(): Promise<void> {
    this.stop(new UploadError('Aborted', 'the upload was cancelled'));
    const saved = this.started ?? (await this.checkpoints()?.get(this.checkpointId));
    if (!saved) return;
    await this.checkpoints()?.delete(this.checkpointId);
    try {
      const grant = await this.grants.current();
      const abort = await credentialsRequest(grant, 'DELETE', saved.key, [['uploadId', saved.uploadId]]);
      await this.options.transport(abort);
    } catch {
      // Best effort: a bucket lifecycle rule removes unfinished uploads anyway.
    }
  }

  private stop(error: UploadError) {
    if (this.state === 'done' || this.state === 'failed') return;
    this.run?.abort(error);
    this.fail(error);
  }

  private fail(error: unknown) {
    this.setState('failed');
    this.settle.reject(error);
  }

  private checkpoints(): CheckpointStore | undefined {
    return this.options.checkpoints === false ? undefined : this.options.checkpoints;
  }

  private start() {
    const run = new AbortController();
    this.run = run;
    this.setState('queued');
    const limiter = this.options.limiter ?? unlimited;
    limiter
      .run(async () => {
        if (run.signal.aborted) return;
        this.setState('uploading');
        this.report();
        const result = this.multipart ? await this.uploadParts(run.signal) : await this.postForm(run.signal);
        if (run.signal.aborted) return;
        this.options.onAnswer?.(result.answer, result.key);
        this.setState('processing');
        const wait = this.options.waitForOutputs;
        if (wait && result.answer.jobs.length > 0) {
          const grant = await this.grants.current(run.signal);
          result.jobs = await waitForOutputs(grant, result.answer.jobs, {
            ...(typeof wait === 'object' ? wait : {}),
            signal: run.signal,
          });
        }
        this.setState('done');
        this.settle.resolve(result);
      })
      .catch((error: unknown) => {
        if (run.signal.aborted && this.state === 'paused') return;
        if (this.state === 'failed') return;
        this.fail(isAbort(error) ? abortError(run.signal) : error);
      });
  }

  private report() {
    const settled = this.parts.reduce((sum, p) => sum + (p.etag ? p.end - p.start : 0), 0);
    let flying = 0;
    for (const bytes of this.inFlight.values()) flying += bytes;
    this.options.onProgress?.(
      this.meter.measure(Math.min(this.file.size, settled + flying), this.resumedBytes),
    );
  }

  /** Send with retries; `id` names the request for onRetry and keys its in-flight bytes. */
  private async send(
    id: string,
    slot: number,
    make: () => Promise<Omit<TransportRequest, 'signal' | 'onUploadProgress'>>,
    signal: AbortSignal,
    bodyBytes = 0,
    bodyLength = 0,
  ): Promise<TransportResponse> {
    try {
      return await withRetry(
        async () => {
          const request = await make();
          let counted = 0;
          try {
            return await this.options.transport({
              ...request,
              signal,
              onUploadProgress: (sent) => {
                // Body bytes → file bytes (a form's fields are not the file's).
                const fileBytes = bodyLength > 0 ? Math.min(bodyBytes, (sent / bodyLength) * bodyBytes) : 0;
                this.sentBytes += fileBytes - counted;
                counted = fileBytes;
                this.inFlight.set(slot, fileBytes);
                this.report();
              },
            });
          } finally {
            this.inFlight.delete(slot);
          }
        },
        this.retry,
        signal,
        (attempt, reason) => {
          this.report();
          this.options.onRetry?.({ request: id, attempt, reason });
        },
      );
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      if (error instanceof NetworkError) {
        throw new UploadError(
          'NetworkFailed',
          `${id} failed ${this.retry.retries + 1} times: ${error.message}`,
          this.key ? { key: this.key } : {},
          { cause: error },
        );
      }
      throw error;
    }
  }

  private refusal(response: TransportResponse, what: string): UploadError {
    const error = ossError(response.text, response.header(OSS_READ_HEADERS.requestId));
    const detail = {
      status: response.status,
      code: error.code,
      ...(error.requestId ? { requestId: error.requestId } : {}),
      ...(this.key ? { key: this.key } : {}),
    };
    if (response.status === 203) {
      return new UploadError(
        'CallbackRefused',
        `OSS stored ${this.key}, but its callback failed (${response.status} ${error.code}): ${error.message}`,
        detail,
      );
    }
    const kind = response.status >= 500 ? 'NetworkFailed' : 'OssRefused';
    return new UploadError(
      kind,
      `${what}: OSS answered ${response.status} ${error.code}: ${error.message}`,
      detail,
    );
  }

  private answer(response: TransportResponse): CallbackAnswer {
    try {
      const answer = JSON.parse(response.text) as CallbackAnswer;
      if (answer?.status === 'accepted' && Array.isArray(answer.jobs)) return answer;
    } catch {}
    throw new UploadError(
      'CallbackRefused',
      `OSS stored ${this.key}, but the callback's answer is not upcall's`,
      {
        status: response.status,
        ...(this.key ? { key: this.key } : {}),
      },
    );
  }

  /** Small files: the grant's signed PostObject form, the file last. */
  private async postForm(signal: AbortSignal): Promise<UploadResult> {
    const grant = await this.formGrants.current(signal);
    const form = grant.form;
    // The form's policy allows any key under the prefix; it suggests `<uuid>/<name>`.
    const key = this.options.objectName
      ? `${grant.keyPrefix}${this.options.objectName}`
      : (form.fields.key ?? suggestedKey(grant.keyPrefix, this.fileName));
    this.key = key;
    const data = new FormData();
    for (const [name, value] of Object.entries({ ...form.fields, key })) data.append(name, value);
    data.append('file', this.file as Blob, this.file.name ?? 'file');
    const { body, contentType } = await formBody(data, this.options.transport);
    const response = await this.send(
      'PostObject',
      0,
      async () => ({
        method: 'POST' as const,
        url: form.url,
        headers: contentType ? { 'content-type': contentType } : ({} as Record<string, string>),
        ...(body !== undefined ? { body } : {}),
      }),
      signal,
      this.file.size,
      body instanceof Uint8Array ? body.byteLength : this.file.size,
    );
    if (response.status !== 200) throw this.refusal(response, `uploading ${this.key}`);
    this.parts = [{ number: 1, start: 0, end: this.file.size, etag: 'form' }];
    this.report();
    return this.result(grant.bucket, this.answer(response), false);
  }

  private result(bucket: string, answer: CallbackAnswer, multipart: boolean): UploadResult {
    return {
      bucket,
      key: this.key as string,
      answer,
      multipart,
      resumedBytes: this.resumedBytes,
      sentBytes: Math.round(this.sentBytes),
    };
  }

  /** The token endpoint, with this upload's authorization and retries. */
  private readonly ask: AskToken = (wanted, signal) =>
    requestGrant(wanted as Parameters<typeof requestGrant>[0], {
      tokenUrl: this.options.tokenUrl,
      authorization: this.options.authorization,
      retry: this.retry,
      signal,
    }) as never;

  private signer(checkpoint: Checkpoint): PartSigner {
    return checkpoint.ticket === undefined
      ? credentialsParts(checkpoint, this.grants)
      : presignedParts({ ...checkpoint, ticket: checkpoint.ticket }, this.ask);
  }

  private async uploadParts(signal: AbortSignal): Promise<UploadResult> {
    let checkpoint = await this.resumable(signal);
    let signer = checkpoint && this.signer(checkpoint);
    let have = checkpoint && signer ? await this.listParts(checkpoint, signer, signal) : undefined;
    if (!checkpoint || !signer || !have) {
      checkpoint = await this.initiate(signal);
      signer = this.signer(checkpoint);
      have = new Map();
    }
    const { partSize } = checkpoint;
    this.started = checkpoint;
    this.key = checkpoint.key;
    this.parts = [];
    for (let number = 1; (number - 1) * partSize < this.file.size; number++) {
      const start = (number - 1) * partSize;
      const etag = have.get(number);
      this.parts.push({
        number,
        start,
        end: Math.min(this.file.size, start + partSize),
        ...(etag ? { etag } : {}),
      });
    }
    this.resumedBytes = this.parts.reduce((sum, p) => sum + (p.etag ? p.end - p.start : 0), 0);
    this.report();
    const todo = this.parts.filter((part) => !part.etag);
    const lanes = Math.max(1, this.options.partConcurrency ?? 3);
    await Promise.all(
      Array.from({ length: Math.min(lanes, todo.length) }, async () => {
        for (let part = todo.shift(); part; part = todo.shift()) {
          if (signal.aborted) throw abortError(signal);
          part.etag = await this.uploadPart(signer, part, signal);
          this.report();
        }
      }),
    );
    return this.complete(checkpoint, signer, signal);
  }

  /** The saved checkpoint of this file, if it fits this upload (size, type, object name). */
  private async resumable(signal: AbortSignal): Promise<Checkpoint | undefined> {
    const saved = await this.checkpoints()?.get(this.checkpointId);
    if (!saved || saved.size !== this.file.size || saved.contentType !== this.contentType) return undefined;
    const { objectName } = this.options;
    if (objectName !== undefined && !saved.key.endsWith(`/${objectName}`) && saved.key !== objectName) {
      return undefined;
    }
    if (saved.ticket === undefined) {
      // Signed with this user's credentials: a checkpoint of another user (prefix) is not resumed.
      const grant = await this.grants.current(signal);
      if (saved.keyPrefix !== grant.keyPrefix || !saved.key.startsWith(grant.keyPrefix)) return undefined;
      if (objectName !== undefined && saved.key !== grant.keyPrefix + objectName) return undefined;
    }
    return saved;
  }

  /**
   * Start a multipart upload: by the token endpoint (no AssumeRole) unless an exact object name is wanted (its key
   * is the token endpoint's to choose) or the endpoint does not offer the grant; else here, with credentials.
   */
  private async initiate(signal: AbortSignal): Promise<Checkpoint> {
    const base = {
      version: 1 as const,
      size: this.file.size,
      contentType: this.contentType,
      createdAt: Date.now(),
    };
    let checkpoint: Checkpoint | undefined;
    if (this.options.objectName === undefined) {
      const started = await this.ask(
        { grant: 'multipart', contentType: this.contentType, size: this.file.size, ...this.fileNameField() },
        signal,
      ).catch((error: unknown) => {
        // A token endpoint from before the multipart grant refuses the request's shape: fall back to credentials.
        if (error instanceof UploadError && error.detail.code === 'InvalidRequest') return undefined;
        throw error;
      });
      if (started) {
        checkpoint = {
          ...base,
          key: started.key,
          uploadId: started.uploadId,
          // The caller's part size if it chose one, else the grant's recommendation (`maxParts` is the count at
          // that size; the token endpoint signs any part number OSS allows).
          partSize:
            this.options.partSizeBytes === undefined ? this.partSizeFor(started.partSize) : this.partSize,
          keyPrefix: started.keyPrefix,
          bucket: started.bucket,
          ticket: started.ticket,
        };
      }
    }
    checkpoint ??= await this.initiateWithCredentials(base, signal);
    this.key = checkpoint.key;
    await this.checkpoints()?.set(this.checkpointId, checkpoint);
    return checkpoint;
  }

  /** `wanted`, raised where OSS's limits need it (10 000 parts, each but the last at least 100 KiB). */
  private partSizeFor(wanted: number): number {
    return Math.max(wanted, MIN_PART_BYTES, Math.ceil(this.file.size / MAX_PARTS));
  }

  private fileNameField() {
    return this.fileName ? { fileName: this.fileName } : {};
  }

  private async initiateWithCredentials(
    base: Pick<Checkpoint, 'version' | 'size' | 'contentType' | 'createdAt'>,
    signal: AbortSignal,
  ): Promise<Checkpoint> {
    const grant = await this.grants.current(signal);
    const key = this.options.objectName
      ? `${grant.keyPrefix}${this.options.objectName}`
      : suggestedKey(grant.keyPrefix, this.fileName);
    this.key = key;
    const response = await this.send(
      'InitiateMultipartUpload',
      -1,
      async () =>
        credentialsRequest(await this.grants.current(signal), 'POST', key, [['uploads', '']], {
          // uploadHeaders: what the grant says every upload must carry (the ticket as object metadata).
          headers: { 'content-type': this.contentType, ...lowerCase(grant.uploadHeaders ?? {}) },
        }),
      signal,
    );
    if (response.status !== 200) throw this.refusal(response, `starting the upload of ${key}`);
    const uploadId = xmlText(response.text, 'UploadId');
    if (!uploadId)
      throw new UploadError('OssRefused', 'OSS answered InitiateMultipartUpload without an UploadId');
    return {
      ...base,
      key,
      uploadId,
      partSize: this.partSize,
      keyPrefix: grant.keyPrefix,
      bucket: grant.bucket,
    };
  }

  /**
   * The parts OSS holds for this upload (number → ETag, those of the expected size); undefined: it cannot be resumed
   * (OSS forgot it, or it is not this user's), and its checkpoint is dropped.
   */
  private async listParts(
    checkpoint: Checkpoint,
    signer: PartSigner,
    signal: AbortSignal,
  ): Promise<Map<number, string> | undefined> {
    const have = new Map<number, string>();
    const forget = async () => {
      await this.checkpoints()?.delete(this.checkpointId);
      return undefined;
    };
    let marker = '0';
    for (;;) {
      let response: TransportResponse;
      try {
        const request = await signer.listParts(marker, signal);
        // Presigned ListParts cannot page: parts past the first 1000 are sent again.
        if (!request) return have;
        response = await this.send('ListParts', -1, async () => request, signal);
      } catch (error) {
        // The token endpoint will not sign for this key (another user's, or a ticket it no longer accepts).
        if (error instanceof UploadError && error.code === 'TokenRefused' && error.detail.status === 403) {
          return forget();
        }
        throw error;
      }
      if (response.status === 404) return forget();
      if (response.status !== 200) throw this.refusal(response, `listing the parts of ${checkpoint.key}`);
      for (const block of xmlBlocks(response.text, 'Part')) {
        const number = Number(xmlText(block, 'PartNumber'));
        const size = Number(xmlText(block, 'Size'));
        const etag = xmlText(block, 'ETag');
        const expected = Math.min(checkpoint.partSize, this.file.size - (number - 1) * checkpoint.partSize);
        if (etag && size === expected) have.set(number, etag);
      }
      if (xmlText(response.text, 'IsTruncated') !== 'true') return have;
      marker = xmlText(response.text, 'NextPartNumberMarker') ?? '';
      if (!marker) return have;
    }
  }

  private async uploadPart(signer: PartSigner, part: Part, signal: AbortSignal): Promise<string> {
    const body = this.file.slice(part.start, part.end);
    const bytes = part.end - part.start;
    const response = await this.send(
      `UploadPart ${part.number}`,
      part.number,
      () => signer.uploadPart(part.number, body, signal),
      signal,
      bytes,
      bytes,
    );
    if (response.status !== 200) throw this.refusal(response, `uploading part ${part.number} of ${this.key}`);
    const etag = response.header(OSS_READ_HEADERS.etag);
    if (!etag) {
      throw new UploadError(
        'OssRefused',
        'OSS answered UploadPart without an ETag the page may read (the bucket CORS rule must expose ETag)',
      );
    }
    return etag;
  }

  private async complete(
    checkpoint: Checkpoint,
    signer: PartSigner,
    signal: AbortSignal,
  ): Promise<UploadResult> {
    const body = `<CompleteMultipartUpload>${this.parts
      .map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>${escapeXml(p.etag ?? '')}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    let response: TransportResponse;
    try {
      response = await this.send('CompleteMultipartUpload', -1, () => signer.complete(body, signal), signal);
    } catch (error) {
      // A ticket the token endpoint no longer signs for (expired): this upload can never complete.
      if (error instanceof UploadError && error.code === 'TokenRefused') {
        await this.checkpoints()?.delete(this.checkpointId);
      }
      throw error;
    }
    if (response.status === 200 || response.status === 203)
      await this.checkpoints()?.delete(this.checkpointId);
    if (response.status !== 200) throw this.refusal(response, `completing ${checkpoint.key}`);
    const bucket = checkpoint.bucket ?? (await this.grants.current(signal)).bucket;
    return this.result(bucket, this.answer(response), true);
  }
}

const lowerCase = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

/** Node's transport cannot send a FormData: it gets the serialized bytes (small files only). */
async function formBody(
  data: FormData,
  transport: Transport,
): Promise<{ body: TransportRequest['body']; contentType?: string }> {
  if (transport.sendsFormData) return { body: data };
  const response = new Response(data);
  return {
    body: new Uint8Array(await response.arrayBuffer()),
    contentType: response.headers.get('content-type') ?? '',
  };
}

/** Start an upload; see `Upload` for pause/resume/cancel. */
export function createUpload(file: UploadSource, options: UploadOptions): Upload {
  return new Upload(file, options);
}

/** An entry point's options: its platform's transport unless the caller brings one. */
export type PlatformUploadOptions = Omit<UploadOptions, 'transport'> & {
  transport?: UploadOptions['transport'];
};

/** An entry point's `createUpload` and `upload`: its platform's transport, and its checkpoint store by default. */
export function platformUpload(transport: Transport, defaultCheckpoints: () => CheckpointStore | false) {
  const create = (file: UploadSource, options: PlatformUploadOptions): Upload =>
    createUpload(file, {
      ...options,
      transport: options.transport ?? transport,
      checkpoints: options.checkpoints ?? defaultCheckpoints(),
    });
  return {
    createUpload: create,
    upload: (file: UploadSource, options: PlatformUploadOptions): Promise<UploadResult> =>
      create(file, options).done,
  };
}
