/**
 * Getting a grant from the token endpoint with the app's own auth: `authorization()` is called before every token
 * request, so the app hands over a fresh header (its token refresh stays the app's). A grant is refreshed when its
 * credentials are about to expire, so an upload longer than the grant's lifetime carries on.
 */
import type {
  FormGrant,
  MultipartCompleteGrant,
  MultipartGrant,
  MultipartPartsGrant,
  TokenApiRequest,
  TokenApiResponse,
  TokenRequest,
  TokenResponse,
} from '../shared/token-contract.js';
import { NetworkError, UploadError } from './errors.js';
import { type RetryPolicy, withRetry } from './retry.js';

/**
 * The grants the library uses: a signed form (small files) and a started multipart upload with presigned parts
 * (large ones), neither costing an AssumeRole; STS credentials where those do not fit (an exact object name, reading
 * the outputs, a token endpoint without the multipart grant).
 */
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
export const EXPIRY_MARGIN_MS = 60_000;

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

const isString = (value: unknown) => typeof value === 'string';

/** Enough of each kind's shape that the library can use it (the token endpoint is trusted, not validated in full). */
const SHAPES: Record<TokenApiResponse['grant'], (grant: Record<string, unknown>) => boolean> = {
  credentials: (g) =>
    isString((g.credentials as { accessKeyId?: unknown })?.accessKeyId) && typeof g.callback === 'object',
  form: (g) => isString((g.form as { url?: unknown })?.url),
  put: (g) => isString((g.put as { url?: unknown })?.url),
  multipart: (g) =>
    isString(g.key) && isString(g.uploadId) && isString(g.ticket) && typeof g.partSize === 'number',
  'multipart-parts': (g) => Array.isArray(g.parts) && isString((g.listParts as { url?: unknown })?.url),
  'multipart-complete': (g) => isString((g.complete as { url?: unknown })?.url),
};

/** What each request's `grant` answers. */
export interface GrantOf {
  credentials: CredentialsGrant;
  form: FormGrant;
  multipart: MultipartGrant;
  'multipart-parts': MultipartPartsGrant;
  'multipart-complete': MultipartCompleteGrant;
}

export async function requestGrant<K extends keyof GrantOf>(
  wanted: TokenApiRequest & { grant: K },
  options: GrantOptions,
): Promise<GrantOf[K]> {
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
  const grant = body as Record<string, unknown> | null;
  if (grant?.grant !== wanted.grant || !SHAPES[wanted.grant](grant)) {
    throw new UploadError(
      'TokenUnavailable',
      `the token endpoint's answer is not an upcall ${wanted.grant} grant`,
      {
        status: response.status,
      },
    );
  }
  return body as GrantOf[K];
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
    const options = { ...this.options, ...(signal ? { signal } : {}) };
    this.grant = (await requestGrant(this.wanted, options)) as unknown as G;
    return this.grant;
  }
}
