/** GetObject and HeadObject: conditional headers, one byte range (OSS's lenient rules), response-* overrides. */
import { open } from 'node:fs/promises';
import type { OssRequest, OssServices } from './context.js';
import { noSuchKey, OssError } from './errors.js';
import { objectHeaders, quotedEtag } from './object-headers.js';
import type { ObjectRecord } from './object-store.js';
import { queryValue } from './query.js';
import type { OssResponse } from './response.js';

type Headers = Readonly<Record<string, string | undefined>>;

const unquote = (etag: string) => etag.trim().replace(/^"|"$/g, '');

/** 304 / 412 as If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since ask (prefix: `x-oss-copy-source-`). */
export function checkConditions(record: ObjectRecord, headers: Headers, prefix = ''): 'ok' | 'not-modified' {
  const modified = Math.floor(Date.parse(record.lastModified) / 1000) * 1000;
  const failed = (condition: string) =>
    new OssError(
      412,
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold.',
      undefined,
      {
        Condition: condition,
      },
    );
  const ifMatch = headers[`${prefix}if-match`];
  if (ifMatch !== undefined && unquote(ifMatch) !== record.etag) throw failed(`${prefix}If-Match`);
  const ifUnmodified = headers[`${prefix}if-unmodified-since`];
  if (ifUnmodified !== undefined && Date.parse(ifUnmodified) < modified)
    throw failed(`${prefix}If-Unmodified-Since`);
  const ifNoneMatch = headers[`${prefix}if-none-match`];
  if (ifNoneMatch !== undefined && unquote(ifNoneMatch) === record.etag) return 'not-modified';
  const ifModified = headers[`${prefix}if-modified-since`];
  if (ifModified !== undefined && Date.parse(ifModified) >= modified) return 'not-modified';
  return 'ok';
}

export type ByteRange = { start: number; end: number } | 'whole' | 'unsatisfiable';

/**
 * OSS reads only the first range. Without `x-oss-range-behavior: standard` an invalid or out-of-range Range is
 * ignored (200, whole object); with it, an end past the object is clamped and a start past it is 416.
 */
export function parseRange(header: string | undefined, size: number, standard: boolean): ByteRange {
  if (header === undefined) return 'whole';
  const match = /^bytes=(\d*)-(\d*)(?:,.*)?$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'whole';
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return standard ? 'unsatisfiable' : 'whole';
    if (suffix > size) return standard ? { start: 0, end: size - 1 } : 'whole';
    return { start: size - suffix, end: size - 1 };
  }
  const start = Number(first);
  let end = last === '' ? size - 1 : Number(last);
  if (start >= size) return standard ? 'unsatisfiable' : 'whole';
  if (end < start) return 'whole';
  if (end >= size) {
    if (!standard) return 'whole';
    end = size - 1;
  }
  return { start, end };
}

const RESPONSE_OVERRIDES = [
  'content-type',
  'content-language',
  'expires',
  'cache-control',
  'content-disposition',
  'content-encoding',
];

function findRecord(request: OssRequest, services: OssServices): ObjectRecord {
  const record = services.store.get(request.bucket, request.key);
  if (!record) throw noSuchKey(request.key);
  return record;
}

function notModified(record: ObjectRecord): OssResponse {
  return {
    status: 304,
    headers: { etag: quotedEtag(record.etag), 'last-modified': new Date(record.lastModified).toUTCString() },
  };
}

export async function headObject(request: OssRequest, services: OssServices): Promise<OssResponse> {
  const record = findRecord(request, services);
  if (checkConditions(record, request.headers) === 'not-modified') return notModified(record);
  return { status: 200, headers: { ...objectHeaders(record), 'content-length': String(record.size) } };
}

export async function getObject(request: OssRequest, services: OssServices): Promise<OssResponse> {
  let record = findRecord(request, services);
  if (checkConditions(record, request.headers) === 'not-modified') return notModified(record);
  // A concurrent overwrite may remove the bytes between lookup and open: look again once.
  let file = await open(services.store.dataPath(request.bucket, record)).catch(() => undefined);
  if (!file) {
    record = findRecord(request, services);
    file = await open(services.store.dataPath(request.bucket, record));
  }
  const headers = objectHeaders(record);
  for (const name of RESPONSE_OVERRIDES) {
    const value = queryValue(request.query, `response-${name}`);
    if (value !== undefined) headers[name] = value;
  }
  const standard = request.headers['x-oss-range-behavior'] === 'standard';
  const range = parseRange(request.headers.range, record.size, standard);
  if (range === 'unsatisfiable') {
    await file.close();
    throw new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied');
  }
  if (range === 'whole' || record.size === 0) {
    return {
      status: 200,
      headers: { ...headers, 'content-length': String(record.size) },
      body: file.createReadStream(),
    };
  }
  // Content-MD5 describes the whole object, not the part sent.
  delete headers['content-md5'];
  return {
    status: 206,
    headers: {
      ...headers,
      'content-length': String(range.end - range.start + 1),
      'content-range': `bytes ${range.start}-${range.end}/${record.size}`,
    },
    body: file.createReadStream({ start: range.start, end: range.end }),
  };
}
