/**
 * Which bucket and key a request addresses, as ali-oss sends them: virtual-hosted (`Host: <bucket>.oss-<region>
 * .aliyuncs.com` or `<bucket>.localhost`, path `/<key>`) or path-style (`/<bucket>/<key>` on any other host).
 */
import { invalidArgument, OssError } from './errors.js';

export interface Address {
  /** Undefined for a service-level request (`GET /` on the bare endpoint). */
  bucket: string | undefined;
  /** Decoded object key; '' for bucket-level requests. */
  key: string;
  /** Whether the bucket came from the Host header (virtual-hosted) or from the path. */
  style: 'virtual' | 'path';
  /** Region named by a virtual-hosted OSS endpoint host (`oss-cn-hangzhou` → `cn-hangzhou`), when there is one. */
  hostRegion?: string;
}

const VIRTUAL_HOST =
  /^([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.(?:oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com|localhost)(?::\d+)?$/;

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidArgument(`The request path is not correctly percent-encoded: ${raw}`);
  }
}

/** OSS's key rules: at most 1023 UTF-8 bytes, not starting with `/` or `\\`. */
export function checkObjectKey(key: string): string {
  if (key === '') return key;
  if (Buffer.byteLength(key, 'utf8') > 1023 || key.startsWith('/') || key.startsWith('\\')) {
    throw new OssError(400, 'InvalidObjectName', 'The specified object is not valid.');
  }
  return key;
}

export function resolveAddress(host: string | undefined, rawPath: string): Address {
  const virtual = VIRTUAL_HOST.exec((host ?? '').toLowerCase());
  if (virtual) {
    const [, bucket, region] = virtual as unknown as [string, string, string | undefined];
    const key = checkObjectKey(decodePath(rawPath.slice(1)));
    return { bucket, key, style: 'virtual', ...(region ? { hostRegion: region } : {}) };
  }
  const slash = rawPath.indexOf('/', 1);
  const bucketPart = slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash);
  if (bucketPart === '') return { bucket: undefined, key: '', style: 'path' };
  const key = slash === -1 ? '' : decodePath(rawPath.slice(slash + 1));
  return { bucket: decodePath(bucketPart), key: checkObjectKey(key), style: 'path' };
}
