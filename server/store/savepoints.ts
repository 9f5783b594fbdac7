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
import type { Db, Statement } from './database.js';

interface Statements {
  begin: Statement;
  release: Statement;
  rollbackTo: Statement;
}

export class LazySavepoints {
  /** Savepoints asked for, innermost last; the issued ones are always a prefix. */
  private readonly stack: { name: string; issued: boolean; wrote: boolean }[] = [];
  /** Writes kept outside any open savepoint since the last takeTransactionWrites(). */
  private transactionWrote = false;
  private readonly prepared = new Map<string, Statements>();

  constructor(private readonly db: Db) {}

  open(name: string): void {
    this.stack.push({ name, issued: false, wrote: false });
  }

  /** Issues every savepoint asked for and not yet issued, outermost first. */
  beforeWrite(): void {
    for (const s of this.stack) {
      if (s.issued) continue;
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
    if (this.pop(name)) this.statements(name).release.run();
    if (!wrote) return;
    const outer = this.stack[this.stack.length - 1];
    if (outer) outer.wrote = true;
    else this.transactionWrote = true;
  }

  /** ROLLBACK TO, then RELEASE: undoes what was written since `name`, and ends it. */
  rollbackTo(name: string): void {
    if (this.pop(name)) {
      const s = this.statements(name);
      s.rollbackTo.run();
      s.release.run();
    }
  }

  /** Removes `name` and everything inside it; returns whether `name` was issued. */
  private indexOf(name: string): number {
    const at = this.stack.findLastIndex((s) => s.name === name);
    if (at < 0) throw new Error(`no savepoint ${name} is open`);
    return at;
  }

  private pop(name: string): boolean {
    const at = this.indexOf(name);
    const issued = this.stack[at]!.issued;
    this.stack.length = at;
    return issued;
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
