/** The local OSS's callback signing key: RSA with MD5, as OSS signs (its real key is 512-bit; so is this one). */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CallbackSigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
}

function withPublicPem(privateKey: KeyObject): CallbackSigningKey {
  return {
    privateKey,
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function generateCallbackSigningKey(): CallbackSigningKey {
  return withPublicPem(generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey);
}

/** Load the key kept at `file`, or make and keep one, so a restarted local cloud signs with the same key. */
export function loadOrCreateCallbackSigningKey(file: string): CallbackSigningKey {
  if (existsSync(file)) return withPublicPem(createPrivateKey(readFileSync(file, 'utf8')));
  const key = generateCallbackSigningKey();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  return key;
}

/**
 * What OSS signs, as its callback documentation states it: the URL-decoded path, then `?` and the query string when
 * the callback URL has one, a newline, and the body. Written here from the documentation — not shared with the
 * product's verifier — so that a mistake in either one fails the local tests instead of being mirrored.
 */
function callbackSigningInput(path: string, query: string, body: Uint8Array): Buffer {
  const queryPart = query === '' ? '' : `?${query}`;
  return Buffer.concat([urlDecodedBytes(path), Buffer.from(`${queryPart}\n`, 'utf8'), body]);
}

/** `%XX` escapes as the bytes they stand for (a path may decode to bytes that are not UTF-8); all else as is. */
function urlDecodedBytes(path: string): Buffer {
  const raw = Buffer.from(path, 'utf8');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25) {
      bytes.push(Number.parseInt(raw.subarray(i + 1, i + 3).toString('latin1'), 16));
      i += 2;
    } else {
      bytes.push(raw[i] as number);
    }
  }
  return Buffer.from(bytes);
}

/** The `Authorization` value OSS would send for this callback request. */
export function signCallback(key: KeyObject, path: string, query: string, body: Uint8Array): string {
  if (/%(?![0-9A-Fa-f]{2})/.test(path))
    throw new Error(`callback path has an invalid percent-escape: ${path}`);
  const data = callbackSigningInput(path, query, body);
  return sign('md5', data, { key, padding: constants.RSA_PKCS1_PADDING }).toString('base64');
}
