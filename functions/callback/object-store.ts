/** What the callback function asks of OSS, with its own role's credentials: HeadObject and PutObjectTagging. */

import { normalizeEtag } from '../../shared/etag.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { createOssRestClient } from '../../shared/oss-rest.js';
import type { StoredObject } from './check-upload.js';

export interface CallbackObjectStore {
  /** The object's etag (upper-case, unquoted), size and content type, or null when it does not exist. */
  head(key: string, timeoutMs: number): Promise<StoredObject | null>;
  /** Mark a refused upload (the object is kept; a lifecycle rule may expire it). */
  tag(key: string, tags: Record<string, string>, timeoutMs: number): Promise<void>;
}

export function createOssObjectStore(options: {
  endpoint: string;
  region: string;
  bucket: string;
  credentials: RoleCredentials;
}): CallbackObjectStore {
  const client = createOssRestClient(options);
  return {
    async head(key, timeoutMs) {
      const result = await client.head(key, timeoutMs);
      if (!result) return null;
      const headers = result.headers as Record<string, string | undefined>;
      const lastModified = Date.parse(headers['last-modified'] ?? '');
      return {
        etag: normalizeEtag(headers.etag),
        size: Number(headers['content-length'] ?? -1),
        contentType: headers['content-type'] ?? '',
        ...(Number.isNaN(lastModified) ? {} : { lastModified }),
      };
    },
    async tag(key, tags, timeoutMs) {
      await client.putTagging(key, tags, timeoutMs);
    },
  };
}
