/**
 * One upload, start to finish: a grant from the token endpoint, then the file straight to OSS with the callback
 * attached — one signed PostObject form up to `multipartThresholdBytes`, parts in parallel above it — then the
 * callback's answer, and (optionally) the media manifest and readable URLs of the outputs.
 *
 * Resumable multipart protocol (each guard named):
 * - checkpoint: after InitiateMultipartUpload the key, upload id and part size are stored under the file's
 *   checkpoint id (IndexedDB / a file), before any part is sent;
 * - truth from OSS: a resumed run asks OSS (ListParts) which parts it holds, and sends only the others; a checkpoint
 *   whose upload OSS no longer knows, or that belongs to another key prefix (user), size or part size, is dropped;
 * - the callback is never stale: CompleteMultipartUpload carries the callback of the grant current at that moment
 *   (a fresh ticket after a reload), never one stored in the checkpoint;
 * - the checkpoint is deleted only once OSS answered Complete (accepted or refused), never on pause or abort.
 * Pause aborts the requests in flight and keeps the checkpoint; resume is a new run of the same protocol.
 */
import type { CallbackAnswer } from '../shared/callback-contract.js';
import type { MediaManifest, MediaOutput } from '../shared/media-manifest.js';
import type { FormGrant } from '../shared/token-contract.js';
import { type Checkpoint, type CheckpointStore, fileFingerprint } from './checkpoint.js';
import { abortError, isAbort, NetworkError, UploadError } from './errors.js';
import { type CredentialsGrant, type Grant, GrantHolder } from './grant.js';
import { type Limiter, unlimited } from './limiter.js';
import { waitForOutputs } from './manifest.js';
import { type OssTarget, objectUrl, signedHeaders } from './oss-sign.js';
import { escapeXml, ossError, xmlBlocks, xmlText } from './oss-xml.js';
import { ProgressMeter, type UploadProgress } from './progress.js';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';

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
   * of one name never overwrite each other. An upload of the same name replaces the object.
   */
  objectName?: string;
  /** Files above this go up in parts (default 8 MiB). */
  multipartThresholdBytes?: number;
  /** Default 5 MiB (raised when 10 000 parts would not hold the file). */
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

export interface OutputWithUrl extends MediaOutput {
  /** A presigned GET URL, valid until `urlsExpireAt`. */
  url: string;
}

export interface JobOutputs {
  kind: 'image' | 'video';
  manifestKey: string;
  manifest: MediaManifest;
  outputs: OutputWithUrl[];
  urlsExpireAt: string;
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
    this.partSize = Math.max(
      options.partSizeBytes ?? 5 * MIB,
      MIN_PART_BYTES,
      Math.ceil(file.size / MAX_PARTS),
    );
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

  /** Stop for good; an unfinished multipart upload is aborted on OSS and its checkpoint dropped. */
  async cancel(): Promise<void> {
    this.stop(new UploadError('Aborted', 'the upload was cancelled'));
    const checkpoints = this.checkpoints();
    const saved = checkpoints ? await checkpoints.get(this.checkpointId) : undefined;
    if (!saved || !checkpoints) return;
    await checkpoints.delete(this.checkpointId);
    const grant = await this.grants.current().catch(() => undefined);
    if (grant) {
      await this.oss(grant, 'DELETE', saved.key, [['uploadId', saved.uploadId]]).catch(() => undefined);
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
    const error = ossError(response.text, response.header('x-oss-request-id'));
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
      : (form.fields.key ?? objectKey(grant.keyPrefix, this.fileName));
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
    return this.result(grant, this.answer(response), false);
  }

  private result(grant: Grant, answer: CallbackAnswer, multipart: boolean): UploadResult {
    return {
      bucket: grant.bucket,
      key: this.key as string,
      answer,
      multipart,
      resumedBytes: this.resumedBytes,
      sentBytes: Math.round(this.sentBytes),
    };
  }

  private target(grant: CredentialsGrant): OssTarget {
    return { endpoint: grant.endpoint, bucket: grant.bucket, region: grant.region };
  }

  /** A signed request to OSS with the grant's credentials (fresh ones when they near expiry). */
  private async oss(
    grant: CredentialsGrant | undefined,
    method: TransportRequest['method'],
    key: string,
    query: Array<[string, string]>,
    extra: { headers?: Record<string, string>; body?: TransportRequest['body']; signal?: AbortSignal } = {},
  ) {
    const current = grant ?? (await this.grants.current(extra.signal));
    const target = this.target(current);
    const headers = await signedHeaders(current.credentials, {
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

  private async uploadParts(signal: AbortSignal): Promise<UploadResult> {
    const grant = await this.grants.current(signal);
    let checkpoint = await this.resumeOrInitiate(grant, signal);
    let have = await this.listParts(checkpoint, signal);
    if (!have) {
      // OSS no longer knows the upload (completed, aborted, expired): its checkpoint is gone, start over.
      checkpoint = await this.resumeOrInitiate(grant, signal);
      have = new Map();
    }
    this.key = checkpoint.key;
    this.parts = [];
    for (let number = 1; (number - 1) * this.partSize < this.file.size; number++) {
      const start = (number - 1) * this.partSize;
      const etag = have.get(number);
      this.parts.push({
        number,
        start,
        end: Math.min(this.file.size, start + this.partSize),
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
          part.etag = await this.uploadPart(checkpoint, part, signal);
          this.report();
        }
      }),
    );
    return this.complete(checkpoint, signal);
  }

  private async resumeOrInitiate(grant: CredentialsGrant, signal: AbortSignal): Promise<Checkpoint> {
    const store = this.checkpoints();
    const saved = await store?.get(this.checkpointId);
    if (
      saved &&
      saved.size === this.file.size &&
      saved.partSize === this.partSize &&
      saved.contentType === this.contentType &&
      saved.keyPrefix === grant.keyPrefix &&
      saved.key.startsWith(grant.keyPrefix) &&
      (this.options.objectName === undefined || saved.key === grant.keyPrefix + this.options.objectName)
    ) {
      return saved;
    }
    const key = this.options.objectName
      ? `${grant.keyPrefix}${this.options.objectName}`
      : objectKey(grant.keyPrefix, this.fileName);
    this.key = key;
    const response = await this.send(
      'InitiateMultipartUpload',
      -1,
      () =>
        this.oss(undefined, 'POST', key, [['uploads', '']], {
          // uploadHeaders: what the grant says every upload must carry (the ticket as object metadata).
          headers: { 'content-type': this.contentType, ...lowerCase(grant.uploadHeaders ?? {}) },
          signal,
        }),
      signal,
    );
    if (response.status !== 200) throw this.refusal(response, `starting the upload of ${key}`);
    const uploadId = xmlText(response.text, 'UploadId');
    if (!uploadId)
      throw new UploadError('OssRefused', 'OSS answered InitiateMultipartUpload without an UploadId');
    const checkpoint: Checkpoint = {
      version: 1,
      key,
      uploadId,
      partSize: this.partSize,
      size: this.file.size,
      contentType: this.contentType,
      keyPrefix: grant.keyPrefix,
      createdAt: Date.now(),
    };
    await store?.set(this.checkpointId, checkpoint);
    return checkpoint;
  }

  /** The parts OSS holds for this upload (number → ETag, those of the expected size); undefined: OSS forgot it. */
  private async listParts(
    checkpoint: Checkpoint,
    signal: AbortSignal,
  ): Promise<Map<number, string> | undefined> {
    const have = new Map<number, string>();
    let marker = '0';
    for (;;) {
      const query: Array<[string, string]> = [
        ['max-parts', '1000'],
        ['part-number-marker', marker],
        ['uploadId', checkpoint.uploadId],
      ];
      const response = await this.send(
        'ListParts',
        -1,
        () => this.oss(undefined, 'GET', checkpoint.key, query, { signal }),
        signal,
      );
      if (response.status === 404) {
        await this.checkpoints()?.delete(this.checkpointId);
        return undefined;
      }
      if (response.status !== 200) throw this.refusal(response, `listing the parts of ${checkpoint.key}`);
      for (const block of xmlBlocks(response.text, 'Part')) {
        const number = Number(xmlText(block, 'PartNumber'));
        const size = Number(xmlText(block, 'Size'));
        const etag = xmlText(block, 'ETag');
        const expected = Math.min(this.partSize, this.file.size - (number - 1) * this.partSize);
        if (etag && size === expected) have.set(number, etag);
      }
      if (xmlText(response.text, 'IsTruncated') !== 'true') return have;
      marker = xmlText(response.text, 'NextPartNumberMarker') ?? '';
      if (!marker) return have;
    }
  }

  private async uploadPart(checkpoint: Checkpoint, part: Part, signal: AbortSignal): Promise<string> {
    const query: Array<[string, string]> = [
      ['partNumber', String(part.number)],
      ['uploadId', checkpoint.uploadId],
    ];
    const body = this.file.slice(part.start, part.end);
    const bytes = part.end - part.start;
    const response = await this.send(
      `UploadPart ${part.number}`,
      part.number,
      () => this.oss(undefined, 'PUT', checkpoint.key, query, { body, signal }),
      signal,
      bytes,
      bytes,
    );
    if (response.status !== 200)
      throw this.refusal(response, `uploading part ${part.number} of ${checkpoint.key}`);
    const etag = response.header('etag');
    if (!etag) {
      throw new UploadError(
        'OssRefused',
        'OSS answered UploadPart without an ETag the page may read (the bucket CORS rule must expose ETag)',
      );
    }
    return etag;
  }

  private async complete(checkpoint: Checkpoint, signal: AbortSignal): Promise<UploadResult> {
    const body = `<CompleteMultipartUpload>${this.parts
      .map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>${escapeXml(p.etag ?? '')}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    let grant = await this.grants.current(signal);
    const response = await this.send(
      'CompleteMultipartUpload',
      -1,
      async () => {
        grant = await this.grants.current(signal);
        return this.oss(grant, 'POST', checkpoint.key, [['uploadId', checkpoint.uploadId]], {
          headers: { 'content-type': 'application/xml', ...grant.callback.headers },
          body,
          signal,
        });
      },
      signal,
    );
    if (response.status === 200 || response.status === 203)
      await this.checkpoints()?.delete(this.checkpointId);
    if (response.status !== 200) throw this.refusal(response, `completing ${checkpoint.key}`);
    return this.result(grant, this.answer(response), true);
  }
}

/** `<prefix><uuid>/<name>`, the name kept to `A-Z a-z 0-9 . _ -` like the token function's form keys. */
function objectKey(keyPrefix: string, fileName: string | undefined): string {
  const id = crypto.randomUUID();
  if (!fileName) return `${keyPrefix}${id}`;
  const safe = fileName
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(-100);
  return `${keyPrefix}${id}/${safe || 'file'}`;
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
