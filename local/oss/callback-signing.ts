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
import { callbackStringToSign } from '../../shared/callback-signature.js';

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

/** The `Authorization` value OSS would send for this callback request. */
export function signCallback(key: KeyObject, path: string, query: string, body: Uint8Array): string {
  const data = callbackStringToSign(path, query, body);
  if (!data) throw new Error(`callback path has an invalid percent-escape: ${path}`);
  return sign('md5', data, { key, padding: constants.RSA_PKCS1_PADDING }).toString('base64');
}
