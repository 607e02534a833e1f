/**
 * One HTTP request through the local OSS: address (bucket/key), operation, authentication, authorization, handler;
 * any failure becomes OSS's XML error (for HEAD: status + x-oss-err), after the unread body is drained.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveAddress } from './addressing.js';
import { authenticate } from './authenticate.js';
import type { OssRequest, OssServices } from './context.js';
import { corsResponseHeaders, preflight } from './cors.js';
import { accessDenied, newRequestId, noSuchBucket, notImplemented, OssError } from './errors.js';
import { listObjectsV2 } from './list-objects.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  initiateMultipartUpload,
  listParts,
  uploadPart,
} from './multipart.js';
import { type OssOperation, routeOperation } from './operations.js';
import { authorize, requiredPermissions, tagsAtUpload } from './permissions.js';
import { postObject } from './post-object.js';
import { parseQuery } from './query.js';
import { getObject, headObject } from './read-object.js';
import { drain } from './request-body.js';
import { errorResponse, type OssResponse, writeResponse } from './response.js';
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from './tagging.js';
import { copyObject, deleteObject, parseCopySource, putObject } from './write-object.js';

/** Where the stand-in serves its callback public key (bucket names cannot contain `_`, so no bucket clashes). */
export const PUBLIC_KEY_PATH = '/_local/callback_pub_key_v1.pem';

type Handler = (request: OssRequest, services: OssServices) => Promise<OssResponse>;

const HANDLERS: Record<Exclude<OssOperation, 'PostObject'>, Handler> = {
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  CopyObject: copyObject,
  ListObjectsV2: listObjectsV2,
  InitiateMultipartUpload: initiateMultipartUpload,
  UploadPart: uploadPart,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  PutObjectTagging: putObjectTagging,
  GetObjectTagging: getObjectTagging,
  DeleteObjectTagging: deleteObjectTagging,
};

function lowerCaseHeaders(message: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

const clientIp = (message: IncomingMessage) => (message.socket.remoteAddress ?? '').replace(/^::ffff:/, '');

async function dispatch(
  message: IncomingMessage,
  services: OssServices,
  requestId: string,
  setHostId: (hostId: string) => void,
): Promise<OssResponse> {
  const url = message.url ?? '/';
  const mark = url.indexOf('?');
  const rawPath = mark === -1 ? url : url.slice(0, mark);
  const method = (message.method ?? 'GET').toUpperCase();
  const headers = lowerCaseHeaders(message);
  const address = resolveAddress(headers.host, rawPath);
  if (address.style === 'path' && rawPath === PUBLIC_KEY_PATH && (method === 'GET' || method === 'HEAD')) {
    return {
      status: 200,
      headers: { 'content-type': 'application/x-pem-file' },
      body: Buffer.from(services.callbackKey.publicKeyPem, 'utf8'),
    };
  }
  if (address.bucket === undefined) throw notImplemented('service-level requests (ListBuckets)');
  const bucket = address.bucket;
  const hostId = `${bucket}.oss-${services.region}.aliyuncs.com`;
  setHostId(hostId);
  if (!services.store.hasBucket(bucket)) throw noSuchBucket(bucket);
  if (address.hostRegion !== undefined && address.hostRegion !== services.region) {
    throw accessDenied(
      'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
      undefined,
      { Bucket: bucket, Endpoint: `oss-${services.region}.aliyuncs.com` },
    );
  }
  if (method === 'OPTIONS') return preflight(services.corsAllowedOrigins, headers);
  const query = parseQuery(mark === -1 ? '' : url.slice(mark + 1));
  const operation = routeOperation(method, address.key, query, headers);
  const now = Date.now();
  const sourceIp = clientIp(message);
  if (operation === 'PostObject') {
    return postObject(message, services, { bucket, requestId, sourceIp, hostId, now });
  }
  const principal = authenticate({ method, bucket, key: address.key, query, headers, now }, services);
  const copySource =
    operation === 'CopyObject' ? parseCopySource(headers['x-oss-copy-source'] ?? '') : undefined;
  const scope = { region: services.region, accountId: services.account.accountId };
  const sourceTags = copySource ? services.store.get(copySource.bucket, copySource.key)?.tags : undefined;
  const tags = tagsAtUpload(operation, headers['x-oss-tagging'], {
    replaceTags: headers['x-oss-tagging-directive']?.toUpperCase() === 'REPLACE',
    sourceTagCount: Object.keys(sourceTags ?? {}).length,
  });
  authorize(
    principal,
    requiredPermissions(scope, operation, bucket, address.key, {
      ...(copySource ? { copySource } : {}),
      tagsAtUpload: tags,
    }),
  );
  const request: OssRequest = {
    method,
    bucket,
    key: address.key,
    query,
    headers,
    requestId,
    sourceIp,
    hostId,
    body: message,
    principal,
  };
  return HANDLERS[operation](request, services);
}

export async function handleRequest(message: IncomingMessage, res: ServerResponse, services: OssServices) {
  const requestId = newRequestId();
  const startedAt = Date.now();
  let hostId = `oss-${services.region}.aliyuncs.com`;
  const log = services.log.child({ requestId, method: message.method, url: message.url });
  let response: OssResponse;
  try {
    response = await dispatch(message, services, requestId, (value) => {
      hostId = value;
    });
  } catch (caught) {
    const error =
      caught instanceof OssError
        ? caught
        : new OssError(500, 'InternalError', 'We encountered an internal error. Please try again.');
    if (!(caught instanceof OssError)) log.error({ err: caught }, 'local OSS request failed');
    response = errorResponse(error, requestId, hostId, (message.method ?? '').toUpperCase());
    await drain(message);
  }
  const origin = message.headers.origin;
  response.headers = { ...response.headers, ...corsResponseHeaders(services.corsAllowedOrigins, origin) };
  log.debug({ status: response.status }, 'local OSS request');
  await writeResponse(res, response, requestId, startedAt);
}
