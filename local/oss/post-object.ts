/**
 * PostObject: a browser form upload (multipart/form-data, `file` last). Its signature (V4 or V1) covers the base64
 * policy; the policy's conditions bind the other fields (key, callback, `x:` variables…). Fields after `file` are
 * ignored, as OSS ignores them.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { checkObjectKey } from './addressing.js';
import type { Principal } from './auth-input.js';
import { type CallbackRequest, parseCallbackParam } from './callback-param.js';
import type { OssServices } from './context.js';
import { invalidArgument, OssError } from './errors.js';
import { quotedEtag, uploadResultHeaders } from './object-headers.js';
import { authorize, requiredPermissions, tagsAtUpload as tagsAtUploadOf } from './permissions.js';
import { authenticatePost } from './post-auth.js';
import { checkPolicyFields, checkPolicyLength, type PostPolicy } from './post-policy.js';
import { type OssResponse, xmlResponse } from './response.js';
import { discardStaged, MAX_SINGLE_UPLOAD_BYTES, type StagedData, stageStream } from './staging.js';
import { finishUpload } from './upload-callback.js';
import { commitUpload, describedObject, forbidsOverwrite } from './write-object.js';

export interface PostContext {
  bucket: string;
  requestId: string;
  sourceIp: string;
  hostId: string;
  now: number;
}

interface PreparedPost {
  key: string;
  policy: PostPolicy | undefined;
  callback: CallbackRequest | undefined;
  principal: Principal;
}

function prepare(fields: Map<string, string>, filename: string, services: OssServices, context: PostContext) {
  const { principal, policy } = authenticatePost(fields, services, context.now);
  const rawKey = fields.get('key');
  if (rawKey === undefined || rawKey === '')
    throw invalidArgument("Bucket POST must contain a field named 'key'.");
  if (policy) checkPolicyFields(policy, new Map([...fields, ['bucket', context.bucket]]), context.now);
  const key = checkObjectKey(rawKey.replaceAll('${filename}', filename));
  const scope = { region: services.region, accountId: services.account.accountId };
  const tagsAtUpload = tagsAtUploadOf('PostObject', fields.get('x-oss-tagging'));
  authorize(principal, requiredPermissions(scope, 'PostObject', context.bucket, key, { tagsAtUpload }));
  const encodedCallback = fields.get('callback');
  let callback: CallbackRequest | undefined;
  if (encodedCallback !== undefined && encodedCallback !== '') {
    // PostObject's custom variables are its `x:` fields; it has no `callback-var` field (a form may carry one, as any
    // unknown field, and it means nothing).
    const custom = Object.fromEntries([...fields].filter(([name]) => name.startsWith('x:')));
    callback = { param: parseCallbackParam(encodedCallback), vars: custom };
  }
  return { key, policy, callback, principal } satisfies PreparedPost;
}

/** Parse the form, authenticate before the file is stored, stage the file; resolves once the body is consumed. */
function receiveForm(
  message: IncomingMessage,
  services: OssServices,
  context: PostContext,
): Promise<{ fields: Map<string, string>; prepared: PreparedPost; staged: StagedData }> {
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string>();
    let fileSeen = false;
    let failure: unknown;
    let pending: Promise<{ prepared: PreparedPost; staged: StagedData }> | undefined;
    let form: busboy.Busboy;
    try {
      form = busboy({
        headers: message.headers,
        limits: { files: 1, fileSize: MAX_SINGLE_UPLOAD_BYTES + 1 },
      });
    } catch {
      reject(
        new OssError(
          400,
          'MalformedPOSTRequest',
          'The body of your POST request is not well-formed multipart/form-data.',
        ),
      );
      return;
    }
    form.on('field', (name, value) => {
      if (!fileSeen) fields.set(name.toLowerCase(), value);
    });
    form.on('file', (name, stream: Readable, info) => {
      if (fileSeen || name.toLowerCase() !== 'file') {
        stream.resume();
        return;
      }
      fileSeen = true;
      let prepared: PreparedPost;
      try {
        prepared = prepare(fields, info.filename ?? '', services, context);
      } catch (error) {
        failure = error;
        stream.resume();
        return;
      }
      pending = stageStream(services.store.tmpDir, stream, MAX_SINGLE_UPLOAD_BYTES, '0006-00000003').then(
        (staged) => ({ prepared, staged }),
      );
      // The rejection is handled below, after the form is fully read.
      pending.catch(() => undefined);
    });
    form.on('error', () => {
      message.resume();
      reject(
        new OssError(
          400,
          'MalformedPOSTRequest',
          'The body of your POST request is not well-formed multipart/form-data.',
        ),
      );
    });
    form.on('close', () => {
      if (failure !== undefined) {
        pending?.then(
          ({ staged }) => discardStaged(staged),
          () => undefined,
        );
        reject(failure);
        return;
      }
      if (!pending) {
        reject(invalidArgument("Bucket POST must contain a field named 'file'."));
        return;
      }
      pending.then(({ prepared, staged }) => resolve({ fields, prepared, staged }), reject);
    });
    message.pipe(form);
  });
}

export async function postObject(
  message: IncomingMessage,
  services: OssServices,
  context: PostContext,
): Promise<OssResponse> {
  const { fields, prepared, staged } = await receiveForm(message, services, context);
  const { key, policy, callback, principal } = prepared;
  const formFields = Object.fromEntries(fields);
  let described: ReturnType<typeof describedObject>;
  try {
    if (policy) checkPolicyLength(policy, staged.size);
    described = describedObject(key, formFields);
  } catch (error) {
    discardStaged(staged);
    throw error;
  }
  const record = commitUpload(services, context.bucket, described, staged, forbidsOverwrite(formFields));
  const headers = uploadResultHeaders(record);
  const status = fields.get('success_action_status');
  const plain: OssResponse =
    status === '200'
      ? { status: 200, headers }
      : status === '201'
        ? xmlResponse(
            201,
            {
              PostResponse: {
                Bucket: context.bucket,
                Location: `http://${context.bucket}.oss-${services.region}.aliyuncs.com/${encodeURIComponent(key)}`,
                Key: key,
                ETag: quotedEtag(record.etag),
              },
            },
            headers,
          )
        : { status: 204, headers };
  return finishUpload(
    {
      bucket: context.bucket,
      record,
      dataPath: services.store.dataPath(context.bucket, record),
      operation: 'PostObject',
      requestId: context.requestId,
      clientIp: context.sourceIp,
    },
    services,
    callback,
    plain,
    {
      requesterId: principal.kind === 'anonymous' ? 'anonymous' : services.account.accountId,
      hostId: context.hostId,
    },
  );
}
