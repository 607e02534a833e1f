/**
 * The checks of an upload callback that need no network: the claims in the body against the upload ticket, and
 * then against what OSS says about the object. Every body value is the uploader's claim (the uploader wrote the
 * template); only the ticket and OSS's own HeadObject answer are trusted.
 */
import type { UploadNotice } from '../../shared/callback-contract.js';
import { contentTypeAllowed, type UploadTicket } from '../../shared/upload-ticket.js';

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

const refuse = (status: number, code: string, message: string): Refusal => ({ status, code, message });

/** The claims must stay inside what the ticket granted. */
export function checkClaimsAgainstTicket(notice: UploadNotice, ticket: UploadTicket): Refusal | null {
  if (!notice.key.startsWith(ticket.keyPrefix) || notice.key.length === ticket.keyPrefix.length) {
    return refuse(
      403,
      'KeyOutsidePrefix',
      `object ${JSON.stringify(notice.key)} is not under ${ticket.keyPrefix}`,
    );
  }
  if (notice.size > ticket.maxBytes) {
    return refuse(
      403,
      'SizeExceedsTicket',
      `object is ${notice.size} bytes, the ticket allows ${ticket.maxBytes}`,
    );
  }
  if (!contentTypeAllowed(notice.contentType, ticket.contentTypes)) {
    return refuse(
      403,
      'ContentTypeNotAllowed',
      `${notice.contentType} is not one of ${ticket.contentTypes.join(', ')}`,
    );
  }
  return null;
}

export interface StoredObject {
  etag: string;
  size: number;
  contentType: string;
  /** Epoch ms of OSS's Last-Modified, when it gave one. */
  lastModified?: number;
}

/** OSS's view of the object must match the claims: anything else was forged or raced. */
export function checkClaimsAgainstObject(notice: UploadNotice, stored: StoredObject | null): Refusal | null {
  if (!stored) return refuse(403, 'ObjectNotFound', `object ${JSON.stringify(notice.key)} does not exist`);
  if (stored.etag !== notice.etag) {
    return refuse(403, 'EtagMismatch', `object's etag is ${stored.etag}, the callback claims ${notice.etag}`);
  }
  if (stored.size !== notice.size) {
    return refuse(403, 'SizeMismatch', `object is ${stored.size} bytes, the callback claims ${notice.size}`);
  }
  if (stored.contentType.toLowerCase() !== notice.contentType.toLowerCase()) {
    return refuse(
      403,
      'ContentTypeMismatch',
      `object's content type is ${stored.contentType}, the callback claims ${notice.contentType}`,
    );
  }
  return null;
}
