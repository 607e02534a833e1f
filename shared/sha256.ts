/** SHA-256 as lower-case hex, the form the ACS3 and OSS V4 signatures and upcall's task ids use. */
import * as nodeCrypto from 'node:crypto';

/**
 * Node's one-shot `crypto.hash` (Node ≥ 20.12) where it exists: it skips the Hash object a digest otherwise builds,
 * half the cost of a short digest, and the callback takes several per upload. Older Node builds the object.
 */
export const sha256Hex: (data: string | Buffer) => string =
  typeof nodeCrypto.hash === 'function'
    ? (data) => nodeCrypto.hash('sha256', data, 'hex')
    : (data) => nodeCrypto.createHash('sha256').update(data).digest('hex');
