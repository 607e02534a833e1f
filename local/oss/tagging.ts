/** Put/Get/DeleteObjectTagging: up to 10 tags, keys ≤ 128 and values ≤ 256 characters. */
import type { OssRequest, OssServices } from './context.js';
import { malformedXml, noSuchKey, OssError } from './errors.js';
import { readSmallBody } from './request-body.js';
import { type OssResponse, xmlResponse } from './response.js';
import { asList, parseXml } from './xml.js';

const invalidTag = (message: string) => new OssError(400, 'InvalidTag', message);

export function parseTagging(xml: string): Record<string, string> {
  const document = parseXml(xml);
  const tagging = document?.Tagging as { TagSet?: { Tag?: unknown } | string } | undefined;
  if (!tagging || typeof tagging !== 'object') throw malformedXml();
  const tagSet = typeof tagging.TagSet === 'object' ? tagging.TagSet : {};
  const tags: Record<string, string> = {};
  for (const tag of asList(tagSet.Tag)) {
    const { Key, Value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof Key !== 'string' || Key === '') throw malformedXml();
    const value = typeof Value === 'string' ? Value : '';
    if (Key.length > 128) throw invalidTag(`The tag key is longer than 128 characters: ${Key}`);
    if (value.length > 256) throw invalidTag(`The value of tag ${Key} is longer than 256 characters.`);
    if (Object.hasOwn(tags, Key)) throw invalidTag(`The tag key ${Key} is repeated.`);
    tags[Key] = value;
  }
  if (Object.keys(tags).length > 10) throw invalidTag('An object can have at most 10 tags.');
  return tags;
}

export async function putObjectTagging(request: OssRequest, services: OssServices): Promise<OssResponse> {
  if (!services.store.get(request.bucket, request.key)) throw noSuchKey(request.key);
  const tags = parseTagging((await readSmallBody(request.body, 64 * 1024)).toString('utf8'));
  if (!services.store.updateTags(request.bucket, request.key, tags)) throw noSuchKey(request.key);
  return { status: 200, headers: {} };
}

export async function getObjectTagging(request: OssRequest, services: OssServices): Promise<OssResponse> {
  const record = services.store.get(request.bucket, request.key);
  if (!record) throw noSuchKey(request.key);
  const tags = Object.entries(record.tags).map(([Key, Value]) => ({ Key, Value }));
  return xmlResponse(200, { Tagging: { TagSet: tags.length === 0 ? '' : { Tag: tags } } });
}

export async function deleteObjectTagging(request: OssRequest, services: OssServices): Promise<OssResponse> {
  if (!services.store.updateTags(request.bucket, request.key, {})) throw noSuchKey(request.key);
  return { status: 204, headers: {} };
}
