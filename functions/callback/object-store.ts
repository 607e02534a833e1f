/** What the callback function asks of OSS, with its own role's credentials: HeadObject and PutObjectTagging. */

import { TICKET_METADATA_HEADER } from '../../shared/callback-contract.js';
import { normalizeEtag } from '../../shared/etag.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { createOssRestClient } from '../../shared/oss-rest.js';
import type { StoredObject } from '../../shared/upload-verdict.js';

export interface CallbackObjectStore {
  /** The object as HeadObject describes it (etag upper-case, unquoted; its stored ticket), or null when missing. */
  head(key: string, timeoutMs: number): Promise<StoredObject | null>;
  /** Put upcall's tags on an upload (its verdict; the object is kept). */
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
        lastModified: Number.isNaN(lastModified) ? null : lastModified,
        ticket: headers[TICKET_METADATA_HEADER] ?? '',
      };
    },
    async tag(key, tags, timeoutMs) {
      await client.putTagging(key, tags, timeoutMs);
    },
  };
}
