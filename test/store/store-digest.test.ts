// The sealed store digest (server/store/store-digest.ts): a keyed sum over every object row and a
// generation counter, kept in the meta table encrypted, updated in the same transaction as each
// row write. Rolled-back savepoints (batch items, Undo batches) must leave it matching the rows, and
// the stored blob must reveal neither the sum nor the counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../../server/config.js';
import { enumeration, integer } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { startServer } from '../../server/server.js';
import { openDatabase } from '../../server/store/database.js';
import { KeyStore, type NewObject } from '../../server/store/key-store.js';
import { deriveKeys } from '../../server/store/master-key.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { attribute, av, createAes, parseResponse, request, withUid } from '../support/requests.js';
import { prepareDataDir } from '../support/server.js';
import { send } from './helpers.js';

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-digest-'));
  const { db } = openDatabase(join(dir, 'keyhaven.db'), { create: true });
  const store = new KeyStore(db, deriveKeys(randomBytes(32)));
  return { db, store, done: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const object = (uid: string): NewObject => ({
  uid,
  objectType: 2,
  owner: 'CN=alice',
  state: 1,
  attributes: [{ name: 'Cryptographic Length', index: 0, value: integer(Tag.AttributeValue, 256) }],
  material: randomBytes(40),
});

function assertConsistent(store: KeyStore, what: string) {
  const stored = store.digest.read();
  const actual = store.digest.recompute();
  assert.equal(stored.rows, actual.rows, `${what}: row count`);
  assert.ok(stored.digest.equals(actual.digest), `${what}: the stored digest is the sum over the rows`);
  return stored;
}

test('savepoints rolled back inside a transaction leave the digest matching the rows', () => {
  const { db, store, done } = open();
  try {
    assert.deepEqual({ ...store.digest.read(), digest: undefined }, { generation: 0, rows: 0, digest: undefined }, 'a new store starts at generation 0');
    db.exec('BEGIN');
    store.savepoint('kh_msg');
    const x = store.insert(object('X'));
    store.savepoint('kh_item');
    x.state = 2;
    store.save(x);
    store.rollbackTo('kh_item'); // the update of X is undone
    store.savepoint('kh_item');
    store.insert(object('Y'));
    store.release('kh_item');
    store.release('kh_msg');
    store.savepoint('kh_msg');
    store.insert(object('Z'));
    const z = store.load('Z')!;
    z.state = 3;
    store.save(z);
    store.rollbackTo('kh_msg'); // the whole second message: Z's insert and update
    store.flushDeferred();
    db.exec('COMMIT');
    const s = assertConsistent(store, 'after the rollbacks');
    assert.equal(s.rows, 2, 'X and Y');
    assert.equal(s.generation, 2, 'one generation per kept write: X inserted, Y inserted');
    assert.equal(store.load('X')!.state, 1);
  } finally {
    done();
  }
});

test('inside a transaction the digest is sealed once, before the commit; a rolled-back transaction leaves the committed one', () => {
  const { db, store, done } = open();
  try {
    const blob = () => (db.prepare("SELECT value FROM meta WHERE key = 'store_digest'").get() as { value: Buffer }).value;
    store.insert(object('A'));
    const committed = blob();
    db.exec('BEGIN');
    for (let i = 0; i < 5; i++) store.insert(object(`B${i}`));
    assert.ok(blob().equals(committed), 'the writes of the open transaction are summed in memory, not sealed one by one');
    store.flushDeferred();
    db.exec('COMMIT');
    const s = assertConsistent(store, 'after a transaction of five inserts');
    assert.deepEqual([s.rows, s.generation], [6, 6]);
    const sealed = blob();
    assert.ok(!sealed.equals(committed), 'sealed anew at the commit');
    // A transaction rolled back (a failed commit): its sum is forgotten, the next write starts from the committed one.
    db.exec('BEGIN');
    store.insert(object('C'));
    db.exec('ROLLBACK');
    store.discardDeferred();
    assert.ok(blob().equals(sealed));
    store.insert(object('D'));
    assert.deepEqual([assertConsistent(store, 'after the rollback and one more insert').generation], [7]);
    // A savepoint issued outside any transaction begins one: its release commits, with the digest stored first.
    store.savepoint('kh_msg');
    store.insert(object('E'));
    store.release('kh_msg');
    assert.equal(db.inTransaction, false);
    assert.equal(assertConsistent(store, 'after a savepoint that was the transaction').generation, 8);
  } finally {
    done();
  }
});

test('the sealed blob reveals neither the sum nor the generation, and changes entirely on every write', () => {
  const { db, store, done } = open();
  try {
    const blob = () => (db.prepare("SELECT value FROM meta WHERE key = 'store_digest'").get() as { value: Buffer }).value;
    const blobs = [blob()];
    for (let i = 0; i < 5; i++) {
      store.insert(object(`K${i}`));
      blobs.push(blob());
    }
    const { digest, generation } = store.digest.read();
    assert.equal(generation, 5);
    for (const b of blobs) {
      assert.equal(b.length, blobs[0]!.length, 'fixed size');
      assert.ok(!b.includes(digest.subarray(0, 8)), 'the sum is not in the clear');
    }
    for (let i = 1; i < blobs.length; i++) {
      let same = 0;
      for (let j = 1; j < blobs[i]!.length; j++) if (blobs[i]![j] === blobs[i - 1]![j]) same++;
      assert.ok(same < blobs[i]!.length / 8, `consecutive blobs share ${same} bytes`);
    }
  } finally {
    done();
  }
});

test('through the server: an Undo batch and a Continue batch with a failing item keep the digest right; the server restarts', async () => {
  const { dir, dev } = await prepareDataDir();
  const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } } }, 'test');
  config.listeners.kmip.port = 0;
  let server = await startServer(config, pino({ level: 'silent' }));
  try {
    const c = await KmipTestClient.connect(server.kmip.port, dev);
    const failing = withUid(Enum.Operation.Get, 'no-such-object');
    await send(c, [createAes(), withUid(Enum.Operation.Activate)]);
    const before = server.store.digest.read().generation;
    // Undo: the Create and the Activate are written, then rolled back to the batch's savepoint.
    const undone = await c.send(
      request([createAes(128, [attribute('Name', av.name('undo-me'))]), withUid(Enum.Operation.Activate), failing], {
        header: [enumeration(Tag.BatchErrorContinuationOption, Enum.BatchErrorContinuationOption.Undo)],
      }),
    );
    assert.deepEqual(
      parseResponse(undone).items.map((i) => i.status),
      [Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationFailed],
      'the written items were undone',
    );
    assert.equal(server.store.digest.read().generation, before, 'the undone writes left the generation as it was');
    // Continue: the failing item in the middle is rolled back to its own savepoint.
    await c.send(
      request([createAes(), withUid(Enum.Operation.Activate, 'no-such-object'), createAes()], {
        header: [enumeration(Tag.BatchErrorContinuationOption, Enum.BatchErrorContinuationOption.Continue)],
      }),
    );
    const after = assertConsistent(server.store, 'after the batches');
    assert.equal(after.generation, before + 2, 'only the Continue batch\'s two Creates count');
    c.close();
    await server.close();
    server = await startServer(config, pino({ level: 'silent' }));
    assertConsistent(server.store, 'after a restart');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
