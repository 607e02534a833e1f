/**
 * The token function's JSON API (POST), shared with its clients (the upload CLI, the browser demo): what they may
 * ask for and everything they get back to upload straight to OSS with the callback attached.
 */
import { type Static, Type } from '@sinclair/typebox';
import { CALLBACK_BODY_TYPE, TICKET_VARIABLE } from './callback-contract.js';

const CONTENT_TYPE = '^[\\w.+-]+/[\\w.+-]+$';
/** STS's Expiration format; the mobile SDKs cannot parse milliseconds. */
export const STS_EXPIRATION_PATTERN = '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$';

/** POST body. Every field is optional; an empty body (or `{}`) asks for plain credentials. */
export const TokenRequestSchema = Type.Object(
  {
    /** The content type the upload will have (no parameters); must be allowed. Required with `form`. */
    contentType: Type.Optional(Type.String({ pattern: CONTENT_TYPE, maxLength: 255 })),
    /** Upper bound of the upload's size in bytes; must be within the maximum, and narrows the grant to it. */
    size: Type.Optional(Type.Integer({ minimum: 0 })),
    /** The file's name, used in the form's suggested key. */
    fileName: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    /** Also return a signed PostObject form (browsers). */
    form: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type TokenRequest = Static<typeof TokenRequestSchema>;

const CallbackParamSchema = Type.Object(
  {
    callbackUrl: Type.String(),
    callbackHost: Type.Optional(Type.String()),
    callbackBody: Type.String(),
    callbackBodyType: Type.Literal(CALLBACK_BODY_TYPE),
  },
  { additionalProperties: false },
);

/** POST answer (200). */
export const TokenResponseSchema = Type.Object(
  {
    credentials: Type.Object(
      {
        accessKeyId: Type.String({ minLength: 1 }),
        accessKeySecret: Type.String({ minLength: 1 }),
        securityToken: Type.String({ minLength: 1 }),
        /** As STS gave it, e.g. `2026-11-21T09:00:00Z`. */
        expiration: Type.String({ pattern: STS_EXPIRATION_PATTERN }),
      },
      { additionalProperties: false },
    ),
    bucket: Type.String(),
    /** Region id without `oss-` (ali-oss wants `oss-<region>`). */
    region: Type.String(),
    /** The OSS endpoint to upload to, e.g. `https://oss-cn-hangzhou.aliyuncs.com`. */
    endpoint: Type.String(),
    /** Every key must start with it; the credentials allow nothing else. */
    keyPrefix: Type.String({ minLength: 1 }),
    limits: Type.Object(
      {
        maxBytes: Type.Integer({ minimum: 0 }),
        contentTypes: Type.Array(Type.String(), { minItems: 1 }),
      },
      { additionalProperties: false },
    ),
    /** The callback, in every shape a client needs. */
    callback: Type.Object(
      {
        /** REST PutObject / CompleteMultipartUpload headers (base64 JSON). */
        headers: Type.Object(
          { 'x-oss-callback': Type.String(), 'x-oss-callback-var': Type.String() },
          { additionalProperties: false },
        ),
        /** ali-oss's `callback` option for put / multipartUpload (`customValue` keys get `x:` added by ali-oss). */
        aliOss: Type.Object(
          {
            url: Type.String(),
            host: Type.Optional(Type.String()),
            body: Type.String(),
            contentType: Type.Literal(CALLBACK_BODY_TYPE),
            customValue: Type.Record(Type.String(), Type.String()),
          },
          { additionalProperties: false },
        ),
        /** The mobile SDKs' `callbackParam` map. */
        callbackParam: CallbackParamSchema,
        /** The mobile SDKs' `callbackVars` (Android) / `callbackVar` (iOS) map; keys start with `x:`. */
        callbackVars: Type.Object({ [TICKET_VARIABLE]: Type.String() }, { additionalProperties: false }),
      },
      { additionalProperties: false },
    ),
    /** Present when the request asked for `form`: POST `fields` then the `file` to `url` (multipart/form-data). */
    form: Type.Optional(
      Type.Object(
        {
          url: Type.String(),
          fields: Type.Record(Type.String(), Type.String()),
          expiration: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TokenResponse = Static<typeof TokenResponseSchema>;
