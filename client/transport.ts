/**
 * How the library sends one HTTP request: fetch cannot report upload progress, so browsers use XMLHttpRequest
 * (`transport-xhr.ts`) and Node uses node:http (`node.ts`). Everything above this interface is the same code.
 */

export interface TransportRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
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
