// Fair turns for requests on the single event loop. Each request runs to completion once started
// (the store is synchronous), so fairness is decided in which request runs next:
//
// - While the current turn of the event loop has spent less than `sliceMs` running requests and
//   nothing is waiting, a request runs at once (the common case: no added latency).
// - Otherwise it waits in its identity's queue. Queues are served round-robin, one request per
//   identity per round, a slice at a time, yielding to the event loop between slices so new input
//   (other clients' requests, timers, fsync completions) is taken in.
//
// So a client identity that floods the server, over any number of connections, gets one turn in
// each round like every other identity: another client waits at most for the request running now
// plus one request of each other busy identity, each bounded by the request limits.
import { performance } from 'node:perf_hooks';

export class RequestScheduler {
  /** Waiting requests per identity; Map order is the round-robin order. */
  private readonly queues = new Map<string, (() => void)[]>();
  private waiting = 0;
  /** Milliseconds spent running requests in the current turn. */
  private used = 0;
  private turnEndScheduled = false;
  private drainScheduled = false;
  /**
   * Whose request ran last. It goes behind every identity waiting at the next pick, also those
   * whose requests were read only after it started (they were still in the socket then).
   */
  private lastServed: string | undefined;

  constructor(
    private readonly sliceMs = 10,
    private readonly clock: () => number = () => performance.now(),
    /**
     * Called after each slice of waiting requests (the service commits their transaction there), so
     * their responses do not wait for whatever request the next turn runs first.
     */
    private readonly onSliceEnd: () => void = () => {},
  ) {}

  /** Runs `job` for `identity` now if fair, else when its turn comes. */
  submit(identity: string, job: () => void): void {
    if (this.mayRunNow()) {
      this.run(identity, job);
      return;
    }
    this.enqueue(identity, job);
  }

  /**
   * Whether a request may run at once: nothing waits and the turn has time left. A caller that
   * runs it itself (without a closure, on the hot path) brackets it with begin() and end().
   */
  mayRunNow(): boolean {
    return this.waiting === 0 && this.used < this.sliceMs;
  }

  begin(): number {
    return this.clock();
  }

  end(started: number, identity: string): void {
    this.used += this.clock() - started;
    this.lastServed = identity;
    if (!this.turnEndScheduled) {
      this.turnEndScheduled = true;
      setImmediate(this.endTurn);
    }
  }

  private readonly endTurn = (): void => {
    this.turnEndScheduled = false;
    this.used = 0;
  };

  /** Queues `job` behind `identity`'s earlier ones, to run in its turn. */
  enqueue(identity: string, job: () => void): void {
    const queue = this.queues.get(identity);
    if (queue) queue.push(job);
    else this.queues.set(identity, [job]);
    this.waiting++;
    this.scheduleDrain();
  }

  /** Requests waiting for their turn (for tests and diagnostics). */
  get backlog(): number {
    return this.waiting;
  }

  private run(identity: string, job: () => void): void {
    const started = this.begin();
    try {
      job();
    } finally {
      this.end(started, identity);
    }
  }

  /**
   * The first identity of the round. The one that ran last (in a slice, or at once) goes to the back
   * first when others wait: that one rotation is the whole round-robin.
   */
  private next(): [string, (() => void)[]] {
    const last = this.lastServed === undefined ? undefined : this.queues.get(this.lastServed);
    if (last && this.queues.size > 1) {
      this.queues.delete(this.lastServed!);
      this.queues.set(this.lastServed!, last);
    }
    return this.queues.entries().next().value as [string, (() => void)[]];
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.drainScheduled = false;
    this.used = 0;
    while (this.waiting > 0 && this.used < this.sliceMs) {
      const [identity, queue] = this.next();
      const job = queue.shift()!;
      this.waiting--;
      if (queue.length === 0) this.queues.delete(identity);
      this.run(identity, job);
    }
    this.onSliceEnd();
    if (this.waiting > 0) this.scheduleDrain();
  }
}
