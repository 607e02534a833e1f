/**
 * Retries with exponential backoff and full jitter (a random wait in [0, min(cap, base·2^attempt)]), so many clients
 * that failed together do not come back together. Only what may succeed next time is retried: no answer at all
 * (NetworkError) and 5xx; a 4xx is the server's final word and is returned to the caller at once.
 */
import { abortError, NetworkError } from './errors.js';
import type { TransportResponse } from './transport.js';

export interface RetryPolicy {
  /** Attempts after the first (default 5). */
  retries: number;
  /** First backoff cap in ms (default 500). */
  baseDelayMs: number;
  /** Largest backoff in ms (default 20 000). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseDelayMs: 500, maxDelayMs: 20_000 };

export function backoffMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Run `send` until it answers below 500 or the retries run out; the last answer or NetworkError is returned/thrown. */
export async function withRetry(
  send: () => Promise<TransportResponse>,
  policy: RetryPolicy,
  signal?: AbortSignal,
  onRetry?: (attempt: number, reason: string) => void,
): Promise<TransportResponse> {
  for (let attempt = 0; ; attempt++) {
    let reason: string;
    try {
      const response = await send();
      if (response.status < 500 || attempt >= policy.retries) return response;
      reason = `HTTP ${response.status}`;
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      if (!(error instanceof NetworkError) || attempt >= policy.retries) throw error;
      reason = error.message;
    }
    onRetry?.(attempt + 1, reason);
    await sleep(backoffMs(policy, attempt), signal);
  }
}
