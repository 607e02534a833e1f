/**
 * upcall's upload client for Node: the same `upload` / `createUpload` as in browsers, sending with node:http(s)
 * (upload progress, which fetch does not report) and keeping checkpoints in files, so a killed process resumes.
 * `uploadPath(path, options)` opens the file (`fs.openAsBlob`: read part by part, never whole into memory).
 */
import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { type CheckpointStore, isCheckpoint } from './checkpoint.js';
import { NetworkError } from './errors.js';
import type { Transport } from './transport.js';
import { type PlatformUploadOptions, platformUpload, type Upload, type UploadSource } from './upload.js';

export * from './api.js';

/** Bodies go out in chunks of this size, so progress moves while a part is being sent. */
const CHUNK_BYTES = 64 * 1024;

export const nodeTransport: Transport = (req) =>
  new Promise((resolvePromise, reject) => {
    const url = new URL(req.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const size =
      req.body === undefined
        ? 0
        : typeof req.body === 'string'
          ? Buffer.byteLength(req.body)
          : req.body instanceof Uint8Array
            ? req.body.byteLength
            : (req.body as Blob).size;
    const outgoing = send(url, {
      method: req.method,
      headers: { ...req.headers, 'content-length': String(size) },
      ...(req.signal ? { signal: req.signal } : {}),
    });
    outgoing.on('error', (error) => {
      if (req.signal?.aborted) return reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      reject(new NetworkError(`${req.method} ${url.host} got no answer: ${error.message}`, { cause: error }));
    });
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => reject(new NetworkError(`reading the answer: ${error.message}`)));
      response.on('end', () => {
        const header = (name: string) => {
          const value = response.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        };
        resolvePromise({
          status: response.statusCode ?? 0,
          header,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    void (async () => {
      const body =
        req.body === undefined
          ? new Uint8Array()
          : typeof req.body === 'string'
            ? Buffer.from(req.body)
            : req.body instanceof Uint8Array
              ? req.body
              : (req.body as Blob);
      let sent = 0;
      for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
        const chunk =
          body instanceof Uint8Array
            ? body.subarray(offset, offset + CHUNK_BYTES)
            : new Uint8Array(await body.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
        if (outgoing.destroyed) return;
        if (!outgoing.write(chunk)) await new Promise((drained) => outgoing.once('drain', drained));
        sent += chunk.byteLength;
        req.onUploadProgress?.(sent);
      }
      outgoing.end();
    })().catch((error: unknown) => outgoing.destroy(error as Error));
  });

/**
 * Checkpoints as one JSON file each in `dir` (default `~/.upcall/checkpoints`), written atomically (temp + rename)
 * so a process killed mid-write leaves the previous one.
 */
export function fileCheckpoints(dir = join(homedir(), '.upcall', 'checkpoints')): CheckpointStore {
  const file = (id: string) =>
    join(dir, `${createHash('sha256').update(id).digest('hex').slice(0, 32)}.json`);
  return {
    async get(id) {
      try {
        const value: unknown = JSON.parse(await readFile(file(id), 'utf8'));
        return isCheckpoint(value) ? value : undefined;
      } catch {
        return undefined;
      }
    },
    async set(id, checkpoint) {
      await mkdir(dir, { recursive: true });
      const temp = `${file(id)}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(checkpoint));
      await rename(temp, file(id));
    },
    async delete(id) {
      await rm(file(id), { force: true });
    },
  };
}

export type NodeUploadOptions = PlatformUploadOptions;

export const { createUpload, upload } = platformUpload(nodeTransport, () => fileCheckpoints());

/** Upload a file by path; the checkpoint id is the real path, size and modification time. */
export async function createPathUpload(
  path: string,
  options: NodeUploadOptions & { contentType: string },
): Promise<Upload> {
  const absolute = resolve(path);
  const info = await stat(absolute);
  const blob = await openAsBlob(absolute, { type: options.contentType });
  const source: UploadSource = Object.assign(blob, { name: basename(absolute), lastModified: info.mtimeMs });
  return createUpload(source, {
    checkpointId: `upcall:${absolute}:${info.size}:${info.mtimeMs}:${options.contentType}`,
    ...options,
  });
}
