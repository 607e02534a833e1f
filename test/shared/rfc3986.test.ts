import { describe, expect, it } from 'vitest';
import { encodeRfc3986, encodeRfc3986Path } from '../../shared/rfc3986.js';

describe('RFC 3986 percent-encoding (OSS V4 and ACS3 canonicalisation)', () => {
  it('leaves the unreserved characters as they are', () => {
    expect(encodeRfc3986('AZaz09-._~')).toBe('AZaz09-._~');
  });

  it("encodes what encodeURIComponent leaves, !'()*, and every other reserved or non-ASCII character", () => {
    expect(encodeRfc3986("!'()*")).toBe('%21%27%28%29%2A');
    expect(encodeRfc3986('a b+c/d?e=f&g')).toBe('a%20b%2Bc%2Fd%3Fe%3Df%26g');
    expect(encodeRfc3986('照片.jpg')).toBe('%E7%85%A7%E7%89%87.jpg');
  });

  it('keeps the slashes of a path and encodes each segment', () => {
    expect(encodeRfc3986Path('/bucket/uploads/alice/photo.jpg')).toBe('/bucket/uploads/alice/photo.jpg');
    expect(encodeRfc3986Path("/bucket/a b/it's(1).jpg")).toBe('/bucket/a%20b/it%27s%281%29.jpg');
  });
});
