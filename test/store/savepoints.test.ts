// Lazily issued savepoints (server/store/savepoints.ts): nothing is issued until a write, then every
// savepoint asked for is issued outermost first, so rolling back still undoes exactly what was
// written since the savepoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { LazySavepoints } from '../../server/store/savepoints.js';

function setup() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  const sp = new LazySavepoints(db);
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  const write = (x: number) => {
    sp.beforeWrite();
    insert.run(x);
  };
  const rows = () => db.prepare('SELECT x FROM t ORDER BY x').pluck().all();
  return { db, sp, write, rows };
}

test('a savepoint without a write issues nothing', () => {
  const { db, sp } = setup();
  sp.open('a');
  sp.open('b');
  assert.equal(db.inTransaction, false, 'no SAVEPOINT was issued (it would have begun a transaction)');
  sp.rollbackTo('b');
  sp.release('a');
  assert.equal(db.inTransaction, false);
});

test('rolling back undoes what was written since the savepoint, outer writes stay', () => {
  const { db, sp, write, rows } = setup();
  db.exec('BEGIN');
  sp.open('outer');
  write(1);
  sp.open('inner');
  write(2);
  sp.rollbackTo('inner');
  assert.deepEqual(rows(), [1]);
  sp.open('inner');
  write(3);
  sp.release('inner');
  sp.rollbackTo('outer');
  assert.deepEqual(rows(), [], 'the outer rollback undoes the released inner write too');
  db.exec('COMMIT');
});

test('a write inside nested savepoints issues them outermost first', () => {
  const { db, sp, write, rows } = setup();
  db.exec('BEGIN');
  sp.open('outer');
  sp.open('inner');
  write(1);
  sp.release('inner');
  write(2);
  sp.rollbackTo('outer');
  assert.deepEqual(rows(), [], 'outer was issued before inner, so it covers both writes');
  db.exec('COMMIT');
});

test('releasing or rolling back an outer savepoint ends the ones inside it', () => {
  const { db, sp, write, rows } = setup();
  db.exec('BEGIN');
  sp.open('outer');
  sp.open('inner');
  write(1);
  sp.release('outer');
  assert.throws(() => sp.release('inner'), /no savepoint inner/);
  sp.open('outer');
  sp.open('inner');
  write(2);
  sp.rollbackTo('outer');
  assert.throws(() => sp.rollbackTo('inner'), /no savepoint inner/);
  assert.deepEqual(rows(), [1]);
  db.exec('COMMIT');
});
