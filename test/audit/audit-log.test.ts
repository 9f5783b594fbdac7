// The hash-chained audit log (server/audit/audit-log.ts): every request leaves a record with who,
// from where, what, on which object, and how it ended; the records cannot be changed through SQLite
// while the triggers stand; and `keyhaven audit verify` notices every kind of tampering done with the
// triggers dropped — naming the record — because the chain is keyed with the master key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { parseConfig } from '../../server/config.js';
import { Enum } from '../../server/kmip/tables.js';
import { startServer } from '../../server/server.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { createAes, request } from '../support/requests.js';
import { prepareDataDir, startTestServer } from '../support/server.js';
import { pkiPaths } from '../../server/pki/index.js';
import { destroyItem, getItem, registerAes, runCli, send, uidOf } from '../store/helpers.js';

interface Row { seq: number; time: string; identity: string; address: string; operation: string; object_id: string; result: string; reason: string; mac: Buffer }

// One data directory with real traffic, copied for each tampering.
let base = '';
let records = 0;
const scratch: string[] = [];

before(async () => {
  const { dir, dev } = await prepareDataDir();
  base = dir;
  const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } } }, 'test');
  config.listeners.kmip.port = 0;
  const server = await startServer(config, pino({ level: 'silent' }));
  const c = await KmipTestClient.connect(server.kmip.port, dev);
  for (let i = 0; i < 4; i++) {
    const uid = uidOf(await send(c, [registerAes(randomBytes(32))]));
    await send(c, [getItem(uid)]);
    if (i % 2) await send(c, [destroyItem(uid)]);
  }
  await send(c, [createAes(), createAes()]);
  await send(c, [getItem('no-such-object')]);
  c.close();
  await server.close();
  const db = new Database(join(dir, 'keyhaven.db'), { readonly: true });
  records = (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
  db.close();
});

after(() => {
  for (const d of [base, ...scratch]) rmSync(d, { recursive: true, force: true });
});

/** A copy of the base data directory, tampered with by `edit` (triggers dropped first). */
function tampered(edit: (db: Database.Database) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-tamper-'));
  scratch.push(dir);
  cpSync(base, dir, { recursive: true });
  const db = new Database(join(dir, 'keyhaven.db'));
  db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
  edit(db);
  db.close();
  return dir;
}

async function verifyFails(dir: string, record: RegExp) {
  const r = await runCli(['audit', 'verify', '--data-dir', dir]);
  assert.equal(r.code, 1, `audit verify should exit 1\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, /AUDIT LOG TAMPERED/);
  assert.match(r.stderr, record);
}

const rowsOf = (db: Database.Database) => db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[];

test('after real traffic the chain verifies (exit 0)', async () => {
  assert.ok(records >= 12, `${records} records`);
  const r = await runCli(['audit', 'verify', '--data-dir', base]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`audit log intact: ${records} records`));
});

test('tampering: one field edited (identity of record 3)', async () => {
  await verifyFails(tampered((db) => db.prepare("UPDATE audit SET identity = 'CN=someone-else' WHERE seq = 3").run()), /record 3 was altered/);
});

test('tampering: a time backdated by one millisecond (record 5)', async () => {
  await verifyFails(
    tampered((db) => {
      const t = (db.prepare('SELECT time FROM audit WHERE seq = 5').get() as { time: string }).time;
      db.prepare('UPDATE audit SET time = ? WHERE seq = 5').run(new Date(Date.parse(t) - 1).toISOString());
    }),
    /record 5 was altered/,
  );
});

test('tampering: a MAC replaced by text of the same length (record 6)', async () => {
  await verifyFails(tampered((db) => db.prepare('UPDATE audit SET mac = ? WHERE seq = 6').run('m'.repeat(32))), /record 6 was altered/);
});

test('tampering: a middle record deleted (record 4)', async () => {
  await verifyFails(tampered((db) => db.prepare('DELETE FROM audit WHERE seq = 4').run()), /record 4 is missing/);
});

test('tampering: a middle record deleted and the rest renumbered (record 4)', async () => {
  await verifyFails(
    tampered((db) => {
      db.prepare('DELETE FROM audit WHERE seq = 4').run();
      db.prepare('UPDATE audit SET seq = -seq + 1 WHERE seq > 4').run();
      db.prepare('UPDATE audit SET seq = -seq WHERE seq < 0').run();
    }),
    /record 4 was altered/,
  );
});

test('tampering: two records swapped (reordered: records 3 and 4)', async () => {
  await verifyFails(
    tampered((db) => {
      const [a, b] = [3, 4].map((s) => db.prepare('SELECT * FROM audit WHERE seq = ?').get(s) as Row);
      const set = db.prepare(
        'UPDATE audit SET time = ?, identity = ?, address = ?, operation = ?, object_id = ?, result = ?, reason = ?, mac = ? WHERE seq = ?',
      );
      for (const [row, seq] of [[b!, 3], [a!, 4]] as const) {
        set.run(row.time, row.identity, row.address, row.operation, row.object_id, row.result, row.reason, row.mac, seq);
      }
    }),
    /record 3 was altered, reordered/,
  );
});

test('tampering: the last records deleted (truncation)', async () => {
  const keep = records - 3;
  await verifyFails(
    tampered((db) => db.prepare('DELETE FROM audit WHERE seq > ?').run(keep)),
    new RegExp(`ends at record ${keep} but its sealed head disagrees`),
  );
});

test('tampering: the chain recomputed as plain SHA-256 (no key) after an edit', async () => {
  await verifyFails(
    tampered((db) => {
      db.prepare("UPDATE audit SET reason = 'nothing to see' WHERE seq = 2").run();
      let prev = Buffer.alloc(32);
      for (const r of rowsOf(db)) {
        const fields = [r.seq, r.time, r.identity, r.address, r.operation, r.object_id, r.result, r.reason];
        const mac = createHash('sha256').update(prev).update(JSON.stringify(fields)).digest();
        db.prepare('UPDATE audit SET mac = ? WHERE seq = ?').run(mac, r.seq);
        prev = mac;
      }
      const head = Buffer.alloc(72);
      head.writeBigUInt64BE(BigInt(records));
      prev.copy(head, 8);
      createHash('sha256').update('audit-head').update(String(records)).update(prev).digest().copy(head, 40);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run(head);
    }),
    /record 1 was altered/,
  );
});

test('tampering: every record and the sealed head deleted', async () => {
  await verifyFails(
    tampered((db) => {
      db.prepare('DELETE FROM audit').run();
      db.prepare("DELETE FROM meta WHERE key = 'audit_head'").run();
    }),
    /record/,
  );
});

test('tampering: the sealed head deleted', async () => {
  await verifyFails(tampered((db) => db.prepare("DELETE FROM meta WHERE key = 'audit_head'").run()), new RegExp(`record ${records}`));
});

/** What opening the store finds (without appending anything). */
async function problemAtOpening(dir: string): Promise<string | undefined> {
  const { openStore } = await import('../../server/server.js');
  const s = openStore(parseConfig({ dataDir: dir }, 'test'), { create: false });
  try {
    return s.audit.startProblem;
  } finally {
    s.db.close();
  }
}

/** Starts the server on a (tampered) data directory, makes one request, stops it. */
async function serveOnce(dir: string) {
  const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } } }, 'test');
  config.listeners.kmip.port = 0;
  const server = await startServer(config, pino({ level: 'silent' }));
  const c = await KmipTestClient.connect(server.kmip.port, {
    ca: pkiPaths(dir).caCert, cert: join(dir, 'pki/clients/dev.crt'), key: join(dir, 'pki/clients/dev.key'),
  });
  const r = await send(c, [createAes()]);
  assert.equal(r.items[0]!.status, Enum.ResultStatus.Success, 'the server keeps working');
  c.close();
  await server.close();
}

// `rollback`: records removed from the end leave the log behind its anchor (the start refuses it).
const RESTART_CASES: { name: string; edit: (db: Database.Database) => void; found: () => RegExp; rollback?: true }[] = [
  {
    name: 'the last records deleted',
    edit: (db) => db.prepare('DELETE FROM audit WHERE seq > ?').run(records - 2),
    found: () => new RegExp(`ends at record ${records - 2} but its sealed head is for record ${records}`),
    rollback: true,
  },
  {
    name: 'the sealed head deleted',
    edit: (db) => db.prepare("DELETE FROM meta WHERE key = 'audit_head'").run(),
    found: () => new RegExp(`sealed head of the log \\(ending at record ${records}\\) is missing`),
  },
  {
    name: 'every record and the head deleted',
    edit: (db) => db.exec("DELETE FROM audit; DELETE FROM meta WHERE key = 'audit_head';"),
    found: () => /record 1 is missing: the log is empty and its sealed head is gone/,
    rollback: true,
  },
  {
    name: 'the sealed head replaced by text of the right length',
    edit: (db) => db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run('x'.repeat(72)),
    found: () => new RegExp(`ends at record ${records} but its sealed head is not authentic`),
  },
  {
    name: 'the sealed head replaced by garbage',
    edit: (db) => db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run(randomBytes(72)),
    found: () => new RegExp(`ends at record ${records} but its sealed head is not authentic`),
  },
];

for (const c of RESTART_CASES) {
  test(`tampering stays evident after the server starts again on the store: ${c.name}`, async () => {
    const dir = tampered(c.edit);
    assert.match((await problemAtOpening(dir)) ?? '(nothing found)', c.found(), 'found when the log is opened');
    if (c.rollback) {
      // A shortened log is older than its anchor: not served (server/store/rollback-guard.ts) ...
      await assert.rejects(serveOnce(dir), (e: Error & { code?: string }) => e.code === 'KH_STORE_ROLLBACK' && /the audit log ends at record/.test(e.message));
      // ... until the operator accepts it; the tampering is still recorded, before the acceptance.
      const accepted = await runCli(['store', 'accept-rollback', '--data-dir', dir, '--yes']);
      assert.equal(accepted.code, 0, accepted.stderr);
    }
    await serveOnce(dir);
    assert.equal(await problemAtOpening(dir), undefined, 'recorded once, then the log is consistent again');
    const r = await runCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(r.code, 1, `verify must still fail after the restart: ${r.stdout}`);
    assert.match(r.stderr, /record \d+ reports tampering found when the audit log was opened/);
    assert.match(r.stderr, c.found());
    const tail = await runCli(['audit', 'tail', '--data-dir', dir, '-n', '50']);
    assert.match(tail.stdout, /\tAudit Check\t-\tfailure\ttampering found/);
  });
}

test('a brand-new store verifies with no records and reports nothing at opening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-fresh-'));
  scratch.push(dir);
  const { openStore } = await import('../../server/server.js');
  const s = openStore(parseConfig({ dataDir: dir }, 'test'), { create: true });
  try {
    assert.equal(s.audit.startProblem, undefined);
    assert.deepEqual(s.audit.verify(), { ok: true, records: 0 });
  } finally {
    s.db.close();
  }
});

test('an untampered store opens without an Audit Check record, however often it restarts', async () => {
  const dir = tampered(() => {});
  for (let i = 0; i < 3; i++) {
    assert.equal(await problemAtOpening(dir), undefined);
    await serveOnce(dir);
  }
  const r = await runCli(['audit', 'verify', '--data-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
});

test('UPDATE and DELETE on the audit table are refused while the triggers stand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-trig-'));
  scratch.push(dir);
  cpSync(base, dir, { recursive: true });
  const db = new Database(join(dir, 'keyhaven.db'));
  try {
    assert.throws(() => db.prepare("UPDATE audit SET reason = 'x' WHERE seq = 2").run(), /audit records cannot be changed/);
    assert.throws(() => db.prepare('DELETE FROM audit WHERE seq = 2').run(), /audit records cannot be deleted/);
    assert.throws(() => db.prepare('DELETE FROM audit').run(), /audit records cannot be deleted/);
    assert.equal((db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n, records);
  } finally {
    db.close();
  }
});

// --- what each request records ------------------------------------------------------------------

test('each request leaves a record: identity, address, operation, object id, result, reason, time', async () => {
  const s = await startTestServer();
  try {
    const c = await s.client();
    const bobFiles: ClientFiles = await s.issue('bob');
    const bob = await s.client(bobFiles);
    const t0 = Date.now();
    const last = () => s.server.audit.tail(1)[0]!;
    const settle = () => new Promise((r) => setTimeout(r, 20));

    // Success.
    const uid = uidOf(await send(c, [registerAes(randomBytes(32))]));
    let r = last();
    assert.equal(r.identity, 'CN=dev,O=Keyhaven');
    assert.equal(r.address, '127.0.0.1');
    assert.equal(r.operation, 'Register');
    assert.equal(r.objectId, uid);
    assert.equal(r.result, 'success');
    assert.equal(r.reason, '');
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(r.time) - t0) < 10_000, `time ${r.time}`);

    // Failure with a reason: another identity asks for dev's key. The client is told Item Not
    // Found (it must not learn the key exists); the audit record says what really happened.
    const denied = await send(bob, [getItem(uid)]);
    assert.equal(denied.items[0]!.reason, Enum.ResultReason.ItemNotFound);
    r = last();
    assert.equal(r.identity, 'CN=bob,O=Keyhaven');
    assert.equal(r.operation, 'Get');
    assert.equal(r.objectId, uid);
    assert.equal(r.result, 'failure');
    assert.equal(r.reason, 'Permission Denied: the object belongs to another client identity');

    // A malformed message (non-zero padding inside a valid frame).
    const bad = request([createAes()]);
    bad[bad.length - 1] = 1;
    await bob.send(bad);
    await settle();
    r = last();
    assert.equal(r.identity, 'CN=bob,O=Keyhaven');
    assert.equal(r.operation, '-');
    assert.equal(r.result, 'failure');
    assert.equal(r.reason, 'Invalid Message');

    // A batch: one record per batch item.
    const before = s.server.audit.tail(1)[0]!.seq;
    const b = await send(c, [createAes(), getItem('missing')]);
    const recs = s.server.audit.tail(10).filter((x) => x.seq > before);
    assert.deepEqual(recs.map((x) => [x.operation, x.result, x.reason]), [['Create', 'success', ''], ['Get', 'failure', 'Item Not Found']]);
    assert.equal(recs[0]!.objectId, uidOf(b, 0));
    c.close();
    bob.close();
  } finally {
    await s.stop();
  }
});

test('a refused access records the object it was aimed at', async () => {
  const s = await startTestServer();
  try {
    const c = await s.client();
    const bob = await s.client(await s.issue('bob'));
    const uid = uidOf(await send(c, [registerAes(randomBytes(32))]));
    await send(bob, [getItem(uid)]);
    assert.equal(s.server.audit.tail(1)[0]!.objectId, uid);
    c.close();
    bob.close();
  } finally {
    await s.stop();
  }
});

