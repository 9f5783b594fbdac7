// The deferred value of a transaction: read once, changed in memory, stored once at the commit;
// marks are independent copies; a rollback forgets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransactionValue } from '../../server/store/transaction-value.js';

function counter() {
  const io = { stored: [5], loads: 0, stores: [] as number[][] };
  const v = new TransactionValue<number[]>(
    () => {
      io.loads++;
      return [...io.stored];
    },
    (x) => {
      io.stores.push([...x]);
      io.stored = [...x];
    },
    (x) => [...x],
  );
  return { v, io };
}

test('read once per transaction, stored once at the commit, and nothing stored when nothing changed', () => {
  const { v, io } = counter();
  v.flush();
  assert.deepEqual(io.stores, [], 'no change: no write');
  v.edit()[0]! += 1;
  v.edit()[0]! += 1;
  assert.equal(io.loads, 1);
  assert.deepEqual(v.current(), [7]);
  v.flush();
  assert.deepEqual(io.stores, [[7]]);
  assert.deepEqual(v.current(), [7], 'after the commit: the stored value');
  assert.equal(v.mark(), undefined, 'a new transaction changed nothing yet');
});

test('a mark is a copy: restoring it undoes what came after, however the value was changed', () => {
  const { v, io } = counter();
  v.edit()[0] = 10;
  const m = v.mark();
  v.edit()[0] = 99;
  v.restore(m);
  assert.deepEqual(v.current(), [10]);
  v.edit()[0] = 11;
  v.restore(m);
  assert.deepEqual(v.current(), [10], 'the mark itself was not changed by the edit after the first restore');
  v.restore(undefined);
  assert.deepEqual(v.current(), [5], 'a mark taken before any change: back to the stored value');
  v.edit()[0] = 42;
  v.discard();
  v.flush();
  assert.deepEqual(io.stores, [], 'a rolled-back transaction stores nothing');
  assert.deepEqual(v.current(), [5]);
});
