/**
 * The verdict on an uploaded object version: one pure function of what OSS says about it, so every path that sees
 * the object — the callback, the OSS-trigger backstop, any retry or replay — reaches the same verdict.
 *
 * Only OSS's own HeadObject answer is trusted: the etag, size and content type it stored, its Last-Modified, and the
 * upload ticket stored with the object (`x-oss-meta-upcall-ticket`: pinned by the form policy, sent by SDK uploads).
 * The uploader chose none of these freely — the ticket is signed by the token function, and OSS measured the rest.
 * The ticket is judged at the object's Last-Modified (when OSS stored it), not at the time a path happens to look,
 * so a backstop that runs an hour late agrees with a callback that ran at once.
 *
 * A refused object inside the uploads area is tagged `rejected` with the reason (the object is kept; a lifecycle
 * rule may expire it). That write depends on nothing a request says, only on the object itself, so no request can
 * get another user's object tagged: a valid upload is accepted by every path, an invalid one refused by every path.
 */
import { parseSetting, type Settings } from './config.js';
import {
  contentTypeAllowed,
  parseTicketKeyring,
  type TicketKeyring,
  type TicketVerification,
  type UploadTicket,
  verifyUploadTicket,
} from './upload-ticket.js';

/** An object version as OSS's HeadObject describes it. */
export interface StoredObject {
  /** Upper-case hex without quotes (multipart: `-N` suffix). */
  etag: string;
  size: number;
  contentType: string;
  /** Epoch ms of OSS's Last-Modified; null when OSS gave none. */
  lastModified: number | null;
  /** The upload ticket stored with the object ('' when it carries none). */
  ticket: string;
}

/** Why an upload (or a request about one) was refused: a stable code, a human message, the HTTP status. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export type UploadVerdict =
  | { accepted: true; ticket: UploadTicket }
  /** `tag`: mark the object `rejected` — it is in the uploads area, so this verdict is upcall's to record. */
  | { accepted: false; refusal: Refusal; tag: boolean };

export interface UploadArea {
  /** Where uploads live; nothing outside it is judged (or tagged). */
  uploadsPrefix: string;
  /** Where outputs live; never an upload. */
  derivedPrefix: string;
}

const refuse = (code: string, message: string, tag: boolean): UploadVerdict => ({
  accepted: false,
  refusal: { status: 403, code, message },
  tag,
});

/** Why `key` is no upload at all (outside the uploads area, or among the outputs), or null when it is in the area. */
export function outsideUploadArea(key: string, area: UploadArea): Refusal | null {
  if (key.startsWith(area.uploadsPrefix) && !key.startsWith(area.derivedPrefix)) return null;
  return {
    status: 403,
    code: 'KeyOutsidePrefix',
    message: `object ${JSON.stringify(key)} is not under ${area.uploadsPrefix}`,
  };
}

/** The verdict, given the object's key, OSS's description of it and its ticket checked at its Last-Modified. */
export function judgeUpload(
  key: string,
  ticketCheck: TicketVerification,
  object: StoredObject,
  area: UploadArea,
): UploadVerdict {
  const outside = outsideUploadArea(key, area);
  if (outside) return { accepted: false, refusal: outside, tag: false };
  if (!ticketCheck.ok) return refuse(ticketCheck.code, ticketCheck.message, true);
  const { ticket } = ticketCheck;
  if (!key.startsWith(ticket.keyPrefix) || key.length === ticket.keyPrefix.length) {
    return refuse('KeyOutsidePrefix', `object ${JSON.stringify(key)} is not under ${ticket.keyPrefix}`, true);
  }
  if (object.size > ticket.maxBytes) {
    return refuse(
      'SizeExceedsTicket',
      `object is ${object.size} bytes, the ticket allows ${ticket.maxBytes}`,
      true,
    );
  }
  if (!contentTypeAllowed(object.contentType, ticket.contentTypes)) {
    return refuse(
      'ContentTypeNotAllowed',
      `${object.contentType} is not one of ${ticket.contentTypes.join(', ')}`,
      true,
    );
  }
  return { accepted: true, ticket };
}

/** Check the object's own ticket at the moment OSS stored the object (now, when OSS did not say). */
export function checkStoredTicket(
  object: StoredObject,
  keyring: TicketKeyring,
  now: number,
): TicketVerification {
  return verifyUploadTicket(object.ticket, keyring, { now: object.lastModified ?? now });
}

/** What judging uploads takes from the settings: the same for the callback and the media function's trigger path. */
export function verdictSettings(
  s: Settings<'UPCALL_BUCKET' | 'UPCALL_UPLOADS_PREFIX' | 'UPCALL_TICKET_KEYS'>,
): { bucket: string; uploadsPrefix: string; ticketKeyring: TicketKeyring } {
  return {
    bucket: s.UPCALL_BUCKET,
    uploadsPrefix: s.UPCALL_UPLOADS_PREFIX,
    ticketKeyring: parseSetting('UPCALL_TICKET_KEYS', () => parseTicketKeyring(s.UPCALL_TICKET_KEYS)),
  };
}
