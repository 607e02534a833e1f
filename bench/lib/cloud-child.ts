/** The local cloud as a bench child runs it: a function role's credentials, and a clean close on the runner's SIGTERM. */
import type { LocalCloud } from '../../local/cloud.js';
import type { RoleCredentials } from '../../shared/http/edge.js';

/**
 * Close `cloud` when the runner stops this child, and answer an hour's temporary credentials of `roleArn`, as FC
 * would pass them to the function under test.
 */
export function serveCloudRole(cloud: LocalCloud, roleArn: string, roleSessionName: string): RoleCredentials {
  process.on('SIGTERM', () => {
    cloud.close().finally(() => process.exit(0));
  });
  const { accessKeyId, accessKeySecret, securityToken } = cloud.account.issueTemporary({
    roleArn,
    roleSessionName,
    durationSeconds: 3600,
  });
  return { accessKeyId, accessKeySecret, securityToken };
}
