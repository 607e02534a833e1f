/**
 * upcall's upload client for browsers: `upload(file, options)` / `createUpload(file, options)` with XMLHttpRequest
 * (upload progress) and IndexedDB checkpoints. Node: import `client/node.ts` instead (same API, node:http, a file).
 */
import { indexedDbCheckpoints } from './checkpoint-idb.js';
import { xhrTransport } from './transport-xhr.js';
import { type PlatformUploadOptions, platformUpload } from './upload.js';

export * from './api.js';
export { indexedDbCheckpoints } from './checkpoint-idb.js';

export type BrowserUploadOptions = PlatformUploadOptions;

let defaultCheckpoints: ReturnType<typeof indexedDbCheckpoints> | undefined;

export const { createUpload, upload } = platformUpload(xhrTransport, () => {
  defaultCheckpoints ??= typeof indexedDB === 'undefined' ? undefined : indexedDbCheckpoints();
  return defaultCheckpoints ?? false;
});
