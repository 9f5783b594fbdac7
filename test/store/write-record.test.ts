// The store records its own writes (savepoints.ts): a write kept in the transaction is reported at
// commit, one rolled back is not, so a response waits for durability exactly when it must.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { enumeration, structure, textString } from '../../server/kmip/item.js';
import { handleRequest, type RequestEnvironment } from '../../server/ops/pipeline/handle-request.js';
import { openDatabase } from '../../server/store/database.js';
import { KeyStore } from '../../server/store/key-store.js';
import { deriveKeys } from '../../server/store/master-key.js';
import { createAes, parseResponse, request, withUid } from '../support/requests.js';

function open() {
  const { db } = openDatabase(':memory:', { create: true });
  return { db, store: new KeyStore(db, deriveKeys(randomBytes(32))) };
}

const object = (uid: string) => ({ uid, objectType: Enum.ObjectType.OpaqueObject, owner: 'CN=a', state: 0, attributes: [] });

test('a write outside any savepoint is recorded once, then the record is reset', () => {
  const { db, store } = open();
  assert.equal(store.takeTransactionWrites(), false);
  store.insert(object('a'));
  assert.equal(store.takeTransactionWrites(), true);
  assert.equal(store.takeTransactionWrites(), false);
  db.close();
});

test('released savepoints hand their writes outwards; rolled-back ones drop them', () => {
  const { db, store } = open();
  db.exec('BEGIN');
  // A request whose only item failed: nothing to make durable.
  store.savepoint('kh_msg');
  store.savepoint('kh_item');
  store.insert(object('b'));
  store.rollbackTo('kh_item');
  store.release('kh_msg');
  assert.equal(store.takeTransactionWrites(), false);
  // A successful item inside a request.
  store.savepoint('kh_msg');
  store.savepoint('kh_item');
  const o = store.insert(object('c'));
  store.release('kh_item');
  store.release('kh_msg');
  assert.equal(store.takeTransactionWrites(), true);
  // Undo: the batch savepoint rolls back an item already released into it.
  store.savepoint('kh_batch');
  store.savepoint('kh_item');
  store.save(o);
  store.release('kh_item');
  store.rollbackTo('kh_batch');
  assert.equal(store.takeTransactionWrites(), false);
  // Reads alone record nothing.
  store.savepoint('kh_msg');
  store.load('c');
  store.release('kh_msg');
  assert.equal(store.takeTransactionWrites(), false);
  store.flushDeferred();
  db.exec('COMMIT');
  db.close();
});

test('through the request pipeline: Create records a write, Get and a failed Activate do not', () => {
  const { db, store } = open();
  const env: RequestEnvironment = {
    identity: 'CN=a',
    store,
    server: { vendor: 'Keyhaven', product: 'Keyhaven', version: 'test' },
    limits: { maxLocateItems: 100, maxLocateScan: 1000 },
    rsaKeys: { take: () => { throw new Error('no RSA keys in this test'); } },
    onInternalError: (err) => { throw err; },
    now: () => 1_700_000_000,
    maxResponseSize: 1 << 20,
    maxBatchItems: 8,
    authenticate: () => undefined,
  };
  const run = (items: Parameters<typeof request>[0]) => {
    store.savepoint('kh_msg');
    const r = handleRequest(request(items), env);
    store.release('kh_msg');
    return { response: parseResponse(r.response), wrote: store.takeTransactionWrites() };
  };
  const created = run([createAes(128)]);
  assert.equal(created.wrote, true);
  const uid = created.response.items[0]!.payload!.value.find((f) => f.tag === Tag.UniqueIdentifier)!.value as string;
  assert.equal(run([withUid(Enum.Operation.Get, uid)]).wrote, false);
  assert.equal(run([withUid(Enum.Operation.Activate, uid), withUid(Enum.Operation.Activate, uid)]).wrote, true);
  const failed = run([withUid(Enum.Operation.Activate, uid)]);
  assert.equal(failed.response.items[0]!.status, Enum.ResultStatus.OperationFailed);
  assert.equal(failed.wrote, false);
  // Undo: a failing Activate after a successful Add Attribute undoes it; nothing recorded.
  const undo = handleRequest(request([
    withUid(Enum.Operation.AddAttribute, uid, [structure(Tag.Attribute, [textString(Tag.AttributeName, 'x-a'), textString(Tag.AttributeValue, 'v')])]),
    withUid(Enum.Operation.Activate, uid),
  ], { header: [enumeration(Tag.BatchErrorContinuationOption, Enum.BatchErrorContinuationOption.Undo)] }), env);
  assert.equal(parseResponse(undo.response).items[0]!.status, Enum.ResultStatus.OperationUndone);
  assert.equal(store.takeTransactionWrites(), false);
  db.close();
});
