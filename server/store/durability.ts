// Group commit with an asynchronous WAL fsync.
//
// SQLite commits with synchronous=NORMAL: the WAL frames are written (so a killed process loses
// nothing) but not fsynced. Before a response that depends on a commit is released, this module
// fdatasyncs the WAL file on libuv's thread pool, so the event loop never waits on the disk and one
// fsync covers every commit made before it started. fsync flushes the file (inode), whichever
// descriptor wrote it, so our own descriptor on the -wal file is enough.
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';
import { constants } from 'node:fs';
import { fsyncDir } from '../../lib/atomic-file.js';
import { dirname } from 'node:path';

type Waiter = { need: number; release: (err?: Error) => void };

export class WalDurability {
  private fd: number;
  private ino: number;
  /** Number of commits that need an fsync, and how many of them are known durable. */
  private committed = 0;
  private durable = 0;
  private syncing = false;
  private waiters: Waiter[] = [];
  private closed = false;

  constructor(private readonly walPath: string) {
    this.fd = openSync(walPath, constants.O_RDONLY);
    this.ino = fstatSync(this.fd).ino;
    fsyncDir(dirname(walPath));
  }

  /** Records a commit whose data must be on disk before dependent responses go out. */
  noteCommit(): number {
    return ++this.committed;
  }

  /** The latest commit a response may depend on. */
  get latest(): number {
    return this.committed;
  }

  /** Calls `release` once commit number `need` (and all before it) is on disk. */
  whenDurable(need: number, release: (err?: Error) => void): void {
    if (need <= this.durable) return release();
    this.waiters.push({ need, release });
    this.kick();
  }

  /** Flushes outstanding commits (for the periodic sync of read-only audit records). */
  flush(): void {
    if (this.committed > this.durable) this.kick();
  }

  private kick(): void {
    if (this.syncing || this.closed) return;
    this.syncing = true;
    const target = this.committed;
    this.reopenIfReplaced();
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err) {
        const failed = this.waiters;
        this.waiters = [];
        for (const w of failed) w.release(err);
        return;
      }
      this.durable = Math.max(this.durable, target);
      const still: Waiter[] = [];
      for (const w of this.waiters) (w.need <= this.durable ? w.release() : still.push(w));
      this.waiters = still;
      // Again only for a waiting response: commits nobody waits for (read-only epochs' audit
      // records) are left to flush(), or else under a steady read load this fsyncs back to back.
      if (this.waiters.length > 0) this.kick();
    });
  }

  /** SQLite keeps its WAL file while a connection is open; this guards against it being replaced. */
  private reopenIfReplaced(): void {
    try {
      if (statSync(this.walPath).ino === this.ino) return;
    } catch {
      return; // no WAL file: everything is in the main database, synced by the checkpoint
    }
    closeSync(this.fd);
    this.fd = openSync(this.walPath, constants.O_RDONLY);
    this.ino = fstatSync(this.fd).ino;
  }

  close(): void {
    this.closed = true;
    closeSync(this.fd);
  }
}
