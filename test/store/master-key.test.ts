// The master key file: created 0600 with 32 random bytes; refused when others can read it, when it
// has the wrong size, or when it is not the key the store was created with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import { parseConfig } from '../../server/config.js';
import { openStore } from '../../server/server.js';
import { deriveKeys, loadMasterKey, MASTER_KEY_BYTES, sameKey } from '../../server/store/master-key.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'keyhaven-mk-'));

function refuses(fn: () => unknown, code: string, message: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeyhavenError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('a missing master key is created: 32 random bytes, mode 0600, whatever the umask', () => {
  const dir = tmp();
  const old = process.umask(0o000);
  try {
    const p = join(dir, 'master.key');
    const a = loadMasterKey(p, { create: true });
    assert.equal(a.created, true);
    assert.equal(a.key.length, MASTER_KEY_BYTES);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.ok(readFileSync(p).equals(a.key));
    // Loading it again gives the same key and does not recreate it.
    const b = loadMasterKey(p, { create: true });
    assert.equal(b.created, false);
    assert.ok(b.key.equals(a.key));
    // Two stores get different keys.
    assert.ok(!loadMasterKey(join(dir, 'other.key'), { create: true }).key.equals(a.key));
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing master key without create is refused', () => {
  const dir = tmp();
  refuses(() => loadMasterKey(join(dir, 'master.key'), { create: false }), ErrorCodes.STORE_MASTER_KEY, /does not exist/);
  rmSync(dir, { recursive: true, force: true });
});

for (const mode of [0o640, 0o604, 0o620, 0o660, 0o644, 0o601]) {
  test(`a master key file with mode ${mode.toString(8)} is refused`, () => {
    const dir = tmp();
    const p = join(dir, 'master.key');
    writeFileSync(p, randomBytes(32));
    chmodSync(p, mode);
    refuses(() => loadMasterKey(p, { create: true }), ErrorCodes.STORE_MASTER_KEY, new RegExp(`mode ${mode.toString(8)}.*chmod 600`));
    rmSync(dir, { recursive: true, force: true });
  });
}

test('mode 0400 (read-only for the owner) is accepted', () => {
  const dir = tmp();
  const p = join(dir, 'master.key');
  writeFileSync(p, randomBytes(32));
  chmodSync(p, 0o400);
  assert.equal(loadMasterKey(p, { create: false }).key.length, 32);
  rmSync(dir, { recursive: true, force: true });
});

for (const size of [0, 16, 31, 33, 64]) {
  test(`a master key file of ${size} bytes is refused`, () => {
    const dir = tmp();
    const p = join(dir, 'master.key');
    writeFileSync(p, randomBytes(size), { mode: 0o600 });
    refuses(() => loadMasterKey(p, { create: true }), ErrorCodes.STORE_MASTER_KEY, new RegExp(`holds ${size} bytes, not 32`));
    rmSync(dir, { recursive: true, force: true });
  });
}

test('a master key path that is a directory is refused with the store code', () => {
  const dir = tmp();
  refuses(() => loadMasterKey(dir, { create: true }), ErrorCodes.STORE_MASTER_KEY, /is not a regular file/);
  rmSync(dir, { recursive: true, force: true });
});

test('a different master key on an existing store is refused (KH_STORE_MASTER_KEY), the right one accepted', () => {
  const dir = tmp();
  const config = parseConfig({ dataDir: dir }, 'test');
  const first = openStore(config, { create: true });
  first.db.close();
  const original = readFileSync(join(dir, 'master.key'));
  writeFileSync(join(dir, 'master.key'), randomBytes(32), { mode: 0o600 });
  refuses(() => openStore(config, { create: false }), ErrorCodes.STORE_MASTER_KEY, /does not match this key store/);
  writeFileSync(join(dir, 'master.key'), original, { mode: 0o600 });
  const again = openStore(config, { create: false });
  again.db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('derived keys are independent, deterministic, and the check value does not reveal the key', () => {
  const master = randomBytes(32);
  const k = deriveKeys(master);
  const all = [k.wrap, k.audit, k.row, k.check];
  for (const x of all) assert.equal(x.length, 32);
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) assert.ok(!all[i]!.equals(all[j]!));
  for (const x of all) assert.ok(!x.equals(master));
  assert.ok(deriveKeys(Buffer.from(master)).wrap.equals(k.wrap));
  assert.ok(!deriveKeys(randomBytes(32)).check.equals(k.check));
  assert.ok(sameKey(k.check, Buffer.from(k.check)));
  assert.ok(!sameKey(k.check, k.check.subarray(0, 31)));
});
