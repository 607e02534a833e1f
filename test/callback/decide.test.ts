/**
 * The callback's decision as a table: who gets accepted, who gets refused with which code, and whose object is
 * tagged. Rows are (what the callback says, what OSS says about the object, the tickets checked) → the decision.
 * The object's verdict (shared/upload-verdict.ts) is the same function the OSS-trigger path applies.
 */
import { describe, expect, it } from 'vitest';
import {
  type CallbackScope,
  decideCallback,
  type ObjectLookup,
  refuseBeforeLookup,
} from '../../functions/callback/decide.js';
import type { UploadNotice } from '../../shared/callback-contract.js';
import type { TicketVerification, UploadTicket } from '../../shared/upload-ticket.js';
import { judgeUpload, type StoredObject } from '../../shared/upload-verdict.js';

const scope: CallbackScope = { bucket: 'upcall-test', uploadsPrefix: 'uploads/', derivedPrefix: 'derived/' };
const ETAG = '0CC175B9C0F1B6A831C399E269772661';

const aliceGrant: UploadTicket = {
  userId: 'alice',
  keyPrefix: 'uploads/alice/',
  maxBytes: 5000,
  contentTypes: ['image/*'],
  issuedAt: 0,
  expiresAt: 3600_000,
};
const valid = (ticket: UploadTicket = aliceGrant): TicketVerification => ({ ok: true, ticket });
const expired: TicketVerification = { ok: false, code: 'TicketExpired', message: 'late', ticket: aliceGrant };
const missing: TicketVerification = { ok: false, code: 'TicketMissing', message: 'none' };
const forged: TicketVerification = { ok: false, code: 'TicketInvalid', message: 'bad signature' };

const notice = (changes: Partial<UploadNotice> = {}): UploadNotice => ({
  bucket: 'upcall-test',
  key: 'uploads/alice/cat.png',
  etag: ETAG,
  size: 2048,
  contentType: 'image/png',
  image: null,
  crc64: '0',
  operation: 'PutObject',
  ossRequestId: 'R',
  clientIp: '127.0.0.1',
  ticket: 'T-alice',
  ...changes,
});
const stored = (changes: Partial<StoredObject> = {}): StoredObject => ({
  etag: ETAG,
  size: 2048,
  contentType: 'image/png',
  lastModified: 1000,
  ticket: 'T-alice',
  ...changes,
});
const lookup = (changes: Partial<ObjectLookup> = {}): ObjectLookup => ({
  stored: stored(),
  ticketCheck: valid(),
  callbackTicketCheck: null,
  ...changes,
});

describe('refused before OSS is asked', () => {
  it.each([
    ['another bucket', notice({ bucket: 'elsewhere' }), 'BucketMismatch'],
    ['a key outside the uploads area', notice({ key: 'private/cat.png' }), 'KeyOutsidePrefix'],
    ['a key among the outputs', notice({ key: 'derived/uploads/alice/x.webp' }), 'KeyOutsidePrefix'],
  ])('%s', (_name, request, code) => {
    expect(refuseBeforeLookup(request, scope)?.code).toBe(code);
  });

  it('nothing else', () => {
    expect(refuseBeforeLookup(notice(), scope)).toBeNull();
  });
});

describe('the decision once OSS was asked', () => {
  const rows: Array<[string, UploadNotice, ObjectLookup | null, 'accept' | string, boolean]> = [
    ['an honest upload', notice(), lookup(), 'accept', false],
    [
      'a resumed upload completed under a newer grant of the same user',
      notice({ ticket: 'T-alice-2' }),
      lookup({ callbackTicketCheck: valid() }),
      'accept',
      false,
    ],
    // The request does not describe the stored version: refused, nothing written.
    ['a missing object', notice(), null, 'ObjectNotFound', false],
    ['another version', notice({ etag: 'F'.repeat(32) }), lookup(), 'EtagMismatch', false],
    ['an inflated size', notice({ size: 1 }), lookup(), 'SizeMismatch', false],
    ['another content type', notice({ contentType: 'image/gif' }), lookup(), 'ContentTypeMismatch', false],
    // The object's own verdict refuses it: tagged rejected, whoever asked.
    [
      'an object stored without a ticket',
      notice({ ticket: '' }),
      lookup({ stored: stored({ ticket: '' }), ticketCheck: missing }),
      'TicketMissing',
      true,
    ],
    [
      'an object stored with a forged ticket',
      notice(),
      lookup({ ticketCheck: forged }),
      'TicketInvalid',
      true,
    ],
    [
      'an object stored after its ticket expired',
      notice(),
      lookup({ ticketCheck: expired }),
      'TicketExpired',
      true,
    ],
    [
      'an object above the ticket’s size',
      notice({ size: 9000 }),
      lookup({ stored: stored({ size: 9000 }) }),
      'SizeExceedsTicket',
      true,
    ],
    [
      'an object of a type the ticket does not allow',
      notice({ contentType: 'video/mp4' }),
      lookup({ stored: stored({ contentType: 'video/mp4' }) }),
      'ContentTypeNotAllowed',
      true,
    ],
    [
      'an object outside its ticket’s prefix (mallory’s ticket in alice’s area)',
      notice(),
      lookup({ ticketCheck: valid({ ...aliceGrant, userId: 'mallory', keyPrefix: 'uploads/mallory/' }) }),
      'KeyOutsidePrefix',
      true,
    ],
    // A valid object named by someone who is not its owner: refused, nothing written, nothing disclosed.
    [
      'a callback carrying another user’s ticket',
      notice({ ticket: 'T-bob' }),
      lookup({ callbackTicketCheck: valid({ ...aliceGrant, userId: 'bob', keyPrefix: 'uploads/bob/' }) }),
      'TicketMismatch',
      false,
    ],
    [
      'a callback that dropped its ticket',
      notice({ ticket: '' }),
      lookup({ callbackTicketCheck: missing }),
      'TicketMismatch',
      false,
    ],
    [
      'a callback carrying a forged ticket',
      notice({ ticket: 'T-forged' }),
      lookup({ callbackTicketCheck: forged }),
      'TicketMismatch',
      false,
    ],
  ];

  it.each(rows)('%s', (_name, request, found, expected, tagged) => {
    const decision = decideCallback(request, found, scope);
    if (expected === 'accept') {
      expect(decision).toMatchObject({ kind: 'accept', ticket: aliceGrant });
      return;
    }
    expect(decision).toEqual({
      kind: 'refuse',
      refusal: expect.objectContaining({ code: expected }),
      tag: tagged,
    });
  });

  it('the object’s verdict alone is what the trigger path reaches for the same object', () => {
    for (const [, request, found] of rows) {
      if (!found) continue;
      const decision = decideCallback(request, found, scope);
      const verdict = judgeUpload(request.key, found.ticketCheck, found.stored, scope);
      // Every refusal that tags is the object's own verdict; every acceptance is one the trigger path accepts too.
      if (decision.kind === 'accept' || decision.tag) {
        expect(verdict.accepted).toBe(decision.kind === 'accept');
      }
    }
  });
});
