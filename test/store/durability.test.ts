// The group-commit contract of server/store/durability.ts: a response that depends on a commit is
// released only after an fdatasync of the WAL that started after that commit; one fsync covers every
// commit made before it started; read-only responses wait for the writes they may have observed.
// fs.fdatasync is replaced (syncBuiltinESMExports updates the named import durability.ts holds) so the
// test decides when each fsync completes.
import { test, afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../server/audit/audit-log.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { enumeration } from '../../server/kmip/item.js';
import { KmipService } from '../../server/kmip-service.js';
import { openDatabase } from '../../server/store/database.js';
import { WalDurability } from '../../server/store/durability.js';
import { KeyStore } from '../../server/store/key-store.js';
import { deriveKeys } from '../../server/store/master-key.js';
import { createAes, parseResponse, request } from '../support/requests.js';

interface FakeSync { fd: number; done: (err?: Error | null) => void }
let syncs: FakeSync[] = [];
const realFdatasync = fs.fdatasync;
let dir = '';

beforeEach(() => {
  syncs = [];
  dir = mkdtempSync(join(tmpdir(), 'keyhaven-dur-'));
  (fs as { fdatasync: unknown }).fdatasync = (fd: number, cb: (err: Error | null) => void) => {
    syncs.push({ fd, done: (err = null) => cb(err) });
  };
  syncBuiltinESMExports();
});

afterEach(() => {
  (fs as { fdatasync: unknown }).fdatasync = realFdatasync;
  syncBuiltinESMExports();
  rmSync(dir, { recursive: true, force: true });
});

function wal(): WalDurability {
  const p = join(dir, 'x.db-wal');
  writeFileSync(p, '');
  return new WalDurability(p);
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('the fake is in place (the rest of this file depends on it)', () => {
  const d = wal();
  d.whenDurable(d.noteCommit(), () => {});
  assert.equal(syncs.length, 1, 'durability.ts called the replaced fdatasync');
  d.close();
});

test('whenDurable releases only after an fsync that started after the commit', () => {
  const d = wal();
  const released: string[] = [];
  const c1 = d.noteCommit();
  d.whenDurable(c1, (e) => released.push(`c1${e ? ' error' : ''}`));
  assert.equal(syncs.length, 1, 'an fsync started for c1');
  assert.equal(released.length, 0, 'not before that fsync completes');
  // c2 commits while the fsync for c1 is in flight: that fsync may have missed c2's frames.
  const c2 = d.noteCommit();
  d.whenDurable(c2, () => released.push('c2'));
  assert.equal(syncs.length, 1, 'no second fsync while one is running');
  syncs[0]!.done();
  assert.deepEqual(released, ['c1'], 'the first fsync releases c1 only');
  assert.equal(syncs.length, 2, 'a second fsync starts for c2');
  syncs[1]!.done();
  assert.deepEqual(released, ['c1', 'c2']);
  d.close();
});

test('one fsync covers every commit made before it started (group commit)', () => {
  const d = wal();
  const released: number[] = [];
  const n = [d.noteCommit(), d.noteCommit(), d.noteCommit()];
  for (const c of n) d.whenDurable(c, () => released.push(c));
  assert.equal(syncs.length, 1);
  syncs[0]!.done();
  assert.deepEqual(released, n);
  assert.equal(syncs.length, 1, 'nothing left to sync');
  // Already durable: released at once, no fsync.
  let now = false;
  d.whenDurable(n[2]!, () => (now = true));
  assert.ok(now);
  assert.equal(syncs.length, 1);
  d.whenDurable(0, () => (now = true));
  d.close();
});

test('an fsync error reaches every waiter, and a later wait starts a fresh fsync', () => {
  const d = wal();
  const got: (Error | undefined)[] = [];
  const c = d.noteCommit();
  d.whenDurable(c, (e) => got.push(e));
  d.whenDurable(c, (e) => got.push(e));
  syncs[0]!.done(Object.assign(new Error('EIO'), { code: 'EIO' }));
  assert.equal(got.length, 2);
  assert.ok(got.every((e) => e?.message === 'EIO'), 'both waiters see the error');
  // The commit is not considered durable: a new waiter triggers a new fsync and succeeds with it.
  let ok = false;
  d.whenDurable(c, (e) => (ok = !e));
  assert.equal(syncs.length, 2);
  assert.ok(!ok);
  syncs[1]!.done();
  assert.ok(ok);
  d.close();
});

test('flush() syncs only outstanding commits', () => {
  const d = wal();
  d.flush();
  assert.equal(syncs.length, 0, 'nothing committed, nothing to sync');
  d.noteCommit();
  d.flush();
  assert.equal(syncs.length, 1);
  d.flush();
  assert.equal(syncs.length, 1, 'no second fsync while one runs');
  syncs[0]!.done();
  d.flush();
  assert.equal(syncs.length, 1, 'everything durable');
  d.close();
});

test('commits nobody waits for are left to flush(), not synced back to back', () => {
  const d = wal();
  let released = false;
  d.whenDurable(d.noteCommit(), () => (released = true));
  d.noteCommit(); // e.g. a read-only epoch's audit records, committed while the fsync runs
  syncs[0]!.done();
  assert.ok(released);
  assert.equal(syncs.length, 1, 'no further fsync without a waiter');
  d.flush(); // the periodic sync (AUDIT_SYNC_MS) picks it up
  assert.equal(syncs.length, 2);
  syncs[1]!.done();
  d.flush();
  assert.equal(syncs.length, 2, 'everything durable');
  d.close();
});

test('through KmipService: a write is acknowledged after its fsync; a read-only request waits for earlier writes', async () => {
  const path = join(dir, 'keyhaven.db');
  const { db } = openDatabase(path, { create: true });
  const keys = deriveKeys(randomBytes(32));
  const store = new KeyStore(db, keys);
  const audit = new AuditLog(db, keys.audit);
  const durability = new WalDurability(`${path}-wal`);
  const service = new KmipService({
    store,
    audit,
    durability,
    server: { vendor: 'test', product: 'test', version: '0' },
    limits: { maxLocateItems: 10, maxLocateScan: 20_000 },
    maxResponseSize: 1 << 20,
    authenticate: () => undefined,
    onInternalError: (e) => { throw e; },
  });
  const session = { identity: 'CN=test', address: '127.0.0.1' };
  const replies: string[] = [];
  const query = request([{ operation: Enum.Operation.Query, payload: [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)] }]);
  try {
    service.handle(request([createAes()]), session, (r) => replies.push(`create:${Buffer.isBuffer(r) ? parseResponse(r).items[0]!.status : r.message}`));
    await tick(); // the epoch commits
    assert.equal(syncs.length, 1, 'the write epoch asked for an fsync');
    assert.equal(replies.length, 0, 'no acknowledgement before the fsync');
    // A read-only request in a later epoch, while the write's fsync is still running.
    service.handle(query, session, () => replies.push('query'));
    await tick();
    await tick();
    assert.equal(replies.length, 0, 'the read-only response waits for the earlier write');
    syncs[0]!.done();
    assert.deepEqual(replies, [`create:${Enum.ResultStatus.Success}`, 'query']);
    // The read-only epoch's own commit (its audit record) is left to the periodic flush(); nobody
    // waits for it (the loop below completes any fsync that did start).
    let next = 1;
    while (next < syncs.length) {
      syncs[next++]!.done();
      await tick();
    }
    // Everything written is durable: a read-only request is answered without waiting for an fsync.
    service.handle(query, session, () => replies.push('query2'));
    await tick();
    assert.equal(replies.at(-1), 'query2', 'answered without waiting for an fsync');
    while (next < syncs.length) syncs[next++]!.done();
    // A write whose fsync fails is never acknowledged: the reply is the error.
    service.handle(request([createAes()]), session, (r) => replies.push(r instanceof Error ? `error:${r.message}` : 'ack'));
    await tick();
    const failing = syncs.at(-1)!;
    failing.done(new Error('EIO'));
    assert.equal(replies.at(-1), 'error:EIO');
  } finally {
    durability.close();
    db.close();
  }
});
