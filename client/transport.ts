/**
 * How the library sends one HTTP request: fetch cannot report upload progress, so browsers use XMLHttpRequest
 * (`transport-xhr.ts`) and Node uses node:http (`node.ts`). Everything above this interface is the same code.
 */

/** Every method the library sends: a bucket's CORS rule must allow each for browsers (deploy/oss/cors.xml). */
export const REQUEST_METHODS = ['GET', 'PUT', 'POST', 'DELETE'] as const;

/**
 * The OSS response headers the library reads that CORS does not expose by itself: a bucket's CORS rule must expose
 * them (deploy/oss/cors.xml), or a page sees null — multipart uploads cannot complete without the parts' ETags.
 */
export const OSS_READ_HEADERS = { etag: 'etag', requestId: 'x-oss-request-id' } as const;

export interface TransportRequest {
  method: (typeof REQUEST_METHODS)[number];
  url: string;
  headers: Record<string, string>;
  body?: Blob | Uint8Array | string | FormData;
  /** Bytes of the body sent so far (may go back to 0 when a request is retried). */
  onUploadProgress?: (sentBytes: number) => void;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** Lower-case names. */
  header(name: string): string | null;
  text: string;
}

/** Resolves with any HTTP answer; rejects with a NetworkError when there was none, or an AbortError. */
export interface Transport {
  (request: TransportRequest): Promise<TransportResponse>;
  /** Sends a FormData body itself (browsers); otherwise forms are serialized to bytes first. */
  sendsFormData?: boolean;
}
