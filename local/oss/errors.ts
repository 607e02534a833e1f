/**
 * OSS's errors: the status, code, message and EC (error-center code) OSS answers with, and the XML they travel in.
 * EC values come from OSS's troubleshooting pages (help.aliyun.com/…/<EC>) where one was found; the rest are
 * `UNKNOWN_EC` (see local/README.md).
 */
import { randomBytes } from 'node:crypto';
import { buildXml } from './xml.js';

export const UNKNOWN_EC = '0000-00000000';

export class OssError extends Error {
  override name = 'OssError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly ec: string = UNKNOWN_EC,
    /** Extra elements OSS puts in this error's XML (in order), e.g. StringToSign, Expires. */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** `x-oss-request-id`: 24 upper-case hex characters. */
export function newRequestId(): string {
  return randomBytes(12).toString('hex').toUpperCase();
}

export function errorXml(error: OssError, requestId: string, hostId: string): string {
  return buildXml({
    Error: {
      Code: error.code,
      Message: error.message,
      RequestId: requestId,
      HostId: hostId,
      ...error.details,
      EC: error.ec,
      RecommendDoc: `https://api.aliyun.com/troubleshoot?q=${error.ec}`,
    },
  });
}

export const invalidArgument = (message: string, ec = UNKNOWN_EC, details: Record<string, string> = {}) =>
  new OssError(400, 'InvalidArgument', message, ec, details);

export const accessDenied = (message: string, ec = UNKNOWN_EC, details: Record<string, string> = {}) =>
  new OssError(403, 'AccessDenied', message, ec, details);

export const noSuchBucket = (bucket: string) =>
  new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', '0015-00000101', {
    BucketName: bucket,
  });

export const noSuchKey = (key: string) =>
  new OssError(404, 'NoSuchKey', 'The specified key does not exist.', '0026-00000001', { Key: key });

export const noSuchUpload = (uploadId: string) =>
  new OssError(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    UNKNOWN_EC,
    { UploadId: uploadId },
  );

export const fileAlreadyExists = (ec: string) =>
  new OssError(
    409,
    'FileAlreadyExists',
    'The object you specified already exists and can not be overwritten.',
    ec,
  );

export const malformedXml = () =>
  new OssError(
    400,
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );

export const entityTooSmall = (ec = UNKNOWN_EC) =>
  new OssError(400, 'EntityTooSmall', 'Your proposed upload smaller than the minimum allowed size.', ec);

export const entityTooLarge = (ec = UNKNOWN_EC) =>
  new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.', ec);

export const notImplemented = (what: string) =>
  new OssError(501, 'NotImplemented', `The local OSS does not implement ${what}.`);
