/**
 * After an upload is stored: render the callback body from OSS's system variables and the custom ones, deliver it,
 * and shape the uploader's answer — the callback's JSON with 200, or 203 CallbackFailed (the object stays stored).
 */

import { type CallbackDelivery, deliverCallback } from './callback-deliver.js';
import type { CallbackRequest } from './callback-param.js';
import { renderCallbackBody } from './callback-render.js';
import type { OssServices } from './context.js';
import { errorXml, OssError } from './errors.js';
import { readImageInfo } from './image-info.js';
import type { ObjectRecord } from './object-store.js';
import type { OssResponse } from './response.js';

export interface StoredUpload {
  bucket: string;
  record: ObjectRecord;
  dataPath: string;
  operation: 'PutObject' | 'PostObject' | 'CompleteMultipartUpload';
  requestId: string;
  clientIp: string;
}

export async function callbackVariables(
  upload: StoredUpload,
  template: string,
  custom: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const { record } = upload;
  // Reading image metadata costs a decode of the header; only do it when the template asks for it.
  const image = template.includes('${imageInfo.') ? await readImageInfo(upload.dataPath) : undefined;
  return {
    ...custom,
    bucket: upload.bucket,
    object: record.key,
    etag: record.etag,
    size: String(record.size),
    mimeType: record.contentType,
    'imageInfo.height': image ? String(image.height) : '',
    'imageInfo.width': image ? String(image.width) : '',
    'imageInfo.format': image?.format ?? '',
    crc64: record.crc64,
    contentMd5: upload.operation === 'CompleteMultipartUpload' ? '' : (record.contentMd5 ?? ''),
    vpcId: '',
    clientIp: upload.clientIp,
    reqId: upload.requestId,
    operation: upload.operation,
  };
}

/** Run the callback and build the answer; `resultHeaders` are the upload's own (ETag, CRC-64…). */
export async function answerWithCallback(
  upload: StoredUpload,
  callback: CallbackRequest,
  delivery: Omit<CallbackDelivery, 'bucket' | 'requestId'>,
  resultHeaders: Record<string, string>,
  hostId: string,
): Promise<OssResponse> {
  const variables = await callbackVariables(upload, callback.param.body, callback.vars);
  const body = Buffer.from(
    renderCallbackBody(callback.param.body, callback.param.bodyType, variables),
    'utf8',
  );
  const outcome = await deliverCallback(callback.param, body, {
    ...delivery,
    bucket: upload.bucket,
    requestId: upload.requestId,
  });
  if (outcome.ok) {
    return {
      status: 200,
      headers: { ...resultHeaders, 'content-type': 'application/json' },
      body: outcome.body,
    };
  }
  const error = new OssError(203, 'CallbackFailed', outcome.message, outcome.ec);
  return {
    status: 203,
    headers: { ...resultHeaders, 'content-type': 'application/xml', 'x-oss-ec': outcome.ec },
    body: Buffer.from(errorXml(error, upload.requestId, hostId), 'utf8'),
  };
}

/**
 * The common end of PutObject, PostObject and CompleteMultipartUpload once the object is committed: announce it to
 * ObjectCreated listeners, then answer — through the callback when there is one, else with `plain`.
 */
export async function finishUpload(
  upload: StoredUpload,
  services: OssServices,
  callback: CallbackRequest | undefined,
  plain: OssResponse,
  context: { requesterId: string; hostId: string },
): Promise<OssResponse> {
  services.events.emit({
    eventName: `ObjectCreated:${upload.operation}`,
    bucket: upload.bucket,
    key: upload.record.key,
    etag: upload.record.etag,
    size: upload.record.size,
    eventTime: upload.record.lastModified,
    requestId: upload.requestId,
    sourceIp: upload.clientIp,
  });
  if (!callback) return plain;
  return answerWithCallback(
    upload,
    callback,
    {
      privateKey: services.callbackKey.privateKey,
      publicKeyUrl: services.publicKeyUrl,
      ownerId: services.account.accountId,
      requesterId: context.requesterId,
      timeoutMs: services.callbackTimeoutMs,
    },
    plain.headers,
    context.hostId,
  );
}
