/** PutObject, CopyObject and DeleteObject. */

import { callbackFromRequest } from './callback-param.js';
import { type OssRequest, type OssServices, requesterId } from './context.js';
import { invalidArgument, noSuchBucket, noSuchKey, OssError } from './errors.js';
import {
  contentTypeFor,
  quotedEtag,
  storedContentHeaders,
  taggingHeader,
  uploadResultHeaders,
  userMetadata,
} from './object-headers.js';
import type { NewObject, ObjectRecord } from './object-store.js';
import { queryValue } from './query.js';
import { checkConditions } from './read-object.js';
import { type OssResponse, xmlResponse } from './response.js';
import { discardStaged, type StagedData, stageFiles, stageStream } from './staging.js';
import { finishUpload } from './upload-callback.js';

type Headers = Readonly<Record<string, string | undefined>>;

export const forbidsOverwrite = (headers: Headers) =>
  headers['x-oss-forbid-overwrite']?.toLowerCase() === 'true';

/** The fields of a new object described by request headers (PutObject, InitiateMultipartUpload, CopyObject REPLACE). */
export function describedObject(key: string, headers: Headers) {
  return {
    key,
    contentType: contentTypeFor(key, headers['content-type']),
    contentHeaders: storedContentHeaders(headers),
    userMeta: userMetadata(headers),
    tags: taggingHeader(headers['x-oss-tagging']),
  };
}

function commitStaged(
  services: OssServices,
  bucket: string,
  fields: NewObject,
  staged: StagedData,
  forbid: boolean,
): ObjectRecord {
  try {
    return services.store.commit(bucket, fields, staged, forbid ? { ec: '0026-00000201' } : undefined);
  } catch (error) {
    discardStaged(staged);
    throw error;
  }
}

/**
 * Store a staged single upload (PutObject, PostObject) as a Normal object: `described` by its request headers (or
 * form fields), its ETag the MD5 of its bytes.
 */
export function commitUpload(
  services: OssServices,
  bucket: string,
  described: ReturnType<typeof describedObject>,
  staged: StagedData,
  forbid: boolean,
): ObjectRecord {
  const fields: NewObject = {
    ...described,
    etag: staged.md5.toString('hex').toUpperCase(),
    contentMd5: staged.md5.toString('base64'),
    lastModified: new Date().toISOString(),
    objectType: 'Normal',
  };
  return commitStaged(services, bucket, fields, staged, forbid);
}

export async function putObject(request: OssRequest, services: OssServices): Promise<OssResponse> {
  // Everything that can be refused from the headers is refused before a byte is stored.
  const callback = callbackFromRequest(
    request.headers,
    queryValue(request.query, 'callback'),
    queryValue(request.query, 'callback-var'),
  );
  const described = describedObject(request.key, request.headers);
  const staged = await stageStream(services.store.tmpDir, request.body);
  const contentMd5 = staged.md5.toString('base64');
  const expectedMd5 = request.headers['content-md5'];
  if (expectedMd5 !== undefined && expectedMd5 !== contentMd5) {
    discardStaged(staged);
    throw new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  const record = commitUpload(services, request.bucket, described, staged, forbidsOverwrite(request.headers));
  return finishUpload(
    {
      bucket: request.bucket,
      record,
      dataPath: services.store.dataPath(request.bucket, record),
      operation: 'PutObject',
      requestId: request.requestId,
      clientIp: request.sourceIp,
    },
    services,
    callback,
    { status: 200, headers: uploadResultHeaders(record) },
    { requesterId: requesterId(request, services), hostId: request.hostId },
  );
}

/** `x-oss-copy-source: /<bucket>/<url-encoded key>` (a `?versionId=` suffix is not supported). */
export function parseCopySource(value: string): { bucket: string; key: string } {
  const match = /^\/?([^/?]+)\/([^?]+)$/.exec(value);
  if (!match) throw invalidArgument(`x-oss-copy-source is not /<bucket>/<key>: ${value}`);
  try {
    return { bucket: decodeURIComponent(match[1] as string), key: decodeURIComponent(match[2] as string) };
  } catch {
    throw invalidArgument(`x-oss-copy-source is not correctly URL-encoded: ${value}`);
  }
}

export async function copyObject(request: OssRequest, services: OssServices): Promise<OssResponse> {
  const source = parseCopySource(request.headers['x-oss-copy-source'] ?? '');
  if (!services.store.hasBucket(source.bucket)) throw noSuchBucket(source.bucket);
  const original = services.store.get(source.bucket, source.key);
  if (!original) throw noSuchKey(source.key);
  if (checkConditions(original, request.headers, 'x-oss-copy-source-') === 'not-modified') {
    return { status: 304, headers: { etag: quotedEtag(original.etag) } };
  }
  const replaceMeta = request.headers['x-oss-metadata-directive']?.toUpperCase() === 'REPLACE';
  const replaceTags = request.headers['x-oss-tagging-directive']?.toUpperCase() === 'REPLACE';
  const described = describedObject(request.key, request.headers);
  const staged = await stageFiles(services.store.tmpDir, [services.store.dataPath(source.bucket, original)]);
  const record = commitStaged(
    services,
    request.bucket,
    {
      key: request.key,
      contentType: replaceMeta ? described.contentType : original.contentType,
      contentHeaders: replaceMeta ? described.contentHeaders : original.contentHeaders,
      userMeta: replaceMeta ? described.userMeta : original.userMeta,
      tags: replaceTags ? described.tags : original.tags,
      etag: original.etag,
      ...(original.contentMd5 ? { contentMd5: original.contentMd5 } : {}),
      lastModified: new Date().toISOString(),
      objectType: original.objectType,
    },
    staged,
    forbidsOverwrite(request.headers),
  );
  return xmlResponse(
    200,
    { CopyObjectResult: { ETag: quotedEtag(record.etag), LastModified: record.lastModified } },
    { 'x-oss-hash-crc64ecma': record.crc64 },
  );
}

export async function deleteObject(request: OssRequest, services: OssServices): Promise<OssResponse> {
  services.store.delete(request.bucket, request.key);
  return { status: 204, headers: {} };
}
