/**
 * What the media function asks of OSS, behind a small interface so the core is written (and tested) against it:
 * HEAD, GET (whole, or streamed by version), PUT (multipart for large files), and the one conditional
 * write OSS offers — `x-oss-forbid-overwrite`, the store-side atomicity the job lease relies on.
 */
import type { Readable } from 'node:stream';
import type OSS from 'ali-oss';
import { TICKET_METADATA_HEADER } from '../../shared/callback-contract.js';
import { normalizeEtag } from '../../shared/etag.js';
import type { StoredObject } from '../../shared/upload-verdict.js';

export interface WriteOptions {
  contentType: string;
  /** Extra request headers: Cache-Control, `x-oss-meta-*`. */
  headers?: Record<string, string>;
}

export interface MediaStore {
  /** The object as HeadObject describes it (etag upper-case, unquoted; its stored ticket), or null when missing. */
  head(key: string): Promise<StoredObject | null>;
  /** A small object's bytes (manifest, lease), or null when it does not exist. */
  read(key: string): Promise<Buffer | null>;
  /** The body of exactly this version (`If-Match`) as a stream, or null when it is gone or was overwritten. */
  openRead(key: string, etag: string): Promise<Readable | null>;
  write(key: string, body: Buffer, options: WriteOptions): Promise<void>;
  /** Upload a local file; large files go up in parts. */
  writeFile(key: string, path: string, size: number, options: WriteOptions): Promise<void>;
  /** Create the object only if the key is free (one conditional write); false when it already exists. */
  create(key: string, body: Buffer, options: WriteOptions): Promise<boolean>;
  /** The object's tags ({} when none), or null when it does not exist. */
  tags(key: string): Promise<Record<string, string> | null>;
  /** Replace the object's tags (upcall's verdict on an upload). */
  tag(key: string, tags: Record<string, string>): Promise<void>;
}

export interface OssMediaStoreOptions {
  /** Files at least this large are uploaded with multipart upload (default 16 MiB). */
  multipartThreshold?: number;
  /** Part size for multipart uploads (default 8 MiB; OSS's minimum is 100 KiB). */
  partSize?: number;
}

/** The tagging calls ali-oss has and @types/ali-oss lacks. */
type TaggingClient = OSS & {
  getObjectTagging(name: string): Promise<{ tag: Record<string, string> }>;
  putObjectTagging(name: string, tag: Record<string, string>): Promise<unknown>;
};

const statusOf = (error: unknown) => (error as { status?: number }).status;
const codeOf = (error: unknown) => (error as { code?: string }).code;

/** Missing objects answer 404 on HEAD (no body, so no error code) and NoSuchKey on GET. */
function isMissing(error: unknown): boolean {
  return statusOf(error) === 404 || codeOf(error) === 'NoSuchKey';
}

function requestHeaders(options: WriteOptions, extra: Record<string, string> = {}): Record<string, string> {
  return { ...options.headers, ...extra };
}

export function createOssMediaStore(client: OSS, options: OssMediaStoreOptions = {}): MediaStore {
  const multipartThreshold = options.multipartThreshold ?? 16 * 1024 * 1024;
  const partSize = options.partSize ?? 8 * 1024 * 1024;
  return {
    async head(key) {
      try {
        const result = await client.head(key);
        const headers = result.res.headers as Record<string, string | undefined>;
        const lastModified = Date.parse(headers['last-modified'] ?? '');
        return {
          etag: normalizeEtag(headers.etag),
          size: Number(headers['content-length'] ?? 0),
          contentType: headers['content-type'] ?? '',
          lastModified: Number.isNaN(lastModified) ? null : lastModified,
          ticket: headers[TICKET_METADATA_HEADER] ?? '',
        };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async read(key) {
      try {
        const result = await client.get(key);
        return Buffer.from(result.content as Uint8Array);
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async openRead(key, etag) {
      try {
        const result = await client.getStream(key, { headers: { 'If-Match': `"${etag}"` } });
        return result.stream as Readable;
      } catch (error) {
        if (isMissing(error) || statusOf(error) === 412) return null;
        throw error;
      }
    },
    async write(key, body, writeOptions) {
      await client.put(key, body, { mime: writeOptions.contentType, headers: requestHeaders(writeOptions) });
    },
    async writeFile(key, path, size, writeOptions) {
      const common = { mime: writeOptions.contentType, headers: requestHeaders(writeOptions) };
      if (size < multipartThreshold) {
        await client.put(key, path, common);
        return;
      }
      await client.multipartUpload(key, path, { ...common, partSize, parallel: 2 });
    },
    async tags(key) {
      try {
        return (await (client as TaggingClient).getObjectTagging(key)).tag;
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async tag(key, tags) {
      await (client as TaggingClient).putObjectTagging(key, tags);
    },
    async create(key, body, writeOptions) {
      try {
        await client.put(key, body, {
          mime: writeOptions.contentType,
          headers: requestHeaders(writeOptions, { 'x-oss-forbid-overwrite': 'true' }),
        });
        return true;
      } catch (error) {
        if (statusOf(error) === 409 && codeOf(error) === 'FileAlreadyExists') return false;
        throw error;
      }
    },
  };
}
