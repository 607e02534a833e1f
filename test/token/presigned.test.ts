/** The part plan of a presigned multipart grant (presigned.ts). */
import { describe, expect, it } from 'vitest';
import { partPlan } from '../../functions/token/presigned.js';

describe('multipart part plan', () => {
  it.each([0, 1, 300 * 1024, 5 * 1024 ** 3, 48.8 * 1024 ** 4])(
    'covers %d bytes in at most 10,000 parts',
    (maxBytes) => {
      const { partSize, maxParts } = partPlan(maxBytes);
      expect(partSize).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      expect(partSize % 1024).toBe(0);
      expect(maxParts).toBeGreaterThanOrEqual(1);
      expect(maxParts).toBeLessThanOrEqual(10_000);
      expect(partSize * maxParts).toBeGreaterThanOrEqual(maxBytes);
    },
  );
});
