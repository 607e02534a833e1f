/** Bytes on their way into the store: streamed to a temp file while their size, MD5 and CRC-64 are computed. */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Crc64 } from './crc64.js';
import { entityTooLarge, OssError } from './errors.js';

/** OSS's limit for one PutObject, PostObject or part. */
export const MAX_SINGLE_UPLOAD_BYTES = 5 * 1024 ** 3;

/** How a body that stopped arriving shows up: the client went away, not the disk. */
const CUT_OFF = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'ECONNABORTED']);

export interface StagedData {
  path: string;
  size: number;
  md5: Buffer;
  crc64: string;
}

export async function stageStream(
  tmpDir: string,
  source: AsyncIterable<Uint8Array>,
  maxBytes = MAX_SINGLE_UPLOAD_BYTES,
  tooLargeEc?: string,
): Promise<StagedData> {
  const path = join(tmpDir, randomUUID());
  const md5 = createHash('md5');
  const crc = new Crc64();
  let size = 0;
  try {
    await pipeline(
      source,
      async function* measure(chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > maxBytes) throw entityTooLarge(tooLargeEc);
          md5.update(chunk);
          crc.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path),
    );
  } catch (error) {
    rmSync(path, { force: true });
    if (error instanceof OssError || !CUT_OFF.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    throw new OssError(400, 'IncompleteBody', 'The connection closed before the whole request body arrived.');
  }
  return { path, size, md5: md5.digest(), crc64: crc.digest() };
}

/** Stage the concatenation of files (multipart completion, copies). */
export function stageFiles(tmpDir: string, paths: readonly string[]): Promise<StagedData> {
  async function* concatenate() {
    for (const path of paths) yield* createReadStream(path) as AsyncIterable<Buffer>;
  }
  return stageStream(tmpDir, concatenate(), Number.POSITIVE_INFINITY);
}

export function discardStaged(staged: StagedData): void {
  rmSync(staged.path, { force: true });
}
