/** The browser transport: XMLHttpRequest, the one browser API that reports upload progress. */
import { NetworkError } from './errors.js';
import type { Transport } from './transport.js';

export const xhrTransport: Transport = (request) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
    const { signal, onUploadProgress } = request;
    const onAbort = () => xhr.abort();
    if (signal?.aborted) {
      reject(new DOMException('aborted', 'AbortError'));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    if (onUploadProgress) xhr.upload.addEventListener('progress', (event) => onUploadProgress(event.loaded));
    xhr.addEventListener('load', () => {
      done();
      resolve({
        status: xhr.status,
        header: (name) => xhr.getResponseHeader(name),
        text: xhr.responseText,
      });
    });
    xhr.addEventListener('error', () => {
      done();
      reject(
        new NetworkError(`${request.method} ${new URL(request.url).host} got no answer (network or CORS)`),
      );
    });
    xhr.addEventListener('abort', () => {
      done();
      reject(new DOMException('aborted', 'AbortError'));
    });
    xhr.send((request.body ?? null) as XMLHttpRequestBodyInit | null);
  });
xhrTransport.sendsFormData = true;
