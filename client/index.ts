/**
 * upcall's upload client for browsers: `upload(file, options)` / `createUpload(file, options)` with XMLHttpRequest
 * (upload progress) and IndexedDB checkpoints. Node: import `client/node.ts` instead (same API, node:http, a file).
 */
import { indexedDbCheckpoints } from './checkpoint-idb.js';
import { xhrTransport } from './transport-xhr.js';
import {
  createUpload as createWith,
  type Upload,
  type UploadOptions,
  type UploadResult,
  type UploadSource,
} from './upload.js';

export type { Checkpoint, CheckpointStore } from './checkpoint.js';
export { memoryCheckpoints } from './checkpoint.js';
export { indexedDbCheckpoints } from './checkpoint-idb.js';
export { UploadError, type UploadErrorCode, type UploadErrorDetail } from './errors.js';
export { createLimiter, type Limiter } from './limiter.js';
export type { JobOutputs, OutputWithUrl } from './manifest.js';
export type { UploadProgress } from './progress.js';
export type { Upload, UploadResult, UploadSource, UploadState } from './upload.js';

export type BrowserUploadOptions = Omit<UploadOptions, 'transport'> & {
  transport?: UploadOptions['transport'];
};

let defaultCheckpoints: ReturnType<typeof indexedDbCheckpoints> | undefined;

export function createUpload(file: UploadSource, options: BrowserUploadOptions): Upload {
  defaultCheckpoints ??= typeof indexedDB === 'undefined' ? undefined : indexedDbCheckpoints();
  const checkpoints = options.checkpoints ?? defaultCheckpoints ?? false;
  return createWith(file, { ...options, transport: options.transport ?? xhrTransport, checkpoints });
}

export function upload(file: UploadSource, options: BrowserUploadOptions): Promise<UploadResult> {
  return createUpload(file, options).done;
}
