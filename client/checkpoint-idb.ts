/** Checkpoints in IndexedDB (one object store, keyed by the checkpoint id): they survive reloads and restarts. */
import { type Checkpoint, type CheckpointStore, isCheckpoint } from './checkpoint.js';

const STORE = 'checkpoints';

function request<T>(
  make: (store: IDBObjectStore) => IDBRequest<T>,
  db: IDBDatabase,
  mode: IDBTransactionMode,
) {
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = make(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function indexedDbCheckpoints(name = 'upcall-uploads'): CheckpointStore {
  let opened: Promise<IDBDatabase> | undefined;
  const db = () => {
    opened ??= new Promise((resolve, reject) => {
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    return opened;
  };
  return {
    async get(id) {
      const value = await request((s) => s.get(id), await db(), 'readonly');
      return isCheckpoint(value) ? (value as Checkpoint) : undefined;
    },
    async set(id, checkpoint) {
      await request((s) => s.put(checkpoint, id), await db(), 'readwrite');
    },
    async delete(id) {
      await request((s) => s.delete(id), await db(), 'readwrite');
    },
  };
}
