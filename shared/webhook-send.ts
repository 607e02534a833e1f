/**
 * Sending one webhook delivery the Standard Webhooks way: `webhook-id` (the event's stable id), `webhook-timestamp`
 * (this attempt's time, so every retry passes the receiver's 5-minute tolerance) and `webhook-signature`, signed by the
 * `standardwebhooks` library itself so any framework's verifier accepts it. The answer is classified for the caller:
 * 2xx accepted (with its JSON object, if any), other 4xx refused (a decision), anything else — 408, 429, 3xx, 5xx,
 * timeout, no connection — failed (try again later).
 */
import { Webhook } from 'standardwebhooks';
import type { WebhookMessage } from './webhook-events.js';

export interface WebhookTarget {
  url: string;
  /** `whsec_<base64>`. */
  secret: string;
}

export type WebhookOutcome =
  | { kind: 'accepted'; status: number; answer: Record<string, unknown> | null }
  | { kind: 'refused'; status: number; message: string | null }
  | { kind: 'failed'; status: number | null; reason: string };

/** Larger answers are not read: the upload hook's answer rides in OSS's callback reply (≤ 1 MB). */
export const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_MESSAGE_CHARS = 500;

/** The Standard Webhooks headers for one attempt. */
export function signedHeaders(secret: string, message: WebhookMessage, at: Date): Record<string, string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(message.id, at, message.payload),
  };
}

/** Throws for a secret the library cannot use (config validation calls this). */
export function checkWebhookSecret(secret: string): void {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new Error('must be whsec_ followed by the base64 of 24 to 64 random bytes');
  }
  new Webhook(secret);
}

async function readCapped(response: Response): Promise<Buffer | null> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    if (total > MAX_ANSWER_BYTES) {
      await response.body.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer | null): unknown {
  if (!body || body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** POST one delivery; never throws. */
export async function sendWebhook(
  target: WebhookTarget,
  message: WebhookMessage,
  options: { timeoutMs: number; now?: () => number },
): Promise<WebhookOutcome> {
  const at = new Date((options.now ?? Date.now)());
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'upcall-webhooks/1',
        ...signedHeaders(target.secret, message, at),
      },
      body: message.payload,
      // A redirect would carry a signed event somewhere the operator did not configure.
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    return {
      kind: 'failed',
      status: null,
      reason: timedOut
        ? `no answer within ${options.timeoutMs} ms`
        : `could not reach the application: ${(error as Error).message}`,
    };
  }
  const { status } = response;
  let body: Buffer | null;
  try {
    body = await readCapped(response);
  } catch (error) {
    return { kind: 'failed', status, reason: `the answer was cut off: ${(error as Error).message}` };
  }
  if (status >= 200 && status < 300) {
    const answer = parseJson(body);
    return { kind: 'accepted', status, answer: isObject(answer) ? answer : null };
  }
  // 408 and 429 say "not now", not "no".
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    const answer = parseJson(body);
    const message =
      isObject(answer) && typeof answer.message === 'string'
        ? answer.message.slice(0, MAX_MESSAGE_CHARS)
        : null;
    return { kind: 'refused', status, message };
  }
  return { kind: 'failed', status, reason: `the application answered ${status}` };
}
