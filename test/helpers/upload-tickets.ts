/** Upload tickets as the token function issues them: one user, their own `uploads/<user>/` prefix, for an hour. */
import { issueUploadTicket, type TicketKeyring } from '../../shared/upload-ticket.js';

export async function userTicket(
  keyring: TicketKeyring,
  user: string,
  limits: { maxBytes: number; contentTypes: string[]; now?: number },
): Promise<string> {
  const { token } = await issueUploadTicket(
    {
      userId: user,
      keyPrefix: `uploads/${user}/`,
      maxBytes: limits.maxBytes,
      contentTypes: limits.contentTypes,
    },
    keyring,
    { ttlSeconds: 3600, now: limits.now },
  );
  return token;
}
