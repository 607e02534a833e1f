/**
 * The local FC's functions: registered handlers, run with their role's temporary credentials, synchronously or from
 * per-function async queues with FC's retry-then-give-up behaviour. Every invocation and attempt is recorded and
 * exhausted jobs are kept as dead letters, so tests can assert on them. Async invocations are durable (async-store.ts):
 * a local cloud started on the same data dir resumes them once their function is registered, and one that was running
 * when the process died counts as a failed attempt and is retried, as FC retries an invocation whose instance died.
 * No HTTP here (see server.ts).
 */
import { randomUUID } from 'node:crypto';
import type { LocalAccount, TemporaryCredential } from '../credentials.js';
import { AsyncInvocationStore, type InvocationStatus, type StoredInvocation } from './async-store.js';

export type { InvocationStatus };

export interface FunctionCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
}

/** The `context` a handler gets, like FC's Node.js runtime gives it. */
export interface LocalFcContext {
  requestId: string;
  /** The function role's temporary credentials; absent when the function has no role. */
  credentials?: FunctionCredentials;
  function: { name: string };
  region: string;
  accountId: string;
}

export type LocalFcHandler = (event: Buffer, context: LocalFcContext) => Promise<unknown>;

export interface RegisterOptions {
  /** RAM role the function runs as (must exist in the account). */
  roleArn?: string;
  /** FC's `asyncInvokeConfig.maxAsyncRetryAttempts`: retries after a failed async attempt (0–8, default 3). */
  maxAsyncRetryAttempts?: number;
  /** Async jobs of this function run at most this many at a time (default 1, so tests are deterministic). */
  concurrency?: number;
}

export interface InvocationRecord {
  requestId: string;
  functionName: string;
  type: 'Sync' | 'Async';
  /** Async only: the task id (given by the caller or generated). */
  taskId?: string;
  event: Buffer;
  status: InvocationStatus;
  /** Attempts made so far (1 for a job that succeeded first time). */
  attempts: number;
  /** Error message of each failed attempt, in order. */
  errors: string[];
  /** What the handler returned, once it succeeded. */
  result?: unknown;
  receivedAt: string;
  finishedAt?: string;
}

export interface DeadLetter {
  functionName: string;
  taskId: string;
  requestId: string;
  event: Buffer;
  attempts: number;
  lastErrorMessage: string;
  failedAt: string;
}

/** An FC API error: HTTP status, FC's code and message. */
export class FcError extends Error {
  override name = 'FcError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type SyncOutcome =
  | { ok: true; requestId: string; result: unknown }
  | { ok: false; requestId: string; errorMessage: string; errorType: string; stackTrace: string[] };

interface RegisteredFunction {
  name: string;
  handler: LocalFcHandler;
  roleArn: string | undefined;
  maxAsyncRetryAttempts: number;
  concurrency: number;
  pending: InvocationRecord[];
  running: number;
  taskIds: Set<string>;
  credential: TemporaryCredential | undefined;
}

/** The HTTP status of FC's refusal of a repeated async task id: its docs give both. */
export type DuplicateTaskStatus = 409 | 400;

/** FC's documented task id rule: starts with a letter or `_`, then letters, digits, `_`, `-`; at most 128. */
const TASK_ID = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
/** Async payloads above 128 KB are refused by FC. */
export const MAX_ASYNC_PAYLOAD_BYTES = 128 * 1024;
/** Role credentials are re-minted when less than this remains, as FC refreshes them before expiry. */
const CREDENTIAL_REFRESH_MS = 10 * 60 * 1000;
/** The failed attempt recorded for an invocation that was running when the local cloud's process died. */
export const INSTANCE_DIED_MESSAGE = 'the instance running this invocation stopped before it finished';

const describe = (error: unknown) =>
  error instanceof Error
    ? {
        message: error.message,
        type: error.name,
        stack: (error.stack ?? '')
          .split('\n')
          .slice(1)
          .map((l) => l.trim()),
      }
    : { message: String(error), type: 'Error', stack: [] };

export class LocalFunctions {
  private readonly functions = new Map<string, RegisteredFunction>();
  private readonly records: InvocationRecord[] = [];
  private readonly store: AsyncInvocationStore;
  /** Unfinished async invocations read back at start, by function: they resume when it is registered. */
  private readonly resumable = new Map<string, Array<{ record: InvocationRecord; notBefore: number }>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private unfinished = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly account: LocalAccount,
    readonly region: string,
    /** Where async invocations are kept (see async-store.ts). */
    dataDir: string,
    private readonly retryBackoffMs: number,
    /** How a repeated task id is refused: FC's task-deduplication pages say 409, an older copy of them 400. */
    private readonly duplicateTaskStatus: DuplicateTaskStatus = 409,
  ) {
    this.store = new AsyncInvocationStore(dataDir);
    for (const stored of this.store.load()) {
      const record: InvocationRecord = {
        requestId: stored.requestId,
        functionName: stored.functionName,
        type: 'Async',
        taskId: stored.taskId,
        event: Buffer.from(stored.event, 'base64'),
        status: stored.status,
        attempts: stored.attempts,
        errors: stored.errors,
        receivedAt: stored.receivedAt,
        ...(stored.finishedAt ? { finishedAt: stored.finishedAt } : {}),
      };
      this.records.push(record);
      if (stored.status === 'succeeded' || stored.status === 'dead-lettered') continue;
      const waiting = this.resumable.get(stored.functionName) ?? [];
      waiting.push({ record, notBefore: stored.notBefore });
      this.resumable.set(stored.functionName, waiting);
    }
  }

  register(name: string, handler: LocalFcHandler, options: RegisterOptions = {}): void {
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name)) throw new Error(`invalid function name ${name}`);
    if (options.roleArn && !this.account.role(options.roleArn)) {
      throw new Error(`role ${options.roleArn} does not exist in the local account`);
    }
    const retries = options.maxAsyncRetryAttempts ?? 3;
    if (!Number.isInteger(retries) || retries < 0 || retries > 8) {
      throw new Error('maxAsyncRetryAttempts must be an integer from 0 to 8');
    }
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error('concurrency must be a positive integer');
    const existing = this.functions.get(name);
    if (existing) {
      // Re-registering replaces the code and settings; queued jobs, task ids and cached credentials stay.
      existing.handler = handler;
      existing.maxAsyncRetryAttempts = retries;
      existing.concurrency = concurrency;
      if (existing.roleArn !== options.roleArn) existing.credential = undefined;
      existing.roleArn = options.roleArn;
      return;
    }
    const fn: RegisteredFunction = {
      name,
      handler,
      roleArn: options.roleArn,
      maxAsyncRetryAttempts: retries,
      concurrency,
      pending: [],
      running: 0,
      taskIds: new Set(
        this.records.flatMap((r) => (r.functionName === name && r.taskId !== undefined ? [r.taskId] : [])),
      ),
      credential: undefined,
    };
    this.functions.set(name, fn);
    this.resume(fn);
  }

  get accountId(): string {
    return this.account.accountId;
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  /**
   * Queue an async invocation, as FC does on a 202, to start after `delayMs` (FC's `x-fc-async-delay`). Throws FcError
   * for an unknown function or a reused task id.
   */
  invokeAsync(
    name: string,
    event: Uint8Array,
    taskId?: string,
    delayMs = 0,
  ): { requestId: string; taskId: string } {
    const fn = this.lookup(name);
    if (taskId !== undefined && !TASK_ID.test(taskId)) {
      throw new FcError(
        400,
        'InvalidArgument',
        `invalid async task id '${taskId}': it must start with a letter or underscore and contain only letters, digits, underscores and hyphens (at most 128)`,
      );
    }
    if (event.byteLength > MAX_ASYNC_PAYLOAD_BYTES) {
      throw new FcError(
        400,
        'EntityTooLarge',
        `payload size exceeds maximum allowed size (${MAX_ASYNC_PAYLOAD_BYTES} bytes)`,
      );
    }
    const requestId = randomUUID();
    const id = taskId ?? requestId;
    if (fn.taskIds.has(id)) {
      throw new FcError(
        this.duplicateTaskStatus,
        'StatefulAsyncInvocationAlreadyExists',
        `async task '${id}' of function '${name}' already exists`,
      );
    }
    fn.taskIds.add(id);
    const record = this.newRecord(fn, 'Async', event, requestId, id);
    // Kept before FC's 202 is answered: an accepted invocation survives the process.
    this.persist(record, Date.now() + delayMs);
    this.unfinished += 1;
    this.enqueueAfter(fn, record, delayMs);
    return { requestId, taskId: id };
  }

  /** Run the handler now and report its result or its error (FC answers both with 200). */
  async invokeSync(name: string, event: Uint8Array): Promise<SyncOutcome> {
    const fn = this.lookup(name);
    const requestId = randomUUID();
    const record = this.newRecord(fn, 'Sync', event, requestId);
    record.status = 'running';
    record.attempts = 1;
    try {
      record.result = await fn.handler(record.event, this.context(fn, requestId));
      this.settle(record, 'succeeded');
      return { ok: true, requestId, result: record.result };
    } catch (error) {
      const { message, type, stack } = describe(error);
      record.errors.push(message);
      this.settle(record, 'failed');
      return { ok: false, requestId, errorMessage: message, errorType: type, stackTrace: stack };
    }
  }

  invocations(name?: string): InvocationRecord[] {
    return this.records
      .filter((r) => name === undefined || r.functionName === name)
      .map((r) => ({ ...r, errors: [...r.errors] }));
  }

  deadLetters(name?: string): DeadLetter[] {
    return this.records
      .filter((r) => r.status === 'dead-lettered' && (name === undefined || r.functionName === name))
      .map((r) => ({
        functionName: r.functionName,
        taskId: r.taskId ?? r.requestId,
        requestId: r.requestId,
        event: r.event,
        attempts: r.attempts,
        lastErrorMessage: r.errors.at(-1) ?? '',
        failedAt: r.finishedAt ?? '',
      }));
  }

  /** Resolves once every queued job has succeeded or been dead-lettered. */
  idle(): Promise<void> {
    if (this.unfinished === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop starting attempts and writing state, and release anyone waiting on idle(). What is queued stays in the data
   * dir; an attempt still running is, like one killed, retried by the next local cloud on this data dir.
   */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.releaseIdleWaiters();
  }

  private lookup(name: string): RegisteredFunction {
    const fn = this.functions.get(name);
    if (!fn) throw new FcError(404, 'FunctionNotFound', `function '${name}' does not exist`);
    return fn;
  }

  private newRecord(
    fn: RegisteredFunction,
    type: 'Sync' | 'Async',
    event: Uint8Array,
    requestId: string,
    taskId?: string,
  ): InvocationRecord {
    const record: InvocationRecord = {
      requestId,
      functionName: fn.name,
      type,
      ...(taskId ? { taskId } : {}),
      event: Buffer.from(event),
      status: 'queued',
      attempts: 0,
      errors: [],
      receivedAt: new Date().toISOString(),
    };
    this.records.push(record);
    return record;
  }

  private context(fn: RegisteredFunction, requestId: string): LocalFcContext {
    const credentials = this.roleCredentials(fn);
    return {
      requestId,
      ...(credentials ? { credentials } : {}),
      function: { name: fn.name },
      region: this.region,
      accountId: this.account.accountId,
    };
  }

  private roleCredentials(fn: RegisteredFunction): FunctionCredentials | undefined {
    if (!fn.roleArn) return undefined;
    const current = fn.credential;
    if (!current || Date.parse(current.expiration) - Date.now() < CREDENTIAL_REFRESH_MS) {
      const role = this.account.role(fn.roleArn);
      fn.credential = this.account.issueTemporary({
        roleArn: fn.roleArn,
        roleSessionName: `fc-${fn.name}`.slice(0, 64),
        durationSeconds: role?.maxSessionDuration ?? 3600,
      });
    }
    const { accessKeyId, accessKeySecret, securityToken } = fn.credential as TemporaryCredential;
    return { accessKeyId, accessKeySecret, securityToken };
  }

  private pump(fn: RegisteredFunction): void {
    while (!this.stopped && fn.running < fn.concurrency && fn.pending.length > 0) {
      const record = fn.pending.shift() as InvocationRecord;
      fn.running += 1;
      void this.attempt(fn, record).finally(() => {
        fn.running -= 1;
        this.pump(fn);
      });
    }
  }

  /** Take up the function's invocations read back at start: queued ones keep their delay, running ones died. */
  private resume(fn: RegisteredFunction): void {
    const waiting = this.resumable.get(fn.name) ?? [];
    this.resumable.delete(fn.name);
    for (const { record, notBefore } of waiting) {
      this.unfinished += 1;
      if (record.status === 'running') this.failAttempt(fn, record, INSTANCE_DIED_MESSAGE);
      else this.enqueueAfter(fn, record, notBefore - Date.now());
    }
  }

  private enqueueAfter(fn: RegisteredFunction, record: InvocationRecord, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      fn.pending.push(record);
      this.pump(fn);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn.pending.push(record);
      this.pump(fn);
    }, delayMs);
    this.timers.add(timer);
  }

  private async attempt(fn: RegisteredFunction, record: InvocationRecord): Promise<void> {
    record.status = 'running';
    record.attempts += 1;
    // Written before the handler starts, so that a process killed during it leaves a running attempt to retry.
    this.persist(record);
    let result: unknown;
    try {
      result = await fn.handler(record.event, this.context(fn, record.requestId));
    } catch (error) {
      this.failAttempt(fn, record, describe(error).message);
      return;
    }
    record.result = result;
    this.settle(record, 'succeeded');
    this.persist(record);
    this.finishJob();
  }

  private failAttempt(fn: RegisteredFunction, record: InvocationRecord, message: string): void {
    record.errors.push(message);
    if (record.attempts <= fn.maxAsyncRetryAttempts) {
      record.status = 'retrying';
      const backoffMs = this.retryBackoffMs * record.attempts;
      this.persist(record, Date.now() + backoffMs);
      this.enqueueAfter(fn, record, backoffMs);
      return;
    }
    this.settle(record, 'dead-lettered');
    this.persist(record);
    this.finishJob();
  }

  private persist(record: InvocationRecord, notBefore = 0): void {
    // A stopped FC is out of the picture, as a killed one is: the next one on this data dir decides what happened.
    if (this.stopped || record.type !== 'Async' || record.taskId === undefined) return;
    const stored: StoredInvocation = {
      functionName: record.functionName,
      requestId: record.requestId,
      taskId: record.taskId,
      event: record.event.toString('base64'),
      status: record.status,
      attempts: record.attempts,
      errors: record.errors,
      notBefore,
      receivedAt: record.receivedAt,
      ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
    };
    this.store.save(stored);
  }

  private settle(record: InvocationRecord, status: InvocationStatus): void {
    record.status = status;
    record.finishedAt = new Date().toISOString();
  }

  private finishJob(): void {
    this.unfinished -= 1;
    if (this.unfinished === 0) this.releaseIdleWaiters();
  }

  private releaseIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
