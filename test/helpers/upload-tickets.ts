/** Upload tickets as the token function issues them: one user, their own `uploads/<user>/` prefix, for an hour. */
import type OSS from 'ali-oss';
import {
  CALLBACK_BODY_TEMPLATE,
  CALLBACK_BODY_TYPE,
  TICKET_METADATA,
} from '../../shared/callback-contract.js';
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

/**
 * ali-oss put/multipartUpload options for an upload as a grant asks for it: the ticket as object metadata (what
 * every path judges) and in the callback's variable. `overrides` forge either, or the callback body.
 */
export function ticketedUpload(
  ticket: string,
  callbackUrl: string,
  overrides: { callbackTicket?: string | null; metaTicket?: string | null; body?: string } = {},
) {
  const callbackTicket = overrides.callbackTicket === undefined ? ticket : overrides.callbackTicket;
  const metaTicket = overrides.metaTicket === undefined ? ticket : overrides.metaTicket;
  return {
    callback: {
      url: callbackUrl,
      body: overrides.body ?? CALLBACK_BODY_TEMPLATE,
      contentType: CALLBACK_BODY_TYPE,
      customValue: callbackTicket === null ? {} : { ticket: callbackTicket },
    },
    ...(metaTicket === null ? {} : ticketMeta(metaTicket)),
  };
}

/** The ticket as object metadata alone (no callback): what an upload the trigger path judges carries. */
export const ticketMeta = (ticket: string) => ({
  // @types/ali-oss requires uid and pid in every `meta`; OSS has no such fields.
  meta: { [TICKET_METADATA]: ticket } as unknown as OSS.UserMeta,
});
