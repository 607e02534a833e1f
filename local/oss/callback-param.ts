/**
 * The upload-callback request parameters, validated as OSS validates them before it stores anything: `callback`
 * (base64 JSON) and `callback-var` (base64 JSON map of strings); each problem is a 400 InvalidArgument.
 */
import type { CallbackBodyType } from './callback-render.js';
import { invalidArgument, UNKNOWN_EC } from './errors.js';

export interface CallbackParam {
  urls: URL[];
  host?: string;
  body: string;
  bodyType: CallbackBodyType;
}

/** Longest encoded `callback` or `callback-var` OSS accepts. */
const MAX_ENCODED_BYTES = 5 * 1024;
const MAX_URLS = 5;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BODY_TYPES: readonly CallbackBodyType[] = ['application/x-www-form-urlencoded', 'application/json'];

function decodeJson(encoded: string, what: string, base64Ec: string, jsonEc: string): unknown {
  if (Buffer.byteLength(encoded) > MAX_ENCODED_BYTES) {
    throw invalidArgument(`The ${what} is longer than ${MAX_ENCODED_BYTES} bytes.`);
  }
  if (!BASE64.test(encoded)) throw invalidArgument(`The ${what} is not base64 encoded.`, base64Ec);
  try {
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    throw invalidArgument(`The ${what} configuration is not json format.`, jsonEc);
  }
}

function parseUrls(value: unknown): URL[] {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidArgument('The callbackUrl is missing or empty.', '0007-00000004');
  }
  const parts = value
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length > MAX_URLS) {
    throw invalidArgument(`The callbackUrl has more than ${MAX_URLS} URLs.`, '0007-00000005');
  }
  return parts.map((part) => {
    let url: URL;
    try {
      url = new URL(/^https?:\/\//i.test(part) ? part : `http://${part}`);
    } catch {
      throw invalidArgument(`The callbackUrl is invalid: ${part}`, '0007-00000004');
    }
    if (url.hostname === '' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw invalidArgument(`The callbackUrl is invalid: ${part}`, '0007-00000004');
    }
    return url;
  });
}

export function parseCallbackParam(encoded: string): CallbackParam {
  const decoded = decodeJson(encoded, 'callback', '0007-00000002', '0007-00000003');
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw invalidArgument('The callback configuration is not json format.', '0007-00000003');
  }
  const { callbackUrl, callbackHost, callbackBody, callbackBodyType } = decoded as Record<string, unknown>;
  const urls = parseUrls(callbackUrl);
  if (typeof callbackBody !== 'string')
    throw invalidArgument('The callbackBody must be a string.', UNKNOWN_EC);
  if (callbackBody === '') throw invalidArgument('The callbackBody is empty.', UNKNOWN_EC);
  if (callbackBodyType !== undefined && typeof callbackBodyType !== 'string') {
    throw invalidArgument('The callbackBodyType must be a string.', '0007-00000012');
  }
  const bodyType = (callbackBodyType ?? 'application/x-www-form-urlencoded') as CallbackBodyType;
  if (!BODY_TYPES.includes(bodyType)) {
    throw invalidArgument(`The callbackBodyType is not supported: ${callbackBodyType}`, UNKNOWN_EC);
  }
  if (callbackHost !== undefined && typeof callbackHost !== 'string') {
    throw invalidArgument('The callbackHost must be a string.', UNKNOWN_EC);
  }
  return { urls, body: callbackBody, bodyType, ...(callbackHost ? { host: callbackHost } : {}) };
}

/** `callback-var`: a JSON map of string values (keys are `x:name`). */
export function parseCallbackVars(encoded: string | undefined): Record<string, string> {
  if (encoded === undefined) return {};
  const decoded = decodeJson(encoded, 'callback-var', '0007-00000102', '0007-00000103');
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw invalidArgument('The callback-var configuration is not json format.', '0007-00000103');
  }
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(decoded)) {
    if (typeof value !== 'string') {
      throw invalidArgument(`The callback-var value of ${name} is not a string.`, UNKNOWN_EC);
    }
    vars[name] = value;
  }
  return vars;
}

export interface CallbackRequest {
  param: CallbackParam;
  vars: Record<string, string>;
}

/**
 * The callback of a PutObject/CompleteMultipartUpload: header `x-oss-callback` or (presigned URL) query
 * `callback`, never both; its variables from `x-oss-callback-var` or query `callback-var`.
 */
export function callbackFromRequest(
  headers: Readonly<Record<string, string | undefined>>,
  queryCallback: string | undefined,
  queryVars: string | undefined,
): CallbackRequest | undefined {
  const header = headers['x-oss-callback'];
  if (header !== undefined && queryCallback !== undefined) {
    throw invalidArgument('The callback is given both in the URL and in a header.');
  }
  const encoded = header ?? queryCallback;
  if (encoded === undefined) return undefined;
  const param = parseCallbackParam(encoded);
  return { param, vars: parseCallbackVars(headers['x-oss-callback-var'] ?? queryVars) };
}
