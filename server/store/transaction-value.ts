// A value the open transaction changes in memory and stores once, just before its COMMIT (the store
// digest, mirroring's group digest): storing it with every write cost more than the write. A
// savepoint takes a mark of it (savepoints.ts); rolling the savepoint back restores the mark, and a
// rolled-back transaction forgets it, so the next read is the committed value.
import type { DeferredState } from './savepoints.js';

export class TransactionValue<T> implements DeferredState {
  private pending: T | undefined;

  /** `load` reads the stored value, `store` writes it, `copy` makes an independent copy (marks are not changed by later writes). */
  constructor(
    private readonly load: () => T,
    private readonly store: (value: T) => void,
    private readonly copy: (value: T) => T,
  ) {}

  /** The value as the open transaction left it, or as stored (do not change it: see edit). */
  current(): T {
    return this.pending ?? this.load();
  }

  /** The value to change in place, read once per transaction. */
  edit(): T {
    return (this.pending ??= this.load());
  }

  /** A copy of the transaction's value; undefined: it changed nothing yet. */
  mark(): T | undefined {
    return this.pending === undefined ? undefined : this.copy(this.pending);
  }

  restore(mark: unknown): void {
    this.pending = mark === undefined ? undefined : this.copy(mark as T);
  }

  /** Stores the transaction's value, if it changed one (inside the transaction, just before COMMIT). */
  flush(): void {
    if (this.pending === undefined) return;
    this.store(this.pending);
    this.pending = undefined;
  }

  discard(): void {
    this.pending = undefined;
  }
}
