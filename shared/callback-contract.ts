/**
 * The callback upcall asks OSS for: one template, one body type, one set of variables, and the parser for what OSS
 * renders from them. Everything that builds or reads a callback goes through this module.
 *
 * Form mode (`application/x-www-form-urlencoded`) is deliberate: OSS percent-encodes every value there, and empty
 * values (imageInfo.* for non-images) stay harmless. In JSON mode escaping is undocumented and a bare numeric
 * variable that renders as nothing makes the body invalid JSON.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { MediaPlan } from './media-job.js';
import { compileSchema, formatIssues } from './schema.js';

export const CALLBACK_BODY_TYPE = 'application/x-www-form-urlencoded';

/** The custom variable (`callback-var`) that carries the upload ticket. OSS wants `x:` and lower case. */
export const TICKET_VARIABLE = 'x:ticket';

/**
 * The same ticket as the object's own user metadata. The callback variable reaches only the callback; this travels
 * with the object, so every path (the callback, the OSS trigger, a retry) judges the object by HeadObject alone.
 * `TICKET_METADATA` is the name without `x-oss-meta-` (ali-oss `meta`, Android `addUserMetadata`).
 */
export const TICKET_METADATA = 'upcall-ticket';
export const TICKET_METADATA_HEADER = `x-oss-meta-${TICKET_METADATA}`;

/** Form field name → the OSS variable rendered into it. The order is the order of the rendered body. */
export const CALLBACK_FIELDS = {
  bucket: 'bucket',
  object: 'object',
  etag: 'etag',
  size: 'size',
  mimeType: 'mimeType',
  imageWidth: 'imageInfo.width',
  imageHeight: 'imageInfo.height',
  imageFormat: 'imageInfo.format',
  crc64: 'crc64',
  operation: 'operation',
  reqId: 'reqId',
  clientIp: 'clientIp',
  ticket: TICKET_VARIABLE,
} as const;

export const CALLBACK_BODY_TEMPLATE = Object.entries(CALLBACK_FIELDS)
  .map(([field, variable]) => `${field}=\${${variable}}`)
  .join('&');

const digits = (maxLength: number) => Type.String({ pattern: `^(0|[1-9][0-9]{0,${maxLength - 1}})$` });
const optionalDigits = Type.String({ pattern: '^([1-9][0-9]{0,5})?$' });

/** The form fields exactly as OSS renders them, before any conversion. */
export const CallbackFormSchema = Type.Object(
  {
    bucket: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$' }),
    object: Type.String({ minLength: 1, maxLength: 1023 }),
    // 32 upper-case hex digits; CompleteMultipartUpload adds `-<part count>`.
    etag: Type.String({ pattern: '^[0-9A-F]{32}(-[1-9][0-9]{0,4})?$' }),
    size: digits(16),
    mimeType: Type.String({ pattern: '^[\\w.+-]+/[\\w.+-]+$', maxLength: 255 }),
    imageWidth: optionalDigits,
    imageHeight: optionalDigits,
    imageFormat: Type.String({ pattern: '^[a-z0-9]{0,16}$' }),
    // A uint64 that may exceed 2^53: kept as a string.
    crc64: digits(20),
    operation: Type.Union([
      Type.Literal('PutObject'),
      Type.Literal('PostObject'),
      Type.Literal('CompleteMultipartUpload'),
    ]),
    reqId: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }),
    clientIp: Type.String({ pattern: '^[0-9A-Fa-f:.]{0,45}$' }),
    // Empty when the uploader dropped the variable: the ticket check reports that, not the schema.
    ticket: Type.String({ pattern: '^[A-Za-z0-9._-]{0,2048}$' }),
  },
  { additionalProperties: false },
);
export type CallbackForm = Static<typeof CallbackFormSchema>;

/**
 * Tags upcall puts on uploads (the uploader's session policy grants no tagging, so only upcall writes them).
 * `rejected` + a reason: the object's verdict refused it (shared/upload-verdict.ts; the object is kept, a lifecycle
 * rule may expire it). With an upload hook configured, an upload the application let through is tagged `accepted`,
 * which a trigger-path media job waits for instead of the whole callback window.
 */
export const UPLOAD_STATUS_TAG = 'upcall-status';
/** The status of a refused upload, which the bucket's lifecycle rule expires (deploy/oss/lifecycle.xml). */
export const UPLOAD_STATUS_REJECTED = 'rejected';
export const UPLOAD_REASON_TAG = 'upcall-reason';

/** The tags of a refused upload: whichever path (callback, trigger, the application's veto) refuses it tags it so. */
export const rejectedTags = (reason: string): Record<string, string> => ({
  [UPLOAD_STATUS_TAG]: UPLOAD_STATUS_REJECTED,
  [UPLOAD_REASON_TAG]: reason,
});

/** The custom variables upcall sends with every upload. */
export const CallbackVarsSchema = Type.Object(
  { [TICKET_VARIABLE]: Type.String({ minLength: 1, maxLength: 2048 }) },
  { additionalProperties: false },
);
export type CallbackVars = Static<typeof CallbackVarsSchema>;

/** What an upload callback says happened, typed. Every value is still only the uploader's claim. */
export interface UploadNotice {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  contentType: string;
  image: { width: number; height: number; format: string } | null;
  crc64: string;
  operation: CallbackForm['operation'];
  ossRequestId: string;
  clientIp: string;
  ticket: string;
}

export type ParsedCallback =
  | { ok: true; notice: UploadNotice }
  | { ok: false; code: 'MalformedCallbackBody' | 'InvalidCallbackBody'; message: string };

const formValidator = compileSchema(CallbackFormSchema);
const varsValidator = compileSchema(CallbackVarsSchema);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * An `application/x-www-form-urlencoded` body's fields in order, as URLSearchParams reads them. Written out because
 * URLSearchParams was the largest share of a callback's parsing (BENCHMARKS.md): most fields carry no escape at all,
 * and a field whose escapes do not decode as UTF-8 is left to URLSearchParams, so the result is always its own.
 */
export function formFields(text: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start) {
      let equals = text.indexOf('=', start);
      if (equals === -1 || equals > end) equals = end;
      const name = text.slice(start, equals);
      const value = equals === end ? '' : text.slice(equals + 1, end);
      fields.push([formDecode(name, text, start, end, 0), formDecode(value, text, start, end, 1)]);
    }
    start = end + 1;
  }
  return fields;
}

function formDecode(component: string, text: string, start: number, end: number, which: 0 | 1): string {
  if (!component.includes('%') && !component.includes('+')) return component;
  try {
    return decodeURIComponent(component.replaceAll('+', ' '));
  } catch {
    // A malformed escape stays as written and invalid UTF-8 becomes U+FFFD: URLSearchParams's reading.
    return [...new URLSearchParams(text.slice(start, end))][0]?.[which] ?? '';
  }
}

/** Parse and validate a rendered callback body (raw bytes as OSS sent them). */
export function parseCallbackBody(body: Uint8Array): ParsedCallback {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, code: 'MalformedCallbackBody', message: 'callback body is not valid UTF-8' };
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of formFields(text)) {
    // A template may repeat a field to smuggle a second value past a first-wins or last-wins reader.
    if (Object.hasOwn(fields, name)) {
      return {
        ok: false,
        code: 'MalformedCallbackBody',
        message: `callback body repeats the field '${name}'`,
      };
    }
    fields[name] = value;
  }
  const checked = formValidator.validate(fields);
  if (!checked.ok) return { ok: false, code: 'InvalidCallbackBody', message: formatIssues(checked.issues) };
  const form = checked.value;
  const hasImage = form.imageWidth !== '' && form.imageHeight !== '';
  return {
    ok: true,
    notice: {
      bucket: form.bucket,
      key: form.object,
      etag: form.etag,
      size: Number(form.size),
      contentType: form.mimeType,
      image: hasImage
        ? { width: Number(form.imageWidth), height: Number(form.imageHeight), format: form.imageFormat }
        : null,
      crc64: form.crc64,
      operation: form.operation,
      ossRequestId: form.reqId,
      clientIp: form.clientIp,
      ticket: form.ticket,
    },
  };
}

/** The callback parameter OSS expects (before base64), as every client shape needs it. */
export interface CallbackParam {
  callbackUrl: string;
  callbackHost?: string;
  callbackBody: string;
  callbackBodyType: typeof CALLBACK_BODY_TYPE;
}

/** Build the callback parameter for a callback URL. The URL carries no query: FC cannot verify one faithfully. */
export function buildCallbackParam(callbackUrl: string, callbackHost?: string): CallbackParam {
  const url = new URL(callbackUrl);
  if (url.search !== '' || url.hash !== '') {
    throw new Error('callback URL must have no query or fragment (FC gives no raw query to verify against)');
  }
  return {
    callbackUrl,
    ...(callbackHost ? { callbackHost } : {}),
    callbackBody: CALLBACK_BODY_TEMPLATE,
    callbackBodyType: CALLBACK_BODY_TYPE,
  };
}

export function buildCallbackVars(ticket: string): CallbackVars {
  const vars = { [TICKET_VARIABLE]: ticket };
  const checked = varsValidator.validate(vars);
  if (!checked.ok) throw new Error(`callback variables invalid: ${formatIssues(checked.issues)}`);
  return checked.value;
}

/** Base64 of the JSON, as the `x-oss-callback` / `x-oss-callback-var` headers and the `callback` form field carry it. */
export function encodeCallbackHeader(value: CallbackParam | CallbackVars): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

const PlannedOutputSchema = Type.Object({
  role: Type.Union([Type.Literal('thumbnail'), Type.Literal('transcode'), Type.Literal('poster')]),
  key: Type.String(),
  contentType: Type.String(),
});

/**
 * The uploaded object: etag, size and content type as OSS's HeadObject gave them. `claimedImage` is OSS's imageInfo
 * as rendered into the callback body, which the uploader wrote: a claim, passed on unchecked (the media manifest has
 * the dimensions the media function measured).
 */
export const UploadedObjectSchema = Type.Object({
  bucket: Type.String(),
  key: Type.String(),
  etag: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  contentType: Type.String(),
  claimedImage: Type.Union([
    Type.Object({ width: Type.Integer(), height: Type.Integer(), format: Type.String() }),
    Type.Null(),
  ]),
});

/** A media job queued for the upload: where its outputs and manifest will appear. */
export const PlannedJobSchema = Type.Object({
  kind: Type.Union([Type.Literal('image'), Type.Literal('video')]),
  taskId: Type.String(),
  manifestKey: Type.String(),
  outputs: Type.Array(PlannedOutputSchema),
});
export type PlannedJob = Static<typeof PlannedJobSchema>;

/** The jobs an upload's plan queues, as the callback answers them and `upload.completed` announces them. */
export function plannedJobs(plan: MediaPlan | null): PlannedJob[] {
  if (!plan) return [];
  const outputs = plan.outputs.map(({ role, key, contentType }) => ({ role, key, contentType }));
  return [{ kind: plan.kind, taskId: plan.taskId, manifestKey: plan.manifestKey, outputs }];
}

/** What the callback function answers (OSS passes it through to the uploader, e.g. ali-oss `result.data`). */
export const CallbackAnswerSchema = Type.Object(
  {
    status: Type.Literal('accepted'),
    object: UploadedObjectSchema,
    userId: Type.String(),
    jobs: Type.Array(PlannedJobSchema),
    /**
     * Only with an upload hook (`UPCALL_UPLOAD_HOOK_URL`): the application's JSON answer to `upload.completed` (`{}`
     * when it answered without a JSON object), or null when it could not be reached in time and the upload was
     * accepted anyway (it is told later). Namespaced so the application can never overwrite upcall's fields.
     */
    app: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
  },
  { additionalProperties: false },
);
export type CallbackAnswer = Static<typeof CallbackAnswerSchema>;
