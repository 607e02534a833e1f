/**
 * What a multipart upload persists when it starts, so a page reload or a process restart resumes it: the object key,
 * OSS's upload id, the part size and, for an upload the token endpoint started, its ticket. Part ETags are not
 * trusted from here — on resume the library asks OSS (ListParts) which parts it really has. Stores: IndexedDB in
 * browsers (`checkpoint-idb.ts`), a file in Node (`node.ts`), memory otherwise.
 */

export interface Checkpoint {
  version: 1;
  key: string;
  uploadId: string;
  partSize: number;
  size: number;
  contentType: string;
  /** The grant's key prefix: a checkpoint of another user (prefix) is never resumed. */
  keyPrefix: string;
  /** Epoch ms; OSS keeps unfinished uploads until a lifecycle rule removes them. */
  createdAt: number;
  bucket?: string;
  /**
   * Set when the token endpoint started the upload (`multipart` grant): its Complete is signed for this same ticket,
   * the one the object's metadata carries. Absent: the library signs with STS credentials.
   */
  ticket?: string;
}

export interface CheckpointStore {
  get(id: string): Promise<Checkpoint | undefined>;
  set(id: string, checkpoint: Checkpoint): Promise<void>;
  delete(id: string): Promise<void>;
}

/** The default id: the same file (name, size, modification time) of the same content type resumes. */
export function fileFingerprint(file: {
  name?: string;
  size: number;
  lastModified?: number;
  type?: string;
}): string {
  return `upcall:${file.name ?? 'blob'}:${file.size}:${file.lastModified ?? 0}:${file.type ?? ''}`;
}

export function isCheckpoint(value: unknown): value is Checkpoint {
  const c = value as Partial<Checkpoint> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    c.version === 1 &&
    typeof c.key === 'string' &&
    typeof c.uploadId === 'string' &&
    typeof c.partSize === 'number' &&
    typeof c.size === 'number' &&
    typeof c.keyPrefix === 'string'
  );
}

export function memoryCheckpoints(): CheckpointStore {
  const map = new Map<string, Checkpoint>();
  return {
    get: async (id) => map.get(id),
    set: async (id, checkpoint) => void map.set(id, checkpoint),
    delete: async (id) => void map.delete(id),
  };
}
