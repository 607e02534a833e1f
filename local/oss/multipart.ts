/**
 * Multipart upload: Initiate, UploadPart, Complete (ETag = MD5 of the parts' binary MD5s + `-<count>`, every part
 * but the last ≥ 100 KB), Abort and ListParts.
 */
import { createHash } from 'node:crypto';
import { callbackFromRequest } from './callback-param.js';
import { type OssRequest, type OssServices, requesterId } from './context.js';
import { entityTooSmall, invalidArgument, malformedXml, noSuchUpload, OssError } from './errors.js';
import { quotedEtag, uploadResultHeaders } from './object-headers.js';
import { queryValue } from './query.js';
import { readSmallBody } from './request-body.js';
import { type OssResponse, xmlResponse } from './response.js';
import { discardStaged, stageFiles, stageStream } from './staging.js';
import { finishUpload } from './upload-callback.js';
import type { PartRecord, UploadRecord } from './upload-store.js';
import { describedObject, forbidsOverwrite } from './write-object.js';
import { asList, parseXml } from './xml.js';

const MIN_PART_BYTES = 100 * 1024;
const MAX_PART_NUMBER = 10_000;

function findUpload(request: OssRequest, services: OssServices): UploadRecord {
  const uploadId = queryValue(request.query, 'uploadId') ?? '';
  const upload = services.uploads.get(request.bucket, uploadId);
  if (!upload || upload.key !== request.key) throw noSuchUpload(uploadId);
  return upload;
}

export async function initiateMultipartUpload(
  request: OssRequest,
  services: OssServices,
): Promise<OssResponse> {
  if (forbidsOverwrite(request.headers) && services.store.get(request.bucket, request.key)) {
    throw new OssError(
      409,
      'FileAlreadyExists',
      'The object you specified already exists and can not be overwritten.',
      '0042-00000214',
    );
  }
  const { key, ...object } = describedObject(request.key, request.headers);
  const upload = services.uploads.create(request.bucket, key, object);
  return xmlResponse(200, {
    InitiateMultipartUploadResult: { Bucket: request.bucket, Key: request.key, UploadId: upload.uploadId },
  });
}

export async function uploadPart(request: OssRequest, services: OssServices): Promise<OssResponse> {
  const partNumber = Number(queryValue(request.query, 'partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw invalidArgument(`Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive.`);
  }
  const upload = findUpload(request, services);
  const staged = await stageStream(services.store.tmpDir, request.body);
  const contentMd5 = staged.md5.toString('base64');
  const expectedMd5 = request.headers['content-md5'];
  let part: PartRecord;
  try {
    if (expectedMd5 !== undefined && expectedMd5 !== contentMd5) {
      throw new OssError(
        400,
        'InvalidDigest',
        'The Content-MD5 you specified did not match what we received.',
      );
    }
    // Aborted or completed while the part was arriving.
    if (!services.uploads.get(request.bucket, upload.uploadId)) throw noSuchUpload(upload.uploadId);
    part = services.uploads.putPart(request.bucket, upload.uploadId, partNumber, staged);
  } catch (error) {
    discardStaged(staged);
    throw error;
  }
  return {
    status: 200,
    headers: { etag: quotedEtag(part.etag), 'content-md5': contentMd5, 'x-oss-hash-crc64ecma': part.crc64 },
  };
}

interface RequestedPart {
  partNumber: number;
  etag: string;
}

function parseCompleteBody(xml: string): RequestedPart[] {
  const root = parseXml(xml)?.CompleteMultipartUpload as { Part?: unknown } | undefined;
  if (!root || typeof root !== 'object') throw malformedXml();
  const parts = asList(root.Part).map((raw) => {
    const { PartNumber, ETag } = (raw ?? {}) as { PartNumber?: unknown; ETag?: unknown };
    const partNumber = Number(PartNumber);
    if (!Number.isInteger(partNumber) || typeof ETag !== 'string') throw malformedXml();
    return { partNumber, etag: ETag.replace(/"/g, '').toUpperCase() };
  });
  if (parts.length === 0) throw malformedXml();
  for (let i = 1; i < parts.length; i++) {
    if ((parts[i] as RequestedPart).partNumber <= (parts[i - 1] as RequestedPart).partNumber) {
      throw new OssError(
        400,
        'InvalidPartOrder',
        'The list of parts was not in ascending order. Parts list must specified in order by part number.',
      );
    }
  }
  return parts;
}

/** OSS's multipart ETag: MD5 over the concatenated binary MD5s of the parts, upper-case hex, `-<count>`. */
export function multipartEtag(partEtags: readonly string[]): string {
  const digest = createHash('md5');
  for (const etag of partEtags) digest.update(Buffer.from(etag, 'hex'));
  return `${digest.digest('hex').toUpperCase()}-${partEtags.length}`;
}

export async function completeMultipartUpload(
  request: OssRequest,
  services: OssServices,
): Promise<OssResponse> {
  const upload = findUpload(request, services);
  const callback = callbackFromRequest(
    request.headers,
    queryValue(request.query, 'callback'),
    queryValue(request.query, 'callback-var'),
  );
  const requested = parseCompleteBody((await readSmallBody(request.body, 2 * 1024 * 1024)).toString('utf8'));
  const uploaded = new Map(
    services.uploads.parts(request.bucket, upload.uploadId).map((p) => [p.partNumber, p]),
  );
  const parts = requested.map(({ partNumber, etag }) => {
    const part = uploaded.get(partNumber);
    if (!part || part.etag !== etag) {
      throw new OssError(
        400,
        'InvalidPart',
        "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
        undefined,
        { PartNumber: String(partNumber), ETag: etag },
      );
    }
    return part;
  });
  if (parts.slice(0, -1).some((part) => part.size < MIN_PART_BYTES)) throw entityTooSmall();
  const staged = await stageFiles(
    services.store.tmpDir,
    parts.map((part) => services.uploads.partPath(request.bucket, upload.uploadId, part.partNumber)),
  );
  let record: ReturnType<typeof services.store.commit>;
  try {
    record = services.store.commit(
      request.bucket,
      {
        ...upload.object,
        key: upload.key,
        etag: multipartEtag(parts.map((part) => part.etag)),
        lastModified: new Date().toISOString(),
        objectType: 'Multipart',
      },
      staged,
      forbidsOverwrite(request.headers) ? { ec: '0042-00000214' } : undefined,
    );
  } catch (error) {
    discardStaged(staged);
    throw error;
  }
  services.uploads.remove(request.bucket, upload.uploadId);
  const encodeUrl = queryValue(request.query, 'encoding-type') === 'url';
  const key = encodeUrl ? encodeURIComponent(record.key) : record.key;
  const plain = xmlResponse(
    200,
    {
      CompleteMultipartUploadResult: {
        ...(encodeUrl ? { EncodingType: 'url' } : {}),
        Location: `http://${request.bucket}.oss-${services.region}.aliyuncs.com/${encodeURIComponent(record.key)}`,
        Bucket: request.bucket,
        Key: key,
        ETag: quotedEtag(record.etag),
      },
    },
    uploadResultHeaders(record),
  );
  return finishUpload(
    {
      bucket: request.bucket,
      record,
      dataPath: services.store.dataPath(request.bucket, record),
      operation: 'CompleteMultipartUpload',
      requestId: request.requestId,
      clientIp: request.sourceIp,
    },
    services,
    callback,
    plain,
    { requesterId: requesterId(request, services), hostId: request.hostId },
  );
}

export async function abortMultipartUpload(request: OssRequest, services: OssServices): Promise<OssResponse> {
  const upload = findUpload(request, services);
  services.uploads.remove(request.bucket, upload.uploadId);
  return { status: 204, headers: {} };
}

export async function listParts(request: OssRequest, services: OssServices): Promise<OssResponse> {
  const upload = findUpload(request, services);
  const maxParts = Number(queryValue(request.query, 'max-parts') ?? 1000);
  const marker = Number(queryValue(request.query, 'part-number-marker') ?? 0);
  if (!Number.isInteger(maxParts) || maxParts < 1 || maxParts > 1000 || !Number.isInteger(marker)) {
    throw invalidArgument('max-parts must be 1…1000 and part-number-marker an integer.');
  }
  const after = services.uploads.parts(request.bucket, upload.uploadId).filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  return xmlResponse(200, {
    ListPartsResult: {
      Bucket: request.bucket,
      Key: upload.key,
      UploadId: upload.uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.at(-1)?.partNumber ?? marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      ...(page.length > 0
        ? {
            Part: page.map((part) => ({
              PartNumber: part.partNumber,
              LastModified: part.lastModified,
              ETag: quotedEtag(part.etag),
              HashCrc64ecma: part.crc64,
              Size: part.size,
            })),
          }
        : {}),
    },
  });
}
