/**
 * Authorization as OSS applies RAM: the root AccessKey may do anything; a temporary credential only what its role
 * policy AND its STS session policy allow on `acs:oss:<region>:<accountId>:<bucket>[/<key>]`. Anonymous requests
 * meet a private bucket.
 */
import { LocalAccount } from '../credentials.js';
import type { Principal } from './authenticate.js';
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

export function requiredPermissions(
  scope: ResourceScope,
  operation: OssOperation,
  bucket: string,
  key: string,
  copySource?: { bucket: string; key: string },
): PermissionCheck[] {
  const own: PermissionCheck = {
    action: RAM_ACTION[operation],
    resource:
      operation === 'ListObjectsV2' ? ossResourceArn(scope, bucket) : ossResourceArn(scope, bucket, key),
  };
  if (operation !== 'CopyObject' || !copySource) return [own];
  return [
    { action: 'oss:GetObject', resource: ossResourceArn(scope, copySource.bucket, copySource.key) },
    own,
  ];
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
