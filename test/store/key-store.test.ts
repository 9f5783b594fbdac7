// The key store at the SQLite level: material wrapped with AES-256-GCM bound to its object, every row
// sealed so that edits made outside Keyhaven are detected on load, files private to the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import { enumeration, integer, structure, textString } from '../../server/kmip/item.js';
import { Tag } from '../../server/kmip/tables.js';
import { openDatabase } from '../../server/store/database.js';
import { KeyStore, type NewObject } from '../../server/store/key-store.js';
import { deriveKeys } from '../../server/store/master-key.js';
import { unwrapMaterial, wrapMaterial } from '../../server/store/wrap.js';
import { filesUnder, findSecret, readFiles } from './helpers.js';

function refuses(fn: () => unknown, code: string, message?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeyhavenError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-store-'));
  const path = join(dir, 'keyhaven.db');
  const master = randomBytes(32);
  const { db } = openDatabase(path, { create: true });
  const store = new KeyStore(db, deriveKeys(master));
  return { dir, path, master, db, store, done: () => { try { db.close(); } catch { /* closed */ } rmSync(dir, { recursive: true, force: true }); } };
}

const material = (secret: Buffer) =>
  // The TTLV of a Key Block holding the secret, as the operations store it.
  Buffer.concat([Buffer.from('42004001', 'hex'), Buffer.alloc(4), secret]);

function newObject(uid: string, owner: string, secret: Buffer): NewObject {
  return {
    uid,
    objectType: 2,
    owner,
    state: 1,
    attributes: [
      { name: 'Cryptographic Algorithm', index: 0, value: enumeration(Tag.AttributeValue, 3) },
      { name: 'Cryptographic Length', index: 0, value: integer(Tag.AttributeValue, 256) },
      { name: 'Name', index: 0, value: structure(Tag.AttributeValue, [textString(Tag.NameValue, `key ${uid}`), enumeration(Tag.NameType, 1)]) },
    ],
    material: material(secret),
  };
}

// --- wrap.ts ---------------------------------------------------------------------------------

test('wrap/unwrap round trip; every wrap uses a fresh nonce', () => {
  const key = randomBytes(32);
  const pt = randomBytes(100);
  const a = wrapMaterial(key, 'uid-1', 2, pt);
  const b = wrapMaterial(key, 'uid-1', 2, pt);
  assert.ok(unwrapMaterial(key, 'uid-1', 2, a).equals(pt));
  assert.ok(!a.equals(b), 'two wraps of the same key differ');
  assert.ok(!a.subarray(1, 13).equals(b.subarray(1, 13)), 'different nonces');
  assert.equal(a.length, 1 + 12 + 16 + pt.length);
  assert.ok(!a.includes(pt.subarray(0, 8)), 'ciphertext does not contain the plaintext');
  assert.ok(unwrapMaterial(key, 'e', 7, wrapMaterial(key, 'e', 7, Buffer.alloc(0))).length === 0, 'empty material');
});

test('the wrapping is bound to its object: another uid or object type fails authentication (AAD)', () => {
  const key = randomBytes(32);
  const env = wrapMaterial(key, 'object-A', 2, randomBytes(32));
  refuses(() => unwrapMaterial(key, 'object-B', 2, env), ErrorCodes.STORE_UNWRAP_FAILED, /object-B failed authentication/);
  refuses(() => unwrapMaterial(key, 'object-A', 3, env), ErrorCodes.STORE_UNWRAP_FAILED);
  refuses(() => unwrapMaterial(randomBytes(32), 'object-A', 2, env), ErrorCodes.STORE_UNWRAP_FAILED, /master key is wrong/);
});

test('any modified byte of the envelope fails authentication', () => {
  const key = randomBytes(32);
  const env = wrapMaterial(key, 'u', 2, randomBytes(40));
  for (let i = 1; i < env.length; i++) {
    const bad = Buffer.from(env);
    bad[i] = bad[i]! ^ 0x01;
    refuses(() => unwrapMaterial(key, 'u', 2, bad), ErrorCodes.STORE_UNWRAP_FAILED);
  }
  const v2 = Buffer.from(env);
  v2[0] = 2;
  refuses(() => unwrapMaterial(key, 'u', 2, v2), ErrorCodes.STORE_UNWRAP_FAILED, /unknown envelope/);
  refuses(() => unwrapMaterial(key, 'u', 2, env.subarray(0, 28)), ErrorCodes.STORE_UNWRAP_FAILED, /unknown envelope/);
  refuses(() => unwrapMaterial(key, 'u', 2, env.subarray(0, env.length - 1)), ErrorCodes.STORE_UNWRAP_FAILED);
});

// --- key-store.ts ------------------------------------------------------------------------------

test('insert / load / loadWithMaterial round trip; material is wrapped in the row', () => {
  const s = open();
  try {
    const secret = randomBytes(32);
    const o = s.store.insert(newObject('A', 'CN=alice', secret));
    const back = s.store.loadWithMaterial('A')!;
    assert.equal(back.object.owner, 'CN=alice');
    assert.equal(back.object.seq, o.seq);
    assert.equal(back.object.attributes.length, 3);
    assert.ok(back.material!.equals(material(secret)));
    const row = s.db.prepare('SELECT material FROM objects WHERE uid = ?').get('A') as { material: Buffer };
    assert.ok(!row.material.includes(secret.subarray(0, 12)), 'stored material is not the plaintext');
    assert.equal(s.store.load('nope'), undefined);
  } finally {
    s.done();
  }
});

const EDITS: { name: string; sql: string; args: unknown[] }[] = [
  { name: 'owner', sql: "UPDATE objects SET owner = 'CN=mallory' WHERE uid = 'A'", args: [] },
  { name: 'state', sql: "UPDATE objects SET state = 2 WHERE uid = 'A'", args: [] },
  { name: 'object_type', sql: "UPDATE objects SET object_type = 7 WHERE uid = 'A'", args: [] },
  {
    name: 'attributes (another row\'s)',
    sql: "UPDATE objects SET attributes = (SELECT attributes FROM objects WHERE uid = 'B') WHERE uid = 'A'",
    args: [],
  },
  { name: 'attributes (one byte)', sql: "UPDATE objects SET attributes = CAST(replace(CAST(attributes AS TEXT), 'key A', 'key Z') AS BLOB) WHERE uid = 'A'", args: [] },
  { name: 'material removed', sql: "UPDATE objects SET material = NULL WHERE uid = 'A'", args: [] },
  { name: 'material of B moved into A', sql: "UPDATE objects SET material = (SELECT material FROM objects WHERE uid = 'B') WHERE uid = 'A'", args: [] },
  { name: 'mac replaced by text of the same length', sql: "UPDATE objects SET mac = printf('%.32c', 'm') WHERE uid = 'A'", args: [] },
  { name: 'mac of B copied onto A', sql: "UPDATE objects SET mac = (SELECT mac FROM objects WHERE uid = 'B') WHERE uid = 'A'", args: [] },
];

for (const edit of EDITS) {
  test(`a row edited with SQL fails the integrity check on load: ${edit.name}`, () => {
    const s = open();
    try {
      s.store.insert(newObject('A', 'CN=alice', randomBytes(32)));
      s.store.insert(newObject('B', 'CN=bob', randomBytes(32)));
      // Edit through a separate connection, as an attacker with the file would.
      const other = new Database(s.path);
      const changed = other.prepare(edit.sql).run(...edit.args).changes;
      other.close();
      assert.equal(changed, 1, 'the edit applied');
      refuses(() => s.store.load('A'), ErrorCodes.STORE_CORRUPT, /object A failed its integrity check/);
      refuses(() => s.store.loadWithMaterial('A'), ErrorCodes.STORE_CORRUPT);
      refuses(() => s.store.scanOwner(edit.name === 'owner' ? 'CN=mallory' : 'CN=alice', 1e9, 10), ErrorCodes.STORE_CORRUPT);
      // The untouched row still loads.
      assert.equal(s.store.load('B')!.owner, 'CN=bob');
    } finally {
      s.done();
    }
  });
}

test('swapping the uids of two rows is detected', () => {
  const s = open();
  try {
    s.store.insert(newObject('A', 'CN=alice', randomBytes(32)));
    s.store.insert(newObject('B', 'CN=alice', randomBytes(32)));
    const other = new Database(s.path);
    other.exec("UPDATE objects SET uid = 'tmp' WHERE uid = 'A'; UPDATE objects SET uid = 'A' WHERE uid = 'B'; UPDATE objects SET uid = 'B' WHERE uid = 'tmp';");
    other.close();
    refuses(() => s.store.load('A'), ErrorCodes.STORE_CORRUPT);
    refuses(() => s.store.load('B'), ErrorCodes.STORE_CORRUPT);
  } finally {
    s.done();
  }
});

test('AAD binding at the store level: B\'s material in A\'s row, even correctly sealed, does not unwrap', () => {
  // Reseal the row with the row key (as if the seal were forged), so only the wrapping's AAD is left
  // to notice that the material belongs to another object.
  const s = open();
  try {
    s.store.insert(newObject('A', 'CN=alice', randomBytes(32)));
    s.store.insert(newObject('B', 'CN=alice', randomBytes(32)));
    const rows = s.db.prepare('SELECT * FROM objects ORDER BY seq').all() as Record<string, unknown>[];
    const [a, b] = rows as [Record<string, unknown>, Record<string, unknown>];
    const forged = { ...a, material: b.material };
    delete (forged as { mac?: unknown }).mac;
    const seal = (s.store as unknown as { seal(r: unknown): Buffer }).seal(forged);
    s.db.prepare('UPDATE objects SET material = ?, mac = ? WHERE uid = ?').run(b.material, seal, 'A');
    assert.equal(s.store.load('A')!.uid, 'A', 'the forged seal passes the row check');
    refuses(() => s.store.loadWithMaterial('A'), ErrorCodes.STORE_UNWRAP_FAILED, /object A failed authentication/);
  } finally {
    s.done();
  }
});

test('a store reopened with the same master key loads its objects; save keeps the seal valid', () => {
  const s = open();
  try {
    const secret = randomBytes(32);
    const o = s.store.insert(newObject('A', 'CN=alice', secret));
    o.state = 2;
    s.store.save(o);
    s.db.close();
    const { db } = openDatabase(s.path, { create: false });
    const again = new KeyStore(db, deriveKeys(s.master));
    const back = again.loadWithMaterial('A')!;
    assert.equal(back.object.state, 2);
    assert.ok(back.material!.equals(material(secret)));
    again.save(back.object, { destroyMaterial: true });
    const gone = again.loadWithMaterial('A')!;
    assert.equal(gone.material, undefined);
    assert.equal(gone.object.hasMaterial, false);
    db.close();
  } finally {
    s.done();
  }
});

test('database, -wal and -shm files are 0600 and the data directory 0700, whatever the umask', () => {
  const old = process.umask(0o022);
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-mode-'));
  try {
    const path = join(dir, 'sub', 'keyhaven.db');
    const keys = deriveKeys(randomBytes(32));
    const { db } = openDatabase(path, { create: true });
    new KeyStore(db, keys).insert(newObject('A', 'CN=alice', randomBytes(32)));
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
    db.close();
    // Reopened (SQLite deleted the WAL on close and creates it again): still private.
    const again = openDatabase(path, { create: false });
    new KeyStore(again.db, keys).insert(newObject('B', 'CN=alice', randomBytes(32)));
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, `${f} after reopening`);
    again.db.close();
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plaintext material never reaches the database files', () => {
  const s = open();
  try {
    const secrets = Array.from({ length: 20 }, () => randomBytes(32));
    secrets.forEach((sec, i) => s.store.insert(newObject(`K${i}`, 'CN=alice', sec)));
    const files = readFiles(filesUnder(s.dir));
    assert.ok(files.some((f) => f.name.endsWith('-wal') && f.data.length > 0), 'the WAL holds the writes');
    for (const sec of secrets) assert.deepEqual(findSecret(sec, files), []);
    // Sanity: the search finds what is there (the wrapped envelope, which is in the files).
    const env = (s.db.prepare("SELECT material FROM objects WHERE uid = 'K0'").get() as { material: Buffer }).material;
    assert.ok(findSecret(env, files).length > 0, 'the search does find stored bytes');
  } finally {
    s.done();
  }
});

test('an unopenable or foreign file is refused as KH_STORE_CORRUPT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-bad-'));
  try {
    const path = join(dir, 'keyhaven.db');
    writeFileSync(path, Buffer.alloc(4096, 0x41));
    refuses(() => openDatabase(path, { create: false }), ErrorCodes.STORE_CORRUPT);
    refuses(() => openDatabase(join(dir, 'missing.db'), { create: false }), ErrorCodes.STORE_CORRUPT);
    const other = new Database(join(dir, 'v9.db'));
    other.pragma('user_version = 9');
    other.close();
    refuses(() => openDatabase(join(dir, 'v9.db'), { create: false }), ErrorCodes.STORE_CORRUPT, /schema version 9/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

