// Nested savepoints (each batch item, each Undo batch, each request) opened lazily: a savepoint
// asked for is issued only just before the first write after it, outer ones first. Rolling back to
// or releasing a savepoint that was never issued has nothing to undo or keep, so a read-only
// request (most of them: Get, Locate, Get Attributes) runs no savepoint statements at all.
// Whoever writes must call beforeWrite() first (KeyStore does, in insert and save).
import type { Db, Statement } from './database.js';

interface Statements {
  begin: Statement;
  release: Statement;
  rollbackTo: Statement;
}

export class LazySavepoints {
  /** Savepoints asked for, innermost last; the issued ones are always a prefix. */
  private readonly stack: { name: string; issued: boolean }[] = [];
  private readonly prepared = new Map<string, Statements>();

  constructor(private readonly db: Db) {}

  open(name: string): void {
    this.stack.push({ name, issued: false });
  }

  /** Issues every savepoint asked for and not yet issued, outermost first. */
  beforeWrite(): void {
    for (const s of this.stack) {
      if (s.issued) continue;
      this.statements(s.name).begin.run();
      s.issued = true;
    }
  }

  /** RELEASE: keeps what was written since `name` (and ends the savepoints inside it). */
  release(name: string): void {
    if (this.pop(name)) this.statements(name).release.run();
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
  private pop(name: string): boolean {
    const at = this.stack.findLastIndex((s) => s.name === name);
    if (at < 0) throw new Error(`no savepoint ${name} is open`);
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
