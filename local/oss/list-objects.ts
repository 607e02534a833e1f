/** ListObjectsV2: prefix, delimiter, start-after, continuation-token, max-keys (default 100, at most 1000). */
import type { OssRequest, OssServices } from './context.js';
import { invalidArgument } from './errors.js';
import { quotedEtag } from './object-headers.js';
import { queryValue } from './query.js';
import { type OssResponse, xmlResponse } from './response.js';

const encodeToken = (key: string) => Buffer.from(key, 'utf8').toString('base64url');

function decodeToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (token === '' || encodeToken(key) !== token) throw invalidArgument('The continuation token is invalid.');
  return key;
}

function maxKeys(value: string | undefined): number {
  if (value === undefined) return 100;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < 1 || parsed > 1000) {
    throw invalidArgument(`max-keys must be an integer from 1 to 1000: ${value}`);
  }
  return parsed;
}

export async function listObjectsV2(request: OssRequest, services: OssServices): Promise<OssResponse> {
  const prefix = queryValue(request.query, 'prefix') ?? '';
  const delimiter = queryValue(request.query, 'delimiter') ?? '';
  const startAfter = queryValue(request.query, 'start-after');
  const token = queryValue(request.query, 'continuation-token');
  const limit = maxKeys(queryValue(request.query, 'max-keys'));
  const urlEncoded = queryValue(request.query, 'encoding-type') === 'url';
  const fetchOwner = queryValue(request.query, 'fetch-owner') === 'true';
  // Listing resumes after the later of start-after and the continuation token (the last key or prefix returned).
  const after = [startAfter ?? '', token === undefined ? '' : decodeToken(token)].sort().at(-1) as string;
  const encode = (value: string) => (urlEncoded ? encodeURIComponent(value) : value);

  const contents: Record<string, unknown>[] = [];
  const prefixes: string[] = [];
  let last = '';
  let truncated = false;
  for (const record of services.store.list(request.bucket)) {
    if (!record.key.startsWith(prefix) || record.key <= after) continue;
    const cut = delimiter === '' ? -1 : record.key.indexOf(delimiter, prefix.length);
    const commonPrefix = cut === -1 ? undefined : record.key.slice(0, cut + delimiter.length);
    if (commonPrefix !== undefined && (prefixes.at(-1) === commonPrefix || commonPrefix <= after)) continue;
    if (contents.length + prefixes.length === limit) {
      truncated = true;
      break;
    }
    if (commonPrefix !== undefined) {
      prefixes.push(commonPrefix);
      last = commonPrefix;
      continue;
    }
    last = record.key;
    contents.push({
      Key: encode(record.key),
      LastModified: record.lastModified,
      ETag: quotedEtag(record.etag),
      Type: record.objectType,
      Size: record.size,
      StorageClass: 'Standard',
      ...(fetchOwner
        ? { Owner: { ID: services.account.accountId, DisplayName: services.account.accountId } }
        : {}),
    });
  }
  return xmlResponse(200, {
    ListBucketResult: {
      Name: request.bucket,
      Prefix: encode(prefix),
      ...(startAfter === undefined ? {} : { StartAfter: encode(startAfter) }),
      ...(token === undefined ? {} : { ContinuationToken: token }),
      MaxKeys: limit,
      Delimiter: encode(delimiter),
      ...(urlEncoded ? { EncodingType: 'url' } : {}),
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: encodeToken(last) } : {}),
      ...(contents.length > 0 ? { Contents: contents } : {}),
      ...(prefixes.length > 0 ? { CommonPrefixes: prefixes.map((p) => ({ Prefix: encode(p) })) } : {}),
      KeyCount: contents.length + prefixes.length,
    },
  });
}
