/** What the callback function asks of OSS, with its own role's credentials: HeadObject and PutObjectTagging. */
import type { RoleCredentials } from '../../shared/http/edge.js';
import { createOssClient } from '../../shared/oss-client.js';
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
  const client = createOssClient(options);
  return {
    async head(key, timeoutMs) {
      try {
        const result = await client.head(key, { timeout: timeoutMs });
        const headers = result.res.headers as Record<string, string | undefined>;
        return {
          etag: (headers.etag ?? '').replaceAll('"', '').toUpperCase(),
          size: Number(headers['content-length'] ?? -1),
          contentType: headers['content-type'] ?? '',
        };
      } catch (error) {
        if ((error as { status?: number }).status === 404) return null;
        throw error;
      }
    },
    async tag(key, tags, timeoutMs) {
      await client.putObjectTagging(key, tags, { timeout: timeoutMs });
    },
  };
}
