/**
 * Multipart uploads in progress, on disk so they survive a restart:
 * `<bucket dir>/uploads/<uploadId>/upload.json` and one `<n>.part` + `<n>.json` per uploaded part.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NewObject } from './object-store.js';
import type { StagedData } from './staging.js';

export interface UploadRecord {
  uploadId: string;
  key: string;
  /** ISO time. */
  initiated: string;
  /** What the completed object will carry (content type, headers, metadata, tags). */
  object: Omit<NewObject, 'key' | 'etag' | 'contentMd5' | 'lastModified' | 'objectType'>;
}

export interface PartRecord {
  partNumber: number;
  /** Upper-case hex MD5, no quotes. */
  etag: string;
  size: number;
  crc64: string;
  lastModified: string;
}

const UPLOAD_ID = /^[0-9A-F]{32}$/;

export class UploadStore {
  constructor(private readonly bucketDir: (bucket: string) => string) {}

  private dir(bucket: string, uploadId: string): string {
    return join(this.bucketDir(bucket), 'uploads', uploadId);
  }

  create(bucket: string, key: string, object: UploadRecord['object']): UploadRecord {
    const record: UploadRecord = {
      uploadId: randomBytes(16).toString('hex').toUpperCase(),
      key,
      initiated: new Date().toISOString(),
      object,
    };
    const dir = this.dir(bucket, record.uploadId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'upload.json'), JSON.stringify(record));
    return record;
  }

  get(bucket: string, uploadId: string): UploadRecord | undefined {
    if (!UPLOAD_ID.test(uploadId)) return undefined;
    const file = join(this.dir(bucket, uploadId), 'upload.json');
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as UploadRecord;
  }

  putPart(bucket: string, uploadId: string, partNumber: number, staged: StagedData): PartRecord {
    const dir = this.dir(bucket, uploadId);
    const part: PartRecord = {
      partNumber,
      etag: staged.md5.toString('hex').toUpperCase(),
      size: staged.size,
      crc64: staged.crc64,
      lastModified: new Date().toISOString(),
    };
    renameSync(staged.path, join(dir, `${partNumber}.part`));
    const temp = join(dir, `${randomUUID()}.tmp`);
    writeFileSync(temp, JSON.stringify(part));
    renameSync(temp, join(dir, `${partNumber}.json`));
    return part;
  }

  /** Uploaded parts, by part number. */
  parts(bucket: string, uploadId: string): PartRecord[] {
    const dir = this.dir(bucket, uploadId);
    return readdirSync(dir)
      .filter((name) => /^\d+\.json$/.test(name))
      .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as PartRecord)
      .sort((a, b) => a.partNumber - b.partNumber);
  }

  partPath(bucket: string, uploadId: string, partNumber: number): string {
    return join(this.dir(bucket, uploadId), `${partNumber}.part`);
  }

  remove(bucket: string, uploadId: string): void {
    rmSync(this.dir(bucket, uploadId), { recursive: true, force: true });
  }
}
