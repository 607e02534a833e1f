/**
 * A signed PostObject (V4) form a browser posts as-is. Unlike the official samples, the policy pins the callback and
 * every `x:` variable with `eq` conditions, so the uploader cannot strip or rewrite the callback; it pins the ticket's
 * object metadata the same way, and also the key prefix, the size range, the content type and the signing fields themselves.
 * Signed with shared/oss-v4.ts (ali-oss's `signPostObjectPolicyV4` needs a whole client instance).
 */
import type { RoleCredentials } from '../../shared/http/edge.js';
import { bucketAddress, postPolicyFields, signPostPolicyV4 } from '../../shared/oss-v4.js';

/** OSS accepts an `x-oss-date` up to 15 minutes old: a form cannot outlive that, whatever the policy says. */
const FORM_LIFETIME_MS = 15 * 60 * 1000;

export interface PostFormInput {
  bucket: string;
  /** Region id without `oss-`, e.g. `cn-hangzhou`. */
  region: string;
  /** The public OSS endpoint, e.g. `https://oss-cn-hangzhou.aliyuncs.com`. */
  endpoint: string;
  /**
   * The token function's own role credentials (the form costs no AssumeRole); with an expiration when it is known,
   * as the form stops working with them.
   */
  credentials: RoleCredentials & { expiration?: string };
  keyPrefix: string;
  /** The key the form suggests (under `keyPrefix`); the uploader may change it within the prefix. */
  key: string;
  maxBytes: number;
  contentType: string;
  /** Base64 callback parameter. */
  callback: string;
  /** Custom callback variables, keys already `x:`-prefixed. */
  callbackVars: Readonly<Record<string, string>>;
  /** `x-oss-meta-*` fields the object must carry (the upload ticket), pinned like the callback. */
  objectMetadata: Readonly<Record<string, string>>;
  now: Date;
}

export interface PostForm {
  /** Where to POST the form. */
  url: string;
  /** Form fields in order; the file goes last, in a `file` field. */
  fields: Record<string, string>;
  /** When the policy expires (ISO 8601). */
  expiration: string;
}

export function buildPostForm(input: PostFormInput): PostForm {
  const lifetimeEnd = input.now.getTime() + FORM_LIFETIME_MS;
  const credentialsEnd = input.credentials.expiration
    ? Date.parse(input.credentials.expiration)
    : lifetimeEnd;
  const expiration = new Date(Math.min(lifetimeEnd, credentialsEnd)).toISOString();
  const signed = postPolicyFields(input.credentials, input.region, input.now);
  const policy = {
    expiration,
    conditions: [
      { bucket: input.bucket },
      ['starts-with', '$key', input.keyPrefix],
      ['content-length-range', 0, input.maxBytes],
      ['eq', '$content-type', input.contentType],
      ['eq', '$success_action_status', '200'],
      ['eq', '$callback', input.callback],
      ...Object.entries(input.callbackVars).map(([name, value]) => ['eq', `$${name}`, value]),
      ...Object.entries(input.objectMetadata).map(([name, value]) => ['eq', `$${name}`, value]),
      ...Object.entries(signed).map(([name, value]) => ({ [name]: value })),
    ],
  };
  const encodedPolicy = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
  return {
    url: bucketAddress(input.endpoint, input.bucket).url,
    fields: {
      key: input.key,
      'Content-Type': input.contentType,
      success_action_status: '200',
      callback: input.callback,
      ...input.callbackVars,
      ...input.objectMetadata,
      ...signed,
      policy: encodedPolicy,
      'x-oss-signature': signPostPolicyV4(input.credentials, input.region, input.now, encodedPolicy),
    },
    expiration,
  };
}
