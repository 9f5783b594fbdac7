// The store copy of a backup, off the server's event loop: VACUUM INTO runs for seconds on a large
// store and better-sqlite3 is synchronous, so a scheduled backup inside the running server would
// stop it answering for that long. This worker thread (at a lower CPU priority: a backup may wait,
// clients should not) copies the store and counts what the copy holds. Started by snapshot.ts.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { describeStore } from './snapshot.js';

const { source, copy } = workerData as { source: string; copy: string };
try {
  setPriority(10); // this thread only (Linux: a thread is its own task)
} catch {
  /* not permitted: run at the normal priority */
}
try {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(copy);
  } finally {
    db.close();
  }
  parentPort!.postMessage({ ok: true, contents: describeStore(copy) });
} catch (err) {
  parentPort!.postMessage({ ok: false, message: (err as Error).message });
}
