/**
 * Authorization as OSS applies RAM: the root AccessKey may do anything; a temporary credential only what its role
 * policy AND its STS session policy allow on `acs:oss:<region>:<accountId>:<bucket>[/<key>]`. Anonymous requests
 * meet a private bucket.
 */
import { LocalAccount } from '../credentials.js';
import type { Principal } from './auth-input.js';
import { accessDenied } from './errors.js';
import { type OssOperation, RAM_ACTION } from './operations.js';

export interface ResourceScope {
  region: string;
  accountId: string;
}

export function ossResourceArn(scope: ResourceScope, bucket: string, key?: string): string {
  const base = `acs:oss:${scope.region}:${scope.accountId}:${bucket}`;
  return key === undefined ? base : `${base}/${key}`;
}

export interface PermissionCheck {
  action: string;
  resource: string;
}

export interface UploadExtras {
  /** CopyObject's source. */
  copySource?: { bucket: string; key: string };
  /**
   * The new object gets tags from the request (`x-oss-tagging` on PutObject, PostObject, InitiateMultipartUpload,
   * CopyObject): OSS then also requires `oss:PutObjectTagging` on it, as for PutObjectTagging itself.
   */
  tagsAtUpload?: boolean;
}

export function requiredPermissions(
  scope: ResourceScope,
  operation: OssOperation,
  bucket: string,
  key: string,
  extras: UploadExtras = {},
): PermissionCheck[] {
  const resource =
    operation === 'ListObjectsV2' ? ossResourceArn(scope, bucket) : ossResourceArn(scope, bucket, key);
  const checks: PermissionCheck[] = [];
  if (operation === 'CopyObject' && extras.copySource) {
    const { copySource } = extras;
    checks.push({
      action: 'oss:GetObject',
      resource: ossResourceArn(scope, copySource.bucket, copySource.key),
    });
  }
  checks.push({ action: RAM_ACTION[operation], resource });
  if (extras.tagsAtUpload) checks.push({ action: 'oss:PutObjectTagging', resource });
  return checks;
}

/** Operations that may tag the object they create. */
const TAGGING_AT_UPLOAD: ReadonlySet<OssOperation> = new Set([
  'PutObject',
  'PostObject',
  'InitiateMultipartUpload',
  'CopyObject',
]);

/**
 * Whether a request tags the object it creates: a non-empty `x-oss-tagging` (header or PostObject field); for
 * CopyObject with the default `x-oss-tagging-directive: Copy`, the source's tags when it has any (the stand-in's
 * reading: copying tags is tagging).
 */
export function tagsAtUpload(
  operation: OssOperation,
  tagging: string | undefined,
  options: { replaceTags?: boolean; sourceTagCount?: number } = {},
): boolean {
  if (!TAGGING_AT_UPLOAD.has(operation)) return false;
  if (operation === 'CopyObject' && !options.replaceTags) return (options.sourceTagCount ?? 0) > 0;
  return tagging !== undefined && tagging !== '';
}

export function authorize(principal: Principal, checks: readonly PermissionCheck[]): void {
  if (principal.kind === 'anonymous') {
    throw accessDenied('You have no right to access this object because of bucket acl.', '0003-00000001');
  }
  for (const { action, resource } of checks) {
    if (!LocalAccount.permits(principal.lookup, action, resource)) {
      throw accessDenied(`Access denied by authorizer's policy: ${action} on ${resource}.`, '0003-00000301');
    }
  }
}
