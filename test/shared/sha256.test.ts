import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../shared/sha256.js';

describe('sha256Hex', () => {
  it('is the SHA-256 hex digest of strings (as UTF-8) and bytes', () => {
    // FIPS 180-2's "abc" vector, and the empty input.
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.alloc(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const text = 'upcall-bench\nuploads/alice/été.jpg\n5B8A4E5C1F0A3D2E9C7B6A5F4E3D2C1B';
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    const bytes = Buffer.from([0xff, 0x00, 0x80]);
    expect(sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
