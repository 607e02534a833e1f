/** Which OSS operation a request is (method + sub-resources), and the RAM actions it needs on which resources. */
import { notImplemented } from './errors.js';
import { hasQuery, type QueryPairs } from './query.js';

export type OssOperation =
  | 'PutObject'
  | 'PostObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CopyObject'
  | 'ListObjectsV2'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'PutObjectTagging'
  | 'GetObjectTagging'
  | 'DeleteObjectTagging';

/** Sub-resources the local OSS does not implement (a request naming one is refused, not misread). */
const UNSUPPORTED = [
  'acl',
  'append',
  'symlink',
  'restore',
  'objectMeta',
  'versions',
  'versionId',
  'x-oss-process',
];

export function routeOperation(
  method: string,
  key: string,
  query: QueryPairs,
  headers: Readonly<Record<string, string | undefined>>,
): OssOperation {
  const unsupported = UNSUPPORTED.find((name) => hasQuery(query, name));
  if (unsupported) throw notImplemented(`the '${unsupported}' sub-resource`);
  if (key === '') {
    if (method === 'GET' && !hasQuery(query, 'uploads')) {
      if (hasQuery(query, 'list-type')) return 'ListObjectsV2';
      throw notImplemented('ListObjects (V1); use ListObjectsV2 (list-type=2)');
    }
    if (
      method === 'POST' &&
      (headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data')
    ) {
      return 'PostObject';
    }
    throw notImplemented(`${method} on a bucket`);
  }
  const uploadId = hasQuery(query, 'uploadId');
  const tagging = hasQuery(query, 'tagging');
  switch (method) {
    case 'PUT':
      if (uploadId && hasQuery(query, 'partNumber')) return 'UploadPart';
      if (tagging) return 'PutObjectTagging';
      return headers['x-oss-copy-source'] === undefined ? 'PutObject' : 'CopyObject';
    case 'GET':
      if (tagging) return 'GetObjectTagging';
      return uploadId ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      if (tagging) return 'DeleteObjectTagging';
      return uploadId ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (hasQuery(query, 'uploads')) return 'InitiateMultipartUpload';
      if (uploadId) return 'CompleteMultipartUpload';
      throw notImplemented('POST on an object without ?uploads or ?uploadId');
    default:
      throw notImplemented(`the ${method} method`);
  }
}

/** The RAM action each operation needs on its own resource (CopyObject also needs GetObject on the source). */
export const RAM_ACTION: Record<OssOperation, string> = {
  PutObject: 'oss:PutObject',
  PostObject: 'oss:PutObject',
  InitiateMultipartUpload: 'oss:PutObject',
  UploadPart: 'oss:PutObject',
  CompleteMultipartUpload: 'oss:PutObject',
  CopyObject: 'oss:PutObject',
  AbortMultipartUpload: 'oss:AbortMultipartUpload',
  ListParts: 'oss:ListParts',
  GetObject: 'oss:GetObject',
  HeadObject: 'oss:GetObject',
  DeleteObject: 'oss:DeleteObject',
  ListObjectsV2: 'oss:ListObjects',
  PutObjectTagging: 'oss:PutObjectTagging',
  GetObjectTagging: 'oss:GetObjectTagging',
  DeleteObjectTagging: 'oss:DeleteObjectTagging',
};
