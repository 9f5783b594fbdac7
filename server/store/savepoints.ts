// Nested savepoints (each batch item, each Undo batch, each request) opened lazily: a savepoint
// asked for is issued only just before the first write after it, outer ones first. Rolling back to
// or releasing a savepoint that was never issued has nothing to undo or keep, so a read-only
// request (most of them: Get, Locate, Get Attributes) runs no savepoint statements at all.
// Whoever writes must call beforeWrite() first (KeyStore does, on its one write path).
//
// The savepoints also record whether anything written is still kept: a write marks the innermost
// savepoint, a release hands the mark to the enclosing one (or to the transaction), a rollback drops
// it. takeTransactionWrites() then says whether the transaction about to commit holds a write, so
// durability follows from the writes themselves rather than from each caller remembering.
//
// A writer may keep state in memory for the whole transaction and store it once, at its commit (the
// store digest, sealed once per transaction rather than once per write): each issued savepoint takes
// a mark of that state, a rollback to it restores the mark, and a savepoint that began the transaction
// (none was open) has the state stored before its RELEASE commits.
import type { Db, Statement } from './database.js';

/** State a writer keeps in memory for the open transaction and stores once, just before it commits. */
export interface DeferredState {
  /** A copy of the state as it is now (taken when a savepoint is issued). */
  mark(): unknown;
  /** Back to a mark: the savepoint it was taken at was rolled back. */
  restore(mark: unknown): void;
  /** Stores the state in the database (inside the transaction, just before COMMIT). */
  flush(): void;
  /** The transaction was rolled back: forgets the state. */
  discard(): void;
}

const NOTHING_DEFERRED: DeferredState = { mark: () => undefined, restore: () => {}, flush: () => {}, discard: () => {} };

interface Savepoint {
  name: string;
  issued: boolean;
  wrote: boolean;
  /** The deferred state's mark, taken when issued. */
  mark?: unknown;
  /** Issued outside any transaction: its RELEASE commits. */
  beganTransaction?: boolean;
}

interface Statements {
  begin: Statement;
  release: Statement;
  rollbackTo: Statement;
}

export class LazySavepoints {
  /** Savepoints asked for, innermost last; the issued ones are always a prefix. */
  private readonly stack: Savepoint[] = [];
  /** Writes kept outside any open savepoint since the last takeTransactionWrites(). */
  private transactionWrote = false;
  private readonly prepared = new Map<string, Statements>();

  constructor(
    private readonly db: Db,
    private readonly deferred: DeferredState = NOTHING_DEFERRED,
  ) {}

  open(name: string): void {
    this.stack.push({ name, issued: false, wrote: false });
  }

  /** Issues every savepoint asked for and not yet issued, outermost first. */
  beforeWrite(): void {
    for (const s of this.stack) {
      if (s.issued) continue;
      s.beganTransaction = !this.db.inTransaction;
      s.mark = this.deferred.mark();
      this.statements(s.name).begin.run();
      s.issued = true;
    }
    const inner = this.stack[this.stack.length - 1];
    if (inner) inner.wrote = true;
    else this.transactionWrote = true;
  }

  /** Whether the open transaction holds a kept write; resets the record (call at commit or rollback). */
  takeTransactionWrites(): boolean {
    const wrote = this.transactionWrote;
    this.transactionWrote = false;
    return wrote;
  }

  /** RELEASE: keeps what was written since `name` (and ends the savepoints inside it). */
  release(name: string): void {
    let wrote = false;
    for (let i = this.indexOf(name); i < this.stack.length; i++) wrote ||= this.stack[i]!.wrote;
    const s = this.pop(name);
    if (s.issued) {
      if (s.beganTransaction) this.deferred.flush(); // this RELEASE commits
      this.statements(name).release.run();
    }
    if (!wrote) return;
    const outer = this.stack[this.stack.length - 1];
    if (outer) outer.wrote = true;
    else this.transactionWrote = true;
  }

  /** ROLLBACK TO, then RELEASE: undoes what was written since `name`, and ends it. */
  rollbackTo(name: string): void {
    const s = this.pop(name);
    if (s.issued) {
      const stmts = this.statements(name);
      stmts.rollbackTo.run();
      stmts.release.run();
      this.deferred.restore(s.mark);
    }
  }

  private indexOf(name: string): number {
    const at = this.stack.findLastIndex((s) => s.name === name);
    if (at < 0) throw new Error(`no savepoint ${name} is open`);
    return at;
  }

  /** Removes `name` and everything inside it; returns `name`'s entry. */
  private pop(name: string): Savepoint {
    const at = this.indexOf(name);
    const s = this.stack[at]!;
    this.stack.length = at;
    return s;
  }

  /** Prepared once per name: exec would parse the statement on every request. */
  private statements(name: string): Statements {
    let s = this.prepared.get(name);
    if (!s) {
      if (!/^[a-z_]+$/.test(name)) throw new Error(`invalid savepoint name ${name}`);
      s = {
        begin: this.db.prepare(`SAVEPOINT ${name}`),
        release: this.db.prepare(`RELEASE ${name}`),
        rollbackTo: this.db.prepare(`ROLLBACK TO ${name}`),
      };
      this.prepared.set(name, s);
    }
    return s;
  }
}
