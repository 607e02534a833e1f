/**
 * Signature verification alone, on the one core this process is pinned to: `verifyOssCallback` as the callback
 * function runs it (pinned key, parsed once and reused), beside the bare `crypto.verify` with the same reused key
 * object and with the PEM parsed on every call. Each variant runs for a fixed time after a warm-up; rates are per
 * second of CPU time. `verifyOssCallback` and the reused-key `crypto.verify` take three turns each, alternating.
 */
import { constants, createPublicKey, verify, webcrypto } from 'node:crypto';
import { jwtVerify } from 'jose';
import { generateCallbackSigningKey } from '../../local/oss/callback-signing.js';
import { signedCallbackRequest } from '../../local/oss/signed-callback.js';
import { callbackStringToSign, verifyOssCallback } from '../../shared/callback-signature.js';
import { issueUploadTicket, parseTicketKeyring, verifyUploadTicket } from '../../shared/upload-ticket.js';
import { runAsChild } from '../lib/child.js';

export interface VerifyFigures {
  /** verifyOssCallback with the pinned, reused key. */
  verifyOssCallbackPerSecond: number;
  /** crypto.verify with one parsed KeyObject reused. */
  reusedKeyPerSecond: number;
  /** crypto.verify with createPublicKey(pem) on every call. */
  parsePerCallPerSecond: number;
  /** verifyUploadTicket (node:crypto HMAC, synchronous) on a token-function ticket. */
  ticketPerSecond: number;
  /** The same ticket through jose's jwtVerify with its WebCrypto key imported once (what upcall used before). */
  joseTicketPerSecond: number;
}

const MEASURE_MS = Number(process.argv[2] ?? 2000);

async function rate(work: () => unknown | Promise<unknown>): Promise<number> {
  const run = async (ms: number) => {
    const end = performance.now() + ms;
    let count = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) await work();
      count += 100;
    }
    return count;
  };
  await run(Math.min(500, MEASURE_MS / 4));
  // Per second of this process's CPU time, not of wall time: on a shared machine other processes take turns on the
  // pinned core, and verification is synchronous on this one thread, so CPU time is the core's time spent on it.
  const started = process.cpuUsage();
  const count = await run(MEASURE_MS);
  const used = process.cpuUsage(started);
  return count / ((used.user + used.system) / 1e6);
}

/** The variants' rates measured in turns (A B A B A B), each the median of its turns: the headline is their ratio. */
async function alternating<K extends string>(
  variants: Record<K, () => unknown | Promise<unknown>>,
): Promise<Record<K, number>> {
  const rates = Object.fromEntries(Object.keys(variants).map((name) => [name, [] as number[]])) as Record<
    K,
    number[]
  >;
  for (let turn = 0; turn < 3; turn++) {
    for (const name of Object.keys(variants) as K[]) rates[name].push(await rate(variants[name]));
  }
  return Object.fromEntries(
    Object.entries<number[]>(rates).map(([name, turns]) => [name, turns.sort((a, b) => a - b)[1]]),
  ) as Record<K, number>;
}

runAsChild(async (): Promise<VerifyFigures> => {
  const key = generateCallbackSigningKey();
  const urlPrefix = 'http://127.0.0.1/bench-keys/';
  const request = signedCallbackRequest(key.privateKey, `${urlPrefix}callback.pem`, {
    bucket: 'upcall-bench',
    object: 'uploads/alice/photo.jpg',
    etag: '5B8A4E5C1F0A3D2E9C7B6A5F4E3D2C1B',
    size: '4812345',
    mimeType: 'image/jpeg',
    ticket: 'x'.repeat(400),
  });
  const options = { trustedKeys: [{ urlPrefix, publicKeyPem: key.publicKeyPem }] };
  const check = await verifyOssCallback(request, options);
  if (!check.ok) throw new Error(`the benchmark's callback does not verify: ${check.message}`);

  const data = callbackStringToSign(request.path, request.query, request.body) as Buffer;
  const signature = Buffer.from(request.headers.authorization as string, 'base64');
  const padding = constants.RSA_PKCS1_PADDING;
  const parsed = createPublicKey(key.publicKeyPem);
  const direct = (publicKey: ReturnType<typeof createPublicKey>) => {
    if (!verify('md5', data, { key: publicKey, padding }, signature)) throw new Error('did not verify');
  };
  const keyring = parseTicketKeyring(`k1:${'t'.repeat(40)}`);
  const { token } = await issueUploadTicket(
    { userId: 'alice', keyPrefix: 'uploads/alice/', maxBytes: 50_000_000, contentTypes: ['image/*'] },
    keyring,
    { ttlSeconds: 3600 },
  );
  const hmacKey = await webcrypto.subtle.importKey(
    'raw',
    keyring.signing.secret,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const joseOptions = {
    algorithms: ['HS256'],
    audience: 'upcall:upload',
    requiredClaims: ['sub', 'iat', 'exp'],
  };
  return {
    ticketPerSecond: await rate(() => {
      if (!verifyUploadTicket(token, keyring).ok) throw new Error('ticket did not verify');
    }),
    joseTicketPerSecond: await rate(() => jwtVerify(token, hmacKey, joseOptions)),
    ...(await alternating({
      verifyOssCallbackPerSecond: async () => {
        if (!(await verifyOssCallback(request, options)).ok) throw new Error('did not verify');
      },
      reusedKeyPerSecond: () => direct(parsed),
    })),
    parsePerCallPerSecond: await rate(() => direct(createPublicKey(key.publicKeyPem))),
  };
});
