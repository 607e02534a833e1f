/**
 * The token function's JSON API (POST), shared with its clients (the client library, the upload CLI, the browser
 * demo): what they may ask for and everything they get back to upload straight to OSS with the callback attached.
 *
 * One endpoint, four kinds of grant chosen by `grant` (STS allows 100 AssumeRole calls per second per account, so
 * only `credentials` costs one; the others are signed with the token function's own role credentials):
 * - `credentials`: STS credentials limited to the user's prefix (ali-oss, the stock mobile providers — which use GET);
 * - `form`: a signed PostObject (V4) form for browsers;
 * - `put`: a presigned PUT URL, the callback and the ticket inside the signature;
 * - `multipart`: a started multipart upload; part URLs come in batches (`multipart-parts`), and the Complete request
 *   with the callback attached is signed last (`multipart-complete`). Both follow-ups authenticate the user again
 *   and may only name a key under that user's prefix.
 */
import { type Static, type TProperties, Type } from '@sinclair/typebox';
import { CALLBACK_BODY_TYPE, TICKET_METADATA_HEADER, TICKET_VARIABLE } from './callback-contract.js';

/** An object schema that allows no other properties: every body and answer of the API is closed. */
const closedObject = <T extends TProperties>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });
/** A request or answer of one `grant` kind. */
const grantObject = <K extends string, T extends TProperties>(grant: K, properties: T) =>
  closedObject({ grant: Type.Literal(grant), ...properties });

const CONTENT_TYPE = '^[\\w.+-]+/[\\w.+-]+$';
/** STS's Expiration format; the mobile SDKs cannot parse milliseconds. */
export const STS_EXPIRATION_PATTERN = '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$';

export const GRANT_KINDS = ['credentials', 'form', 'put', 'multipart'] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];

/** POST body for a new upload. Every field is optional; an empty body (or `{}`) asks for plain credentials. */
export const TokenRequestSchema = closedObject({
  /** Which grant; `credentials` by default. */
  grant: Type.Optional(Type.Union(GRANT_KINDS.map((kind) => Type.Literal(kind)))),
  /** The content type the upload will have (no parameters); must be allowed. Required for form, put, multipart. */
  contentType: Type.Optional(Type.String({ pattern: CONTENT_TYPE, maxLength: 255 })),
  /** Upper bound of the upload's size in bytes; must be within the maximum, and narrows the grant to it. */
  size: Type.Optional(Type.Integer({ minimum: 0 })),
  /** The file's name, used in the object key the grant suggests (form) or fixes (put, multipart). */
  fileName: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});
export type TokenRequest = Static<typeof TokenRequestSchema>;

/** Largest batch of part URLs one `multipart-parts` request may ask for. */
export const MAX_PART_URLS_PER_REQUEST = 100;
/** OSS's limit on parts per multipart upload. */
export const MAX_PART_NUMBER = 10_000;

const MultipartTargetFields = {
  /** The key and upload id the `multipart` grant answered. */
  key: Type.String({ minLength: 1, maxLength: 1023 }),
  uploadId: Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9._~-]+$' }),
};

/** POST body: presigned URLs for a batch of parts of a started multipart upload (also to resume one). */
export const MultipartPartsRequestSchema = grantObject('multipart-parts', {
  ...MultipartTargetFields,
  partNumbers: Type.Array(Type.Integer({ minimum: 1, maximum: MAX_PART_NUMBER }), {
    minItems: 1,
    maxItems: MAX_PART_URLS_PER_REQUEST,
    uniqueItems: true,
  }),
});
export type MultipartPartsRequest = Static<typeof MultipartPartsRequestSchema>;

/** POST body: the presigned CompleteMultipartUpload request, the callback inside its signature. */
export const MultipartCompleteRequestSchema = grantObject('multipart-complete', {
  ...MultipartTargetFields,
  /** The ticket the `multipart` grant answered (the upload's metadata carries the same one). */
  ticket: Type.String({ minLength: 1, maxLength: 4096 }),
});
export type MultipartCompleteRequest = Static<typeof MultipartCompleteRequestSchema>;

/** Every POST body the token function accepts, told apart by `grant`. */
export type TokenApiRequest = TokenRequest | MultipartPartsRequest | MultipartCompleteRequest;

const CallbackParamSchema = closedObject({
  callbackUrl: Type.String(),
  callbackHost: Type.Optional(Type.String()),
  callbackBody: Type.String(),
  callbackBodyType: Type.Literal(CALLBACK_BODY_TYPE),
});

/** A presigned request: send `method` to `url` with exactly `headers` (they are part of the signature). */
export const SignedRequestSchema = closedObject({
  method: Type.Union([Type.Literal('PUT'), Type.Literal('POST'), Type.Literal('GET')]),
  url: Type.String(),
  headers: Type.Record(Type.String(), Type.String()),
  /** When the signature stops being accepted (ISO 8601). */
  expiration: Type.String(),
});
export type SignedRequest = Static<typeof SignedRequestSchema>;

/** What every grant says about the upload it allows. */
const UploadTargetFields = {
  bucket: Type.String(),
  /** Region id without `oss-` (ali-oss wants `oss-<region>`). */
  region: Type.String(),
  /** The OSS endpoint to upload to, e.g. `https://oss-cn-hangzhou.aliyuncs.com`. */
  endpoint: Type.String(),
  /** Every key must start with it; the grant allows nothing else. */
  keyPrefix: Type.String({ minLength: 1 }),
  limits: closedObject({
    maxBytes: Type.Integer({ minimum: 0 }),
    contentTypes: Type.Array(Type.String(), { minItems: 1 }),
  }),
};

/** `grant: 'credentials'` (and the default) answer (200). */
export const TokenResponseSchema = grantObject('credentials', {
  credentials: closedObject({
    accessKeyId: Type.String({ minLength: 1 }),
    accessKeySecret: Type.String({ minLength: 1 }),
    securityToken: Type.String({ minLength: 1 }),
    /** As STS gave it, e.g. `2026-11-21T09:00:00Z`. */
    expiration: Type.String({ pattern: STS_EXPIRATION_PATTERN }),
  }),
  ...UploadTargetFields,
  /** The callback, in every shape a client needs. */
  callback: closedObject({
    /** REST PutObject / CompleteMultipartUpload headers (base64 JSON). */
    headers: closedObject({ 'x-oss-callback': Type.String(), 'x-oss-callback-var': Type.String() }),
    /** ali-oss's `callback` option for put / multipartUpload (`customValue` keys get `x:` added by ali-oss). */
    aliOss: closedObject({
      url: Type.String(),
      host: Type.Optional(Type.String()),
      body: Type.String(),
      contentType: Type.Literal(CALLBACK_BODY_TYPE),
      customValue: Type.Record(Type.String(), Type.String()),
    }),
    /** The mobile SDKs' `callbackParam` map. */
    callbackParam: CallbackParamSchema,
    /** The mobile SDKs' `callbackVars` (Android) / `callbackVar` (iOS) map; keys start with `x:`. */
    callbackVars: closedObject({ [TICKET_VARIABLE]: Type.String() }),
  }),
  /**
   * Headers EVERY upload made with these credentials must send: the upload ticket as object metadata
   * (`x-oss-meta-upcall-ticket`). An object without a valid ticket in its own metadata is refused on every path —
   * the callback and the OSS trigger alike — and never processed. Send them on PutObject and
   * InitiateMultipartUpload (ali-oss: the `headers` option of `put` / `multipartUpload`; iOS: `objectMeta`;
   * Android: `ObjectMetadata.addUserMetadata` with the name after `x-oss-meta-`).
   */
  uploadHeaders: closedObject({ [TICKET_METADATA_HEADER]: Type.String() }),
});
export type TokenResponse = Static<typeof TokenResponseSchema>;

/** `grant: 'form'` answer: POST `fields` then the `file` to `url` (multipart/form-data). No AssumeRole. */
export const FormGrantSchema = grantObject('form', {
  ...UploadTargetFields,
  form: closedObject({
    url: Type.String(),
    /** In order; the file goes last, in a `file` field. `key` may be changed within `keyPrefix`. */
    fields: Type.Record(Type.String(), Type.String()),
    expiration: Type.String(),
  }),
});
export type FormGrant = Static<typeof FormGrantSchema>;

/** `grant: 'put'` answer: send the file as the body of `put`. No AssumeRole. */
export const PutGrantSchema = grantObject('put', {
  ...UploadTargetFields,
  key: Type.String(),
  put: SignedRequestSchema,
});
export type PutGrant = Static<typeof PutGrantSchema>;

/** `grant: 'multipart'` answer: the upload is started; ask for part URLs, then for the Complete. No AssumeRole. */
export const MultipartGrantSchema = grantObject('multipart', {
  ...UploadTargetFields,
  key: Type.String(),
  uploadId: Type.String(),
  /** Send it back with `multipart-complete`. */
  ticket: Type.String(),
  /** Recommended part size in bytes (every part but the last must be at least 100 KB). */
  partSize: Type.Integer({ minimum: 1 }),
  /** At most this many parts (OSS allows 10,000). */
  maxParts: Type.Integer({ minimum: 1, maximum: MAX_PART_NUMBER }),
});
export type MultipartGrant = Static<typeof MultipartGrantSchema>;

/** `grant: 'multipart-parts'` answer: each part's PUT (body = the part's bytes; keep each answer's ETag). */
export const MultipartPartsGrantSchema = grantObject('multipart-parts', {
  key: Type.String(),
  uploadId: Type.String(),
  parts: Type.Array(closedObject({ partNumber: Type.Integer({ minimum: 1 }), put: SignedRequestSchema })),
  /** ListParts, to learn which parts OSS already has when resuming. */
  listParts: SignedRequestSchema,
});
export type MultipartPartsGrant = Static<typeof MultipartPartsGrantSchema>;

/**
 * `grant: 'multipart-complete'` answer: POST the CompleteMultipartUpload XML body to `complete`; the answer is the
 * callback's, as for a PutObject.
 */
export const MultipartCompleteGrantSchema = grantObject('multipart-complete', {
  key: Type.String(),
  uploadId: Type.String(),
  complete: SignedRequestSchema,
});
export type MultipartCompleteGrant = Static<typeof MultipartCompleteGrantSchema>;

/** Every 200 answer of the JSON API. */
export type TokenApiResponse =
  | TokenResponse
  | FormGrant
  | PutGrant
  | MultipartGrant
  | MultipartPartsGrant
  | MultipartCompleteGrant;
