/**
 * The callback's decision, as plain functions of typed inputs: the notice OSS delivered (every value in it is the
 * uploader's claim — the uploader wrote the template), what OSS's HeadObject says, and the object's ticket checked.
 * handler.ts is the I/O around these two calls; test/callback/decide.test.ts is the table of who gets what.
 *
 *  - `refuseBeforeLookup`: requests not worth asking OSS about (another bucket, a key outside the uploads area).
 *  - `decideCallback`: first the request must describe the stored version exactly (etag, size, content type); one
 *    that does not is refused and changes nothing. Then the object's own verdict (shared/upload-verdict.ts), the one
 *    every path reaches — a refusal is recorded on the object whoever asked, since it depends on the object alone.
 *    Last, an accepted object is answered for only to its owner: the callback's ticket must be the object's, or
 *    another authentic ticket of the same user and prefix (a resumed multipart upload completes under a newer grant
 *    than the one it was initiated with). Anyone else is refused and changes nothing, so a callback naming somebody
 *    else's upload learns nothing about it.
 */
import type { UploadNotice } from '../../shared/callback-contract.js';
import type { TicketVerification, UploadTicket } from '../../shared/upload-ticket.js';
import {
  judgeUpload,
  outsideUploadArea,
  type Refusal,
  type StoredObject,
  type UploadArea,
} from '../../shared/upload-verdict.js';

export type CallbackDecision =
  | { kind: 'accept'; ticket: UploadTicket; object: StoredObject }
  /** `tag`: mark the object `rejected` (the object's own verdict; never for a refused request). */
  | { kind: 'refuse'; refusal: Refusal; tag: boolean };

export interface CallbackScope extends UploadArea {
  bucket: string;
}

const refusal = (code: string, message: string): Refusal => ({ status: 403, code, message });

/** A refusal that needs no lookup, or null when OSS should be asked about the object. */
export function refuseBeforeLookup(notice: UploadNotice, scope: CallbackScope): Refusal | null {
  if (notice.bucket !== scope.bucket) {
    return refusal('BucketMismatch', `bucket ${notice.bucket} is not served here`);
  }
  return outsideUploadArea(notice.key, scope);
}

/** The request's claims against the stored version: the first disagreement, or null. */
function claimMismatch(notice: UploadNotice, stored: StoredObject): Refusal | null {
  if (stored.etag !== notice.etag) {
    return refusal('EtagMismatch', `object's etag is ${stored.etag}, the callback claims ${notice.etag}`);
  }
  if (stored.size !== notice.size) {
    return refusal('SizeMismatch', `object is ${stored.size} bytes, the callback claims ${notice.size}`);
  }
  if (stored.contentType.toLowerCase() !== notice.contentType.toLowerCase()) {
    return refusal(
      'ContentTypeMismatch',
      `object's content type is ${stored.contentType}, the callback claims ${notice.contentType}`,
    );
  }
  return null;
}

/** What OSS says about the named object: HeadObject's answer and the ticket it carries, checked. */
export interface ObjectLookup {
  stored: StoredObject;
  ticketCheck: TicketVerification;
  /** The callback's own ticket checked, when it is not the object's (null when they are the same). */
  callbackTicketCheck: TicketVerification | null;
}

/** Whether the callback's ticket names the owner of the object's ticket. */
function sameOwner(objectTicket: UploadTicket, callbackTicketCheck: TicketVerification | null): boolean {
  if (!callbackTicketCheck) return true;
  // An expired ticket still names its owner: a resumed upload may complete after its first grant expired.
  const callbackTicket = callbackTicketCheck.ticket;
  return (
    callbackTicket !== undefined &&
    callbackTicket.userId === objectTicket.userId &&
    callbackTicket.keyPrefix === objectTicket.keyPrefix
  );
}

/** The decision once OSS was asked; `lookup` is null when the object does not exist. */
export function decideCallback(
  notice: UploadNotice,
  lookup: ObjectLookup | null,
  scope: CallbackScope,
): CallbackDecision {
  if (!lookup) {
    const missing = refusal('ObjectNotFound', `object ${JSON.stringify(notice.key)} does not exist`);
    return { kind: 'refuse', refusal: missing, tag: false };
  }
  const { stored, ticketCheck, callbackTicketCheck } = lookup;
  const mismatch = claimMismatch(notice, stored);
  if (mismatch) return { kind: 'refuse', refusal: mismatch, tag: false };
  const verdict = judgeUpload(notice.key, ticketCheck, stored, scope);
  if (!verdict.accepted) return { kind: 'refuse', refusal: verdict.refusal, tag: verdict.tag };
  if (!sameOwner(verdict.ticket, callbackTicketCheck)) {
    const notOwner = refusal('TicketMismatch', "the callback's ticket is not the uploader's");
    return { kind: 'refuse', refusal: notOwner, tag: false };
  }
  return { kind: 'accept', ticket: verdict.ticket, object: stored };
}
