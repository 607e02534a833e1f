/**
 * Getting a grant from the token endpoint with the app's own auth: `authorization()` is called before every token
 * request, so the app hands over a fresh header (its token refresh stays the app's). A grant is refreshed when its
 * credentials are about to expire, so an upload longer than the grant's lifetime carries on.
 */
import type { FormGrant, TokenRequest, TokenResponse } from '../shared/token-contract.js';
import { NetworkError, UploadError } from './errors.js';
import { type RetryPolicy, withRetry } from './retry.js';

/** The grants the library uses: a signed form (small files, no AssumeRole) and STS credentials (parts, reads). */
export type CredentialsGrant = TokenResponse;
export type Grant = FormGrant | CredentialsGrant;

/** When a grant stops being usable. */
const expiresAt = (grant: Grant) =>
  Date.parse(grant.grant === 'form' ? grant.form.expiration : grant.credentials.expiration);

export interface GrantOptions {
  tokenUrl: string;
  /** The value of the Authorization header for the token endpoint, e.g. `Bearer <the app's session JWT>`. */
  authorization: () => string | Promise<string>;
  retry: RetryPolicy;
  signal?: AbortSignal;
}

/** Refresh credentials that expire within this margin before using them again. */
const EXPIRY_MARGIN_MS = 60_000;

async function fetchText(url: string, init: RequestInit) {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    // fetch says only "fetch failed"; Node names the reason (ECONNREFUSED, ENOTFOUND…) in its cause.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new NetworkError(`cannot reach the token endpoint at ${url} (${reason})`, { cause: error });
  }
  const text = await response.text();
  return { status: response.status, header: (name: string) => response.headers.get(name), text };
}

const looksLikeGrant = (value: unknown, kind: Grant['grant']): value is Grant => {
  const grant = value as (Partial<FormGrant> & Partial<CredentialsGrant>) | null;
  if (grant?.grant !== kind || typeof grant.keyPrefix !== 'string') return false;
  return kind === 'form'
    ? typeof grant.form?.url === 'string'
    : typeof grant.credentials?.accessKeyId === 'string' && typeof grant.callback?.headers === 'object';
};

export async function requestGrant<G extends Grant>(
  wanted: TokenRequest & { grant: G['grant'] },
  options: GrantOptions,
): Promise<G> {
  const { tokenUrl } = options;
  let response: Awaited<ReturnType<typeof fetchText>>;
  try {
    response = await withRetry(
      async () =>
        fetchText(tokenUrl, {
          method: 'POST',
          headers: { authorization: await options.authorization(), 'content-type': 'application/json' },
          body: JSON.stringify(wanted),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      options.retry,
      options.signal,
    );
  } catch (error) {
    if (error instanceof NetworkError) {
      throw new UploadError('TokenUnavailable', error.message, {}, { cause: error });
    }
    throw error;
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    throw new UploadError(
      'TokenUnavailable',
      `the token endpoint ${tokenUrl} answered ${response.status} with something that is not JSON`,
      { status: response.status },
    );
  }
  if (response.status !== 200) {
    const error = (body as { error?: { code?: string; message?: string; requestId?: string } }).error ?? {};
    const detail = {
      status: response.status,
      ...(error.code ? { code: error.code } : {}),
      ...(error.requestId ? { requestId: error.requestId } : {}),
    };
    const what = `${response.status} ${error.code ?? 'Unknown'}: ${error.message ?? response.text}`;
    throw response.status >= 500
      ? new UploadError('TokenUnavailable', `the token endpoint failed: ${what}`, detail)
      : new UploadError('TokenRefused', `the token endpoint refused: ${what}`, detail);
  }
  if (!looksLikeGrant(body, wanted.grant)) {
    throw new UploadError('TokenUnavailable', `the token endpoint's answer is not an upcall grant`, {
      status: response.status,
    });
  }
  return body as G;
}

/** The grant of one upload, refreshed (same request, fresh credentials and ticket) when it nears expiry. */
export class GrantHolder<G extends Grant> {
  private grant: G | undefined;
  constructor(
    private readonly wanted: TokenRequest & { grant: G['grant'] },
    private readonly options: GrantOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async current(signal?: AbortSignal): Promise<G> {
    if (!this.grant || expiresAt(this.grant) - this.now() < EXPIRY_MARGIN_MS) await this.refresh(signal);
    return this.grant as G;
  }

  async refresh(signal?: AbortSignal): Promise<G> {
    this.grant = await requestGrant<G>(this.wanted, { ...this.options, ...(signal ? { signal } : {}) });
    return this.grant;
  }
}
