/**
 * Where the local FC keeps its async invocations: one JSON file per accepted invocation,
 * `<dataDir>/<function>/<task id>.json`, rewritten (atomically, by rename) at every change of state. FC does not
 * forget an accepted async invocation when an instance dies, so neither does a killed local cloud: on start every
 * file is read back, unfinished invocations are resumed and finished ones keep their task ids taken, as FC remembers
 * a task for 7 days — older finished files are removed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type InvocationStatus = 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'dead-lettered';

/** FC's async task records can be queried for 7 days; a task id stays taken as long. */
export const TASK_RETENTION_MS = 7 * 24 * 3600 * 1000;

export interface StoredInvocation {
  functionName: string;
  requestId: string;
  taskId: string;
  /** The payload, base64. */
  event: string;
  status: InvocationStatus;
  attempts: number;
  errors: string[];
  /** Epoch ms before which the next attempt must not start (`x-fc-async-delay`, or a retry's backoff). */
  notBefore: number;
  receivedAt: string;
  finishedAt?: string;
}

const FINISHED: ReadonlySet<InvocationStatus> = new Set(['succeeded', 'dead-lettered']);

export class AsyncInvocationStore {
  constructor(private readonly dir: string) {}

  save(invocation: StoredInvocation): void {
    const dir = join(this.dir, invocation.functionName);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${invocation.taskId}.json`);
    const temp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(temp, JSON.stringify(invocation));
    renameSync(temp, file);
  }

  /** Every stored invocation, oldest first; finished ones past the retention are removed instead. */
  load(now = Date.now()): StoredInvocation[] {
    if (!existsSync(this.dir)) return [];
    const loaded: StoredInvocation[] = [];
    for (const functionName of readdirSync(this.dir)) {
      const dir = join(this.dir, functionName);
      for (const name of readdirSync(dir)) {
        const file = join(dir, name);
        // A temp file is a write the kill interrupted: the previous state, still in place, is the one that counts.
        if (!name.endsWith('.json')) {
          rmSync(file, { force: true });
          continue;
        }
        const invocation = JSON.parse(readFileSync(file, 'utf8')) as StoredInvocation;
        const finishedAt = invocation.finishedAt ? Date.parse(invocation.finishedAt) : now;
        if (FINISHED.has(invocation.status) && now - finishedAt > TASK_RETENTION_MS) rmSync(file);
        else loaded.push(invocation);
      }
    }
    return loaded.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  }
}
