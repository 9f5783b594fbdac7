// Key material at rest, through the real server: registered key bytes never appear in any file of
// the data directory (database, WAL, anything else); a Destroy removes even the wrapped material from
// the files; a row edited behind the server's back is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { parseConfig } from '../../server/config.js';
import { Enum } from '../../server/kmip/tables.js';
import { startServer } from '../../server/server.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { prepareDataDir, startTestServer } from '../support/server.js';
import {
  allText, destroyItem, filesUnder, findSecret, getItem, keyBytesOf, readFiles, registerAes, send, uidOf,
} from './helpers.js';

const envelopeOf = (db: Database.Database, uid: string) =>
  (db.prepare('SELECT material FROM objects WHERE uid = ?').get(uid) as { material: Buffer | null }).material;

async function eventually(check: () => string[], ms = 2000): Promise<string[]> {
  const until = Date.now() + ms;
  let hits = check();
  while (hits.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    hits = check();
  }
  return hits;
}

test('registered key bytes never appear in any file of the data directory (hex, base64, raw, pieces)', async () => {
  const s = await startTestServer();
  const secrets = Array.from({ length: 12 }, () => randomBytes(32));
  try {
    const c = await s.client();
    const uids: string[] = [];
    for (const sec of secrets.slice(0, 6)) uids.push(uidOf(await send(c, [registerAes(sec)])));
    // Batched registrations, 16- and 32-byte keys.
    const r = await send(c, secrets.slice(6).map((sec, i) => registerAes(i % 2 ? sec.subarray(0, 16) : sec)));
    r.items.forEach((_it, i) => uids.push(uidOf(r, i)));
    for (let i = 0; i < uids.length; i++) {
      const got = keyBytesOf(await send(c, [getItem(uids[i]!)]));
      const want = i >= 6 && (i - 6) % 2 ? secrets[i]!.subarray(0, 16) : secrets[i]!;
      assert.ok(got.equals(want), `Get returns the registered bytes of ${uids[i]}`);
    }
    c.close();
    const running = readFiles(filesUnder(s.dir));
    assert.ok(running.some((f) => f.name.endsWith('keyhaven.db-wal') && f.data.length > 0), 'the WAL is there to be searched');
    secrets.forEach((sec, i) => {
      const key = i >= 6 && (i - 6) % 2 ? sec.subarray(0, 16) : sec;
      assert.deepEqual(findSecret(key, running), [], `key ${i} while running`);
    });
    // Sanity: the search finds bytes that are in the files (a wrapped envelope).
    assert.ok(findSecret(envelopeOf(s.server.store.db, uids[0]!)!, running).length > 0);
  } finally {
    const dir = s.dir;
    await s.server.close();
    // After shutdown SQLite has checkpointed the WAL into the database file.
    const stopped = readFiles(filesUnder(dir));
    secrets.forEach((sec, i) => assert.deepEqual(findSecret(sec.subarray(0, i >= 6 && (i - 6) % 2 ? 16 : 32), stopped), [], `key ${i} after stop`));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a destroyed key\'s wrapped material is gone from every file once the Destroy is acknowledged', async () => {
  const s = await startTestServer();
  try {
    const c = await s.client();
    const db = s.server.store.db;
    // (1) material still only in the WAL; (2) material already checkpointed into the database file.
    for (const checkpointFirst of [false, true]) {
      const uid = uidOf(await send(c, [registerAes(randomBytes(32))]));
      // Something else written after it, so its frame is not simply the last one.
      await send(c, [registerAes(randomBytes(32))]);
      const env = envelopeOf(db, uid)!;
      if (checkpointFirst) {
        db.pragma('wal_checkpoint(TRUNCATE)');
        assert.ok(readFileSync(join(s.dir, 'keyhaven.db')).includes(env), 'sanity: the envelope is in the database file');
      } else {
        assert.ok(readFileSync(join(s.dir, 'keyhaven.db-wal')).includes(env), 'sanity: the envelope is in the WAL');
      }
      const r = await send(c, [destroyItem(uid)]);
      assert.equal(r.items[0]!.status, Enum.ResultStatus.Success, r.items[0]!.message);
      assert.equal(envelopeOf(db, uid), null);
      const left = await eventually(() => findSecret(env, readFiles(filesUnder(s.dir))).filter((h) => h.endsWith(': raw')));
      assert.deepEqual(left, [], `the envelope survives in ${left.join(', ')} (checkpointed first: ${checkpointFirst})`);
      // And Get says it is gone.
      const g = await send(c, [getItem(uid)]);
      assert.equal(g.items[0]!.status, Enum.ResultStatus.OperationFailed);
    }
    c.close();
  } finally {
    await s.stop();
  }
});

test('a row edited with SQL while the server runs is refused on Get, without leaking anything', async () => {
  const s = await startTestServer();
  try {
    const c = await s.client();
    const secret = randomBytes(32);
    const uid = uidOf(await send(c, [registerAes(secret)]));
    const other = new Database(join(s.dir, 'keyhaven.db'));
    other.pragma('busy_timeout = 2000');
    assert.equal(other.prepare('UPDATE objects SET state = 2 WHERE uid = ?').run(uid).changes, 1);
    other.close();
    const r = await send(c, [getItem(uid)]);
    const it = r.items[0]!;
    assert.equal(it.status, Enum.ResultStatus.OperationFailed);
    assert.equal(it.reason, Enum.ResultReason.GeneralFailure);
    assert.match(it.message ?? '', /integrity check/);
    assert.deepEqual(findSecret(secret, [{ name: 'response', data: Buffer.from(allText(r.message).join('\n')) }]), []);
    c.close();
  } finally {
    await s.stop();
  }
});

test('restarting on the same data directory keeps every key (same master key, same material)', async () => {
  const { dir, dev } = await prepareDataDir();
  const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } } }, 'test');
  config.listeners.kmip.port = 0;
  const secret = randomBytes(32);
  let server = await startServer(config, pino({ level: 'silent' }));
  let c = await KmipTestClient.connect(server.kmip.port, dev);
  const uid = uidOf(await send(c, [registerAes(secret)]));
  c.close();
  await server.close();
  server = await startServer(config, pino({ level: 'silent' }));
  try {
    c = await KmipTestClient.connect(server.kmip.port, dev);
    assert.ok(keyBytesOf(await send(c, [getItem(uid)])).equals(secret));
    c.close();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
