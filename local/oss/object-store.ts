/**
 * Objects on disk: `<dataDir>/buckets/<bucket>/objects/<sha256(key)>.json` (the record) and `…/data/<uuid>` (the
 * bytes). A commit renames the staged bytes and then the record into place, so a reader or a restart sees the old
 * object or the new one, never half of either. Records are indexed in memory at start.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileAlreadyExists } from './errors.js';
import type { StagedData } from './staging.js';

export interface ObjectRecord {
  key: string;
  size: number;
  /** Upper-case hex MD5 (simple uploads) or `<hex>-<parts>` (multipart); no quotes. */
  etag: string;
  /** Base64 MD5 of the bytes, for simple uploads only (OSS sends Content-MD5 only for those). */
  contentMd5?: string;
  /** CRC-64/XZ, decimal. */
  crc64: string;
  contentType: string;
  /** ISO time. */
  lastModified: string;
  objectType: 'Normal' | 'Multipart';
  /** cache-control, content-disposition, content-encoding, content-language, expires (lower-case names). */
  contentHeaders: Record<string, string>;
  /** Lower-case `x-oss-meta-*` names. */
  userMeta: Record<string, string>;
  tags: Record<string, string>;
  dataFile: string;
}

export type NewObject = Omit<ObjectRecord, 'dataFile' | 'size' | 'crc64'>;

const keyFile = (key: string) => `${createHash('sha256').update(key, 'utf8').digest('hex')}.json`;

export class ObjectStore {
  readonly tmpDir: string;
  private readonly indexes = new Map<string, Map<string, ObjectRecord>>();

  constructor(
    private readonly dataDir: string,
    buckets: readonly string[],
  ) {
    this.tmpDir = join(dataDir, 'tmp');
    // Staged bytes of requests that never finished belong to nobody.
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true });
    for (const bucket of buckets) this.indexes.set(bucket, this.load(bucket));
  }

  bucketDir(bucket: string): string {
    return join(this.dataDir, 'buckets', bucket);
  }

  private load(bucket: string): Map<string, ObjectRecord> {
    const objectsDir = join(this.bucketDir(bucket), 'objects');
    const dataDir = join(this.bucketDir(bucket), 'data');
    mkdirSync(objectsDir, { recursive: true });
    mkdirSync(dataDir, { recursive: true });
    const index = new Map<string, ObjectRecord>();
    for (const name of readdirSync(objectsDir)) {
      if (!name.endsWith('.json')) {
        rmSync(join(objectsDir, name), { force: true }); // an interrupted record write
        continue;
      }
      const record = JSON.parse(readFileSync(join(objectsDir, name), 'utf8')) as ObjectRecord;
      index.set(record.key, record);
    }
    // Bytes no record points at (a crash between the two renames of a commit) are removed.
    const referenced = new Set([...index.values()].map((record) => record.dataFile));
    for (const name of readdirSync(dataDir)) {
      if (!referenced.has(name)) rmSync(join(dataDir, name), { force: true });
    }
    return index;
  }

  hasBucket(bucket: string): boolean {
    return this.indexes.has(bucket);
  }

  private index(bucket: string): Map<string, ObjectRecord> {
    const index = this.indexes.get(bucket);
    if (!index) throw new Error(`unknown bucket ${bucket}`);
    return index;
  }

  get(bucket: string, key: string): ObjectRecord | undefined {
    return this.index(bucket).get(key);
  }

  /** Every record, sorted by key. */
  list(bucket: string): ObjectRecord[] {
    return [...this.index(bucket).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  dataPath(bucket: string, record: ObjectRecord): string {
    return join(this.bucketDir(bucket), 'data', record.dataFile);
  }

  /**
   * Move staged bytes into place as `fields.key`. Synchronous on purpose: the overwrite check and the switch happen
   * in one turn of the event loop, so two concurrent writers cannot both pass `forbidOverwrite`.
   */
  commit(
    bucket: string,
    fields: NewObject,
    staged: StagedData,
    forbidOverwrite?: { ec: string },
  ): ObjectRecord {
    const index = this.index(bucket);
    const previous = index.get(fields.key);
    if (previous && forbidOverwrite) throw fileAlreadyExists(forbidOverwrite.ec);
    const record: ObjectRecord = {
      ...fields,
      size: staged.size,
      crc64: staged.crc64,
      dataFile: randomUUID(),
    };
    renameSync(staged.path, this.dataPath(bucket, record));
    this.writeRecord(bucket, record);
    index.set(record.key, record);
    if (previous) rmSync(this.dataPath(bucket, previous), { force: true });
    return record;
  }

  private writeRecord(bucket: string, record: ObjectRecord): void {
    const file = join(this.bucketDir(bucket), 'objects', keyFile(record.key));
    const temp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(temp, JSON.stringify(record));
    renameSync(temp, file);
  }

  updateTags(bucket: string, key: string, tags: Record<string, string>): ObjectRecord | undefined {
    const record = this.get(bucket, key);
    if (!record) return undefined;
    const updated = { ...record, tags };
    this.writeRecord(bucket, updated);
    this.index(bucket).set(key, updated);
    return updated;
  }

  /** Remove an object; false when there was none. */
  delete(bucket: string, key: string): boolean {
    const index = this.index(bucket);
    const record = index.get(key);
    if (!record) return false;
    rmSync(join(this.bucketDir(bucket), 'objects', keyFile(key)), { force: true });
    index.delete(key);
    rmSync(this.dataPath(bucket, record), { force: true });
    return true;
  }

  /** For tests and tools: whether the bytes of a record are on disk. */
  hasData(bucket: string, record: ObjectRecord): boolean {
    return existsSync(this.dataPath(bucket, record));
  }
}
