/** Build callback requests exactly as OSS would send them, signed with a local key: for callback tests and benchmarks. */
import type { KeyObject } from 'node:crypto';
import {
  CALLBACK_BODY_TEMPLATE,
  CALLBACK_BODY_TYPE,
  TICKET_VARIABLE,
} from '../../shared/callback-contract.js';
import type { EdgeRequest } from '../../shared/http/edge.js';
import { renderCallbackBody } from './callback-render.js';
import { signCallback } from './callback-signing.js';

export interface UploadVariables {
  bucket: string;
  object: string;
  etag: string;
  size: string;
  mimeType: string;
  'imageInfo.width'?: string;
  'imageInfo.height'?: string;
  'imageInfo.format'?: string;
  crc64?: string;
  operation?: string;
  reqId?: string;
  clientIp?: string;
  ticket?: string;
}

export function signedCallbackRequest(
  key: KeyObject,
  keyUrl: string,
  variables: UploadVariables,
  options: { path?: string; template?: string } = {},
): EdgeRequest {
  const path = options.path ?? '/';
  const { ticket, ...system } = variables;
  const body = Buffer.from(
    renderCallbackBody(options.template ?? CALLBACK_BODY_TEMPLATE, CALLBACK_BODY_TYPE, {
      crc64: '1234567890123456789',
      operation: 'PutObject',
      reqId: '5C1B138A109F4E405B2D8A1B',
      clientIp: '127.0.0.1',
      ...system,
      [TICKET_VARIABLE]: ticket ?? '',
    }),
  );
  return {
    method: 'POST',
    path,
    query: '',
    headers: {
      authorization: signCallback(key, path, '', body),
      'x-oss-pub-key-url': Buffer.from(keyUrl).toString('base64'),
      'content-type': CALLBACK_BODY_TYPE,
    },
    body,
    requestId: 'test-request',
    sourceIp: '127.0.0.1',
  };
}
