/**
 * The temporary credentials the local STS has issued, kept so OSS, FC and KMS (possibly in another process) can look
 * them up. Only live credentials are kept, at most `maxLive` of them, and each issue appends one line to a JSON-lines
 * file instead of rewriting everything issued so far:
 *
 * - append: one `appendFileSync` per credential (O(1) whatever was issued before);
 * - expiry: a credential is kept for a day after it expires (so OSS and STS answer "token expired", as the real
 *   services do, rather than "unknown key"), then dropped from memory and never written again;
 * - bound: beyond `maxLive` live credentials the oldest issued is forgotten (its holder then gets
 *   InvalidAccessKeyId, as after a real STS credential is revoked);
 * - compaction: when the file holds more than twice the live credentials (plus slack), it is rewritten with the
 *   live ones only, through a temporary file and a rename, so a reader never sees half a file;
 * - other processes: a lookup that misses reads what was appended since the last read; a file that shrank or was
 *   replaced (compaction elsewhere) is read again from the start.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
}

/** A credential STS issued: an AccessKey with its security token, for one role session. */
export interface TemporaryCredential extends AccessKey {
  securityToken: string;
  /** STS's format: `2026-11-21T09:00:00Z`. */
  expiration: string;
  roleArn: string;
  roleSessionName: string;
  /** Session policy text, if one was passed to AssumeRole. */
  sessionPolicy?: string;
}

/** Live credentials kept by default: far above what a dev stack or benchmark holds within one credential lifetime. */
export const DEFAULT_MAX_LIVE_CREDENTIALS = 100_000;
const COMPACTION_SLACK_LINES = 1_000;
const EXPIRED_KEPT_MS = 86_400_000;

export class TemporaryCredentialStore {
  /** By access key id, in issue order (Map keeps insertion order: the first entry is the oldest issued). */
  private readonly live = new Map<string, TemporaryCredential>();
  private linesInFile = 0;
  /** How far this process has read the file, and which file (inode) that was. */
  private readOffset = 0;
  private readInode = -1;

  constructor(
    private readonly file: string,
    private readonly maxLive = DEFAULT_MAX_LIVE_CREDENTIALS,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.readNew();
    // Start from a file that holds live credentials only.
    this.compact();
  }

  get size(): number {
    return this.live.size;
  }

  add(credential: TemporaryCredential): void {
    this.remember(credential);
    appendFileSync(this.file, `${JSON.stringify(credential)}\n`, { mode: 0o600 });
    this.linesInFile += 1;
    if (this.linesInFile > 2 * this.live.size + COMPACTION_SLACK_LINES) this.compact();
  }

  get(accessKeyId: string): TemporaryCredential | undefined {
    let credential = this.live.get(accessKeyId);
    if (!credential) {
      // Another process (a separately started STS) may have issued it since we last read.
      this.readNew();
      credential = this.live.get(accessKeyId);
    }
    if (credential && this.forgettable(credential, this.now())) {
      this.live.delete(accessKeyId);
      return undefined;
    }
    return credential;
  }

  private forgettable(credential: TemporaryCredential, now: number): boolean {
    return Date.parse(credential.expiration) + EXPIRED_KEPT_MS <= now;
  }

  private remember(credential: TemporaryCredential): void {
    if (this.forgettable(credential, this.now())) return;
    this.live.delete(credential.accessKeyId);
    this.live.set(credential.accessKeyId, credential);
    this.dropExpiredAndExcess();
  }

  /** Long-expired credentials from the oldest end (a close approximation: durations differ), then any beyond the bound. */
  private dropExpiredAndExcess(): void {
    const now = this.now();
    for (const [id, credential] of this.live) {
      if (this.live.size <= this.maxLive && !this.forgettable(credential, now)) break;
      this.live.delete(id);
    }
  }

  private compact(): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    const lines = [...this.live.values()].map((credential) => `${JSON.stringify(credential)}\n`);
    writeFileSync(temp, lines.join(''), { mode: 0o600 });
    renameSync(temp, this.file);
    this.linesInFile = lines.length;
    const stat = statSync(this.file);
    this.readOffset = stat.size;
    this.readInode = stat.ino;
  }

  /** Read the lines appended since the last read (all of them when the file was replaced). */
  private readNew(): void {
    if (!existsSync(this.file)) return;
    const fd = openSync(this.file, 'r');
    try {
      const stat = fstatSync(fd);
      if (stat.ino !== this.readInode || stat.size < this.readOffset) {
        this.readOffset = 0;
        this.readInode = stat.ino;
        this.linesInFile = 0;
      }
      const length = stat.size - this.readOffset;
      if (length <= 0) return;
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, this.readOffset);
      // Only whole lines: a writer may be half-way through one.
      const end = buffer.lastIndexOf(0x0a) + 1;
      this.readOffset += end;
      for (const line of buffer.subarray(0, end).toString('utf8').split('\n')) {
        if (line === '') continue;
        this.linesInFile += 1;
        try {
          this.remember(JSON.parse(line) as TemporaryCredential);
        } catch {
          // A torn line from a crashed writer: skip it, the rest of the file is still good.
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}
