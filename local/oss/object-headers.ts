/** The HTTP headers an object keeps (content type, Cache-Control…, x-oss-meta-*) and the ones OSS answers with. */
import { invalidArgument } from './errors.js';
import type { ObjectRecord } from './object-store.js';

/** Standard headers OSS stores with an object and returns on GET/HEAD. */
export const STORED_CONTENT_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
] as const;

/** What OSS assumes for a missing Content-Type, by extension (a short list; OSS's own is longer). */
const TYPES_BY_EXTENSION: Record<string, string> = {
  avif: 'image/avif',
  bmp: 'image/bmp',
  css: 'text/css',
  gif: 'image/gif',
  heic: 'image/heic',
  htm: 'text/html',
  html: 'text/html',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  js: 'application/javascript',
  json: 'application/json',
  m4a: 'audio/mp4',
  mov: 'video/quicktime',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  pdf: 'application/pdf',
  png: 'image/png',
  svg: 'image/svg+xml',
  txt: 'text/plain',
  webm: 'video/webm',
  webp: 'image/webp',
  xml: 'application/xml',
  zip: 'application/zip',
};

export function contentTypeFor(key: string, given: string | undefined): string {
  if (given && given.trim() !== '') return given.trim();
  const extension = /\.([A-Za-z0-9]+)$/.exec(key)?.[1]?.toLowerCase();
  return (extension && TYPES_BY_EXTENSION[extension]) || 'application/octet-stream';
}

type Headers = Readonly<Record<string, string | undefined>>;

export function storedContentHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of STORED_CONTENT_HEADERS) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

/** `x-oss-meta-*` headers; OSS limits user metadata to 8 KB in all. */
export function userMetadata(headers: Headers): Record<string, string> {
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-oss-meta-') || value === undefined) continue;
    meta[name] = value;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > 8192) throw invalidArgument('The user metadata exceeds 8 KB.');
  return meta;
}

/** `x-oss-tagging: k1=v1&k2=v2` (URL-encoded). */
export function taggingHeader(value: string | undefined): Record<string, string> {
  if (value === undefined || value === '') return {};
  return Object.fromEntries(new URLSearchParams(value));
}

export const quotedEtag = (etag: string) => `"${etag}"`;

/** Headers describing a stored object on GET and HEAD. */
export function objectHeaders(record: ObjectRecord): Record<string, string> {
  const tagCount = Object.keys(record.tags).length;
  return {
    'content-type': record.contentType,
    etag: quotedEtag(record.etag),
    'last-modified': new Date(record.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    'x-oss-object-type': record.objectType,
    'x-oss-storage-class': 'Standard',
    'x-oss-hash-crc64ecma': record.crc64,
    ...(record.contentMd5 ? { 'content-md5': record.contentMd5 } : {}),
    ...(tagCount > 0 ? { 'x-oss-tagging-count': String(tagCount) } : {}),
    ...record.contentHeaders,
    ...record.userMeta,
  };
}

/** Headers OSS answers a successful upload with. */
export function uploadResultHeaders(record: ObjectRecord): Record<string, string> {
  return {
    etag: quotedEtag(record.etag),
    'x-oss-hash-crc64ecma': record.crc64,
    ...(record.contentMd5 ? { 'content-md5': record.contentMd5 } : {}),
  };
}
