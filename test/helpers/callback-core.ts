/**
 * The callback core in memory, its object store and dispatcher replaced by each test: the OSS signing key it trusts,
 * the ticket keyring, its config around them, and calls through the edge with the answer's JSON read back.
 */
import type { CallbackConfig } from '../../functions/callback/config.js';
import { generateCallbackSigningKey } from '../../local/oss/callback-signing.js';
import { signedCallbackRequest, type UploadVariables } from '../../local/oss/signed-callback.js';
import { CallbackAnswerSchema } from '../../shared/callback-contract.js';
import { answerSafely, type EdgeHandler, type EdgeRequest } from '../../shared/http/edge.js';
import { createLogger } from '../../shared/log.js';
import { compileSchema } from '../../shared/schema.js';
import { parseTicketKeyring, type TicketKeyring } from '../../shared/upload-ticket.js';

/** Where the signed requests say OSS's public key is: under the prefix the config trusts. */
const KEY_URL = 'http://127.0.0.1:9100/_local/callback_pub_key_v1.pem';
/** An ETag of the right shape (the MD5 of "a"). */
export const ETAG = '0CC175B9C0F1B6A831C399E269772661';
export const answerValidator = compileSchema(CallbackAnswerSchema);

export interface InMemoryCallback {
  keyring: TicketKeyring;
  /** Bucket upcall-test, uploads under uploads/, one 320×320 webp thumbnail; nothing listens at its endpoints. */
  config(settings: Pick<CallbackConfig, 'deadlineMs'> & Partial<CallbackConfig>): CallbackConfig;
  /** OSS's callback about alice's cat.jpg with `variables` on top, signed with the key the config trusts. */
  signedRequest(
    variables: Partial<UploadVariables> & { ticket: string },
    options?: { template?: string },
  ): EdgeRequest;
}

export function inMemoryCallback(): InMemoryCallback {
  const key = generateCallbackSigningKey();
  const keyring = parseTicketKeyring(`k1:${'t'.repeat(32)}`);
  return {
    keyring,
    config: (settings) => ({
      region: 'cn-hangzhou',
      bucket: 'upcall-test',
      ossEndpoint: 'http://127.0.0.1:1',
      uploadsPrefix: 'uploads/',
      ticketKeyring: keyring,
      trustedKeys: [{ urlPrefix: 'http://127.0.0.1:9100/_local/', publicKeyPem: key.publicKeyPem }],
      mediaFunctions: { image: 'upcall-media-image', video: 'upcall-media-video' },
      fcEndpoint: 'http://127.0.0.1:2',
      plan: {
        derivedPrefix: 'derived/',
        thumbnailSizes: [{ width: 320, height: 320 }],
        thumbnailFormats: ['webp'],
      },
      ...settings,
    }),
    signedRequest: (variables, options) =>
      signedCallbackRequest(key.privateKey, KEY_URL, uploadVariables(variables), options),
  };
}

/** What OSS fills in for alice's 64×48 JPEG `uploads/alice/cat.jpg`, with `variables` on top. */
const uploadVariables = (variables: Partial<UploadVariables> & { ticket: string }): UploadVariables => ({
  bucket: 'upcall-test',
  object: 'uploads/alice/cat.jpg',
  etag: ETAG,
  size: '2048',
  mimeType: 'image/jpeg',
  'imageInfo.width': '64',
  'imageInfo.height': '48',
  'imageInfo.format': 'jpg',
  ...variables,
});

/** `request` through the edge as FC would pass it; the answer's status and parsed JSON body. */
export async function callJson(
  handler: EdgeHandler,
  request: EdgeRequest,
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers of several shapes
): Promise<{ status: number; body: any }> {
  const response = await answerSafely({ handle: handler }, request, { log: createLogger('test') });
  return { status: response.status, body: JSON.parse(Buffer.from(response.body).toString()) };
}
