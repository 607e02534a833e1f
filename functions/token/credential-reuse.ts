/**
 * STS credentials reused per user within one instance. STS allows 100 AssumeRole calls per second per account, and a
 * user's session is fully determined by the AssumeRole input (role, the user's session name, the session policy of
 * their prefix, duration): the same user asking again gets the credentials already issued while at least half their
 * lifetime remains, so the stock mobile providers and ali-oss, which refresh at Expiration, never get a credential
 * about to lapse. Concurrent asks for one user share one AssumeRole. Bounded: the least recently used users go first.
 * lru-cache does the bounding and the sharing of in-flight fetches.
 */
import { LRUCache } from 'lru-cache';
import type { RoleCredentials } from '../../shared/http/edge.js';
import type { AssumeRole, AssumeRoleInput, IssuedCredentials } from './sts.js';

/** Users whose credentials one instance keeps (a few hundred bytes each). */
export const REUSED_USERS_PER_INSTANCE = 10_000;

/** Issued credentials and until when they are handed out again. */
interface Kept {
  issued: IssuedCredentials;
  reuseUntil: number;
}

export function reusingCredentials(assumeRole: AssumeRole, now: () => number = Date.now): AssumeRole {
  const cache = new LRUCache<string, Kept, { caller: RoleCredentials; input: AssumeRoleInput }>({
    max: REUSED_USERS_PER_INSTANCE,
    fetchMethod: async (_key, _stale, { context }) => {
      const issued = await assumeRole(context.caller, context.input);
      // Reuse while at least half the lifetime remains.
      const reuseUntil = Date.parse(issued.expiration) - (context.input.durationSeconds * 1000) / 2;
      return { issued, reuseUntil };
    },
  });
  return async (caller, input) => {
    const key = [input.roleArn, input.roleSessionName, input.policy, input.durationSeconds].join('\n');
    const kept = cache.get(key);
    if (kept && kept.reuseUntil <= now()) cache.delete(key);
    const fetched = await cache.fetch(key, { context: { caller, input } });
    if (!fetched) throw new Error('no credentials issued');
    return fetched.issued;
  };
}
