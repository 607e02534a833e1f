/**
 * A function role's temporary credentials for the functions the dev stack serves over HTTP, as FC hands them in
 * `context.credentials`: minted from the local account and re-minted before they expire.
 */

import type { RoleCredentials } from '../../shared/http/edge.js';
import type { LocalAccount, TemporaryCredential } from '../credentials.js';

/** Re-mint when less than this remains (the local FC does the same for the functions it runs). */
const REFRESH_BEFORE_MS = 10 * 60 * 1000;

export class RoleSession {
  private credential: TemporaryCredential | undefined;

  constructor(
    private readonly account: LocalAccount,
    private readonly roleArn: string,
    private readonly sessionName: string,
  ) {
    if (!account.role(roleArn)) throw new Error(`role ${roleArn} does not exist in the local account`);
  }

  /** Valid credentials, minted anew when the current ones are about to expire. */
  current(now = Date.now()): RoleCredentials {
    if (!this.credential || Date.parse(this.credential.expiration) - now < REFRESH_BEFORE_MS) {
      this.credential = this.account.issueTemporary({
        roleArn: this.roleArn,
        roleSessionName: this.sessionName,
        durationSeconds: this.account.role(this.roleArn)?.maxSessionDuration ?? 3600,
        now,
      });
    }
    const { accessKeyId, accessKeySecret, securityToken } = this.credential;
    return { accessKeyId, accessKeySecret, securityToken };
  }
}
