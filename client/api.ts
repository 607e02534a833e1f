/** The API both entry points (`index.ts` for browsers, `node.ts` for Node) export besides their own platform's parts. */
export type { Checkpoint, CheckpointStore } from './checkpoint.js';
export { memoryCheckpoints } from './checkpoint.js';
export { UploadError, type UploadErrorCode, type UploadErrorDetail } from './errors.js';
export { createLimiter, type Limiter } from './limiter.js';
export type { JobOutputs, OutputWithUrl } from './manifest.js';
export type { UploadProgress } from './progress.js';
export type { Upload, UploadResult, UploadSource, UploadState } from './upload.js';
