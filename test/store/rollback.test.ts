// Rolling the key store back is detected at start (server/store/rollback-guard.ts): an older copy of
// keyhaven.db (with or without its -wal), an older -wal alone, a removed -wal, a removed anchor, an
// older row version spliced into the current file, and older rows together with the older sealed
// digest. Each refusal carries KH_STORE_ROLLBACK and says what disagrees and what to do; the
// operator's way out (`keyhaven store accept-rollback --yes`) is recorded in the audit chain.
// Real `keyhaven serve` processes; the attacker's edits use cp and the sqlite3 tool.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../server/config.js';
import { Enum } from '../../server/kmip/tables.js';
import { openStore } from '../../server/server.js';
import { inspectStore } from '../../server/store/rollback-guard.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { prepareDataDir } from '../support/server.js';
import { freePort, getItem, runCli, send, startServerProcess, writeConfig, type ServerProcess } from './helpers.js';
import {
  assertRefused, copyStore, createActiveKey, readAnchorJson, restoreStore, revoke, sleep, sqlite3, stateOf, stopClean,
} from './rollback-helpers.js';

const ROLLBACK = 'KH_STORE_ROLLBACK';
/** Longer than the anchor's period (1 s) plus its write. */
const ANCHOR_WAIT_MS = 2500;

const running = new Set<ServerProcess>();
const dirs: string[] = [];
after(async () => {
  for (const s of running) s.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Env {
  dir: string;
  dev: ClientFiles;
  port: number;
  config: string;
  copies: string;
  start(): Promise<ServerProcess>;
  client(): Promise<KmipTestClient>;
}

async function env(): Promise<Env> {
  const { dir, dev } = await prepareDataDir();
  const copies = mkdtempSync(join(tmpdir(), 'keyhaven-copies-'));
  dirs.push(dir, copies);
  const port = await freePort();
  const config = writeConfig(join(dir, 'config.json'), dir, port);
  return {
    dir,
    dev,
    port,
    config,
    copies,
    async start() {
      const s = await startServerProcess(config);
      running.add(s);
      void s.exited.then(() => running.delete(s));
      return s;
    },
    client: () => KmipTestClient.connect(port, dev),
  };
}

/** A store holding an Active key K, stopped; returns K. */
async function withActiveKey(e: Env): Promise<string> {
  const s = await e.start();
  const c = await e.client();
  const uid = await createActiveKey(c);
  c.close();
  await stopClean(s);
  return uid;
}

/** Starts the server, revokes K as compromised, and stops it cleanly (or kills it). */
async function compromise(e: Env, uid: string, how: 'stop' | 'kill' = 'stop'): Promise<void> {
  const s = await e.start();
  const c = await e.client();
  await revoke(c, uid);
  assert.equal(await stateOf(c, uid), Enum.State.Compromised);
  c.close();
  if (how === 'stop') return stopClean(s);
  await sleep(ANCHOR_WAIT_MS); // the anchor covers the revocation
  s.child.kill('SIGKILL');
  await s.exited;
}

test('a fresh store starts and gets its anchor file; an untouched store restarts', async () => {
  const e = await env();
  await withActiveKey(e);
  assert.ok(existsSync(join(e.dir, 'keyhaven.anchor')), 'the anchor file is made next to the store by default');
  const a = readAnchorJson(join(e.dir, 'keyhaven.anchor'));
  assert.equal(typeof a.auditSeq, 'number');
  assert.ok((a.auditSeq as number) >= 3, `the clean stop anchored the final head (${JSON.stringify(a)})`);
  const s = await e.start();
  (await e.client()).close(); // (the server is surely past its start: SIGTERM right at start kills it)
  await stopClean(s);
  assert.ok((readAnchorJson(join(e.dir, 'keyhaven.anchor')).auditSeq as number) > (a.auditSeq as number), 'the anchor moved on');
});

test('the whole store put back after a stop: refused, both heads named; accept-rollback --yes starts it and records it', async () => {
  const e = await env();
  const uid = await withActiveKey(e);
  copyStore(e.dir, join(e.copies, 'old'));
  await compromise(e, uid);
  restoreStore(join(e.copies, 'old'), e.dir);

  const stderr = await assertRefused(e.config, ROLLBACK, /the audit log ends at record \d+/, /anchor/, /keyhaven store accept-rollback/);
  assert.doesNotMatch(stderr, /at [A-Za-z]+\.|node:internal/, 'a message, not a stack trace');
  // `audit verify` no longer calls the older log intact.
  const verify = await runCli(['audit', 'verify', '--data-dir', e.dir]);
  assert.equal(verify.code, 1, `audit verify: ${verify.stdout}${verify.stderr}`);
  assert.match(verify.stderr, /ROLLED BACK/);

  // Without --yes nothing changes; both heads are printed.
  const dry = await runCli(['store', 'accept-rollback', '--data-dir', e.dir]);
  assert.equal(dry.code, 2, dry.stderr);
  assert.match(dry.stdout, /anchor:\s+audit record \d+ [0-9a-f]{12}, store generation \d+/);
  assert.match(dry.stdout, /database:\s+audit record \d+ [0-9a-f]{12}, store generation \d+/);
  assert.match(dry.stderr, /--yes/);
  await assertRefused(e.config, ROLLBACK);

  const yes = await runCli(['store', 'accept-rollback', '--data-dir', e.dir, '--yes']);
  assert.equal(yes.code, 0, yes.stderr);
  const s = await e.start();
  const c = await e.client();
  // The operator knowingly restored the older store: the key is as it was in the copy.
  assert.equal(await stateOf(c, uid), Enum.State.Active);
  c.close();
  await stopClean(s);
  const tail = await runCli(['audit', 'tail', '--data-dir', e.dir, '-n', '10']);
  assert.match(tail.stdout, /\tAccept Rollback\t-\tfailure\t.*anchor.*audit record \d+.*database.*audit record \d+/);
  const verified = await runCli(['audit', 'verify', '--data-dir', e.dir]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal((await runCli(['store', 'check', '--data-dir', e.dir])).code, 0);
});

test('the store and its -wal copied while the server ran, put back after a crash: refused', async () => {
  const e = await env();
  const uid = await withActiveKey(e);
  const s = await e.start();
  const c = await e.client();
  assert.equal((await send(c, [getItem(uid)])).items[0]!.status, Enum.ResultStatus.Success);
  copyStore(e.dir, join(e.copies, 'hot')); // the server is idle: the pair is consistent
  await revoke(c, uid);
  c.close();
  await sleep(ANCHOR_WAIT_MS);
  s.child.kill('SIGKILL');
  await s.exited;
  restoreStore(join(e.copies, 'hot'), e.dir);
  await assertRefused(e.config, ROLLBACK, /the audit log ends at record \d+/);
});

test('an older -wal alone put back after a crash: refused', async () => {
  const e = await env();
  const uid = await withActiveKey(e);
  const s = await e.start();
  const c = await e.client();
  await send(c, [getItem(uid)]);
  copyStore(e.dir, join(e.copies, 'wal'), ['keyhaven.db-wal']);
  await revoke(c, uid);
  c.close();
  await sleep(ANCHOR_WAIT_MS);
  s.child.kill('SIGKILL');
  await s.exited;
  restoreStore(join(e.copies, 'wal'), e.dir, ['keyhaven.db-wal']);
  await assertRefused(e.config, ROLLBACK, /the audit log ends at record \d+/);
});

test('the -wal removed after a crash: refused', async () => {
  const e = await env();
  const uid = await withActiveKey(e);
  await compromise(e, uid, 'kill');
  assert.ok(existsSync(join(e.dir, 'keyhaven.db-wal')), 'the crash left the recent commits in the WAL');
  rmSync(join(e.dir, 'keyhaven.db-wal'));
  rmSync(join(e.dir, 'keyhaven.db-shm'), { force: true });
  await assertRefused(e.config, ROLLBACK, /the audit log ends at record \d+/);
});

test('the anchor file removed: refused (a brand-new store is the only one that may lack it)', async () => {
  const e = await env();
  await withActiveKey(e);
  rmSync(join(e.dir, 'keyhaven.anchor'));
  await assertRefused(e.config, ROLLBACK, /anchor file .*keyhaven\.anchor is missing/, /accept-rollback/);
});

/** Saves K's current row (and the sealed digest) to old.db with sqlite3. */
test('the store deleted: the new empty store it would start with does not match the anchor, refused', async () => {
  const e = await env();
  await withActiveKey(e);
  for (const f of ['keyhaven.db', 'keyhaven.db-wal', 'keyhaven.db-shm']) rmSync(join(e.dir, f), { force: true });
  await assertRefused(e.config, ROLLBACK, /belongs to another key store/);
});

function saveRow(e: Env, uid: string): string {
  const old = join(e.copies, 'old.db');
  rmSync(old, { force: true });
  sqlite3(
    join(e.dir, 'keyhaven.db'),
    `ATTACH '${old}' AS old; CREATE TABLE old.objects AS SELECT * FROM main.objects WHERE uid = '${uid}'; CREATE TABLE old.meta AS SELECT * FROM main.meta;`,
  );
  return old;
}

/** Puts the saved older version of `uid`'s row (and, with `digest`, the older sealed digest) back into the live file. */
function spliceOldRow(dir: string, old: string, uid: string, digest: boolean): void {
  sqlite3(
    join(dir, 'keyhaven.db'),
    `ATTACH '${old}' AS old; UPDATE main.objects SET
       state = (SELECT state FROM old.objects), attributes = (SELECT attributes FROM old.objects),
       material = (SELECT material FROM old.objects), mac = (SELECT mac FROM old.objects)
     WHERE uid = '${uid}';` +
      (digest ? ` UPDATE main.meta SET value = (SELECT value FROM old.meta WHERE key = 'store_digest') WHERE key = 'store_digest';` : ''),
  );
}

test("an older version of a row spliced into the current file (audit log left current): refused", async () => {
  const e = await env();
  const uid = await withActiveKey(e);
  const old = saveRow(e, uid);
  await compromise(e, uid);
  spliceOldRow(e.dir, old, uid, false);
  assert.match(sqlite3(join(e.dir, 'keyhaven.db'), `SELECT state FROM objects WHERE uid = '${uid}'`), /^2\n/, 'the Active row is back');
  await assertRefused(e.config, ROLLBACK, /object rows do not match the store digest/, /replaced or removed outside Keyhaven/);
});

test('older rows spliced in together with the older sealed digest: refused (the generation is behind the anchor)', async () => {
  const e = await env();
  const uid = await withActiveKey(e);
  const old = saveRow(e, uid);
  await compromise(e, uid);
  spliceOldRow(e.dir, old, uid, true);
  await assertRefused(e.config, ROLLBACK, /store generation \d+ is behind the anchored generation \d+/);
});

test('a store last run by a Keyhaven without rollback detection (no digest, no anchor): refused, saying so; accept-rollback enables it', async () => {
  const e = await env();
  const uid = await withActiveKey(e);
  // What such a store looks like: no sealed digest, no store id, no anchor file.
  sqlite3(join(e.dir, 'keyhaven.db'), "DELETE FROM meta WHERE key IN ('store_digest', 'store_id');");
  rmSync(join(e.dir, 'keyhaven.anchor'));
  await assertRefused(e.config, ROLLBACK, /sealed store digest is missing/, /without rollback detection/, /accept-rollback/);
  const yes = await runCli(['store', 'accept-rollback', '--data-dir', e.dir, '--yes']);
  assert.equal(yes.code, 0, yes.stderr);
  const s = await e.start();
  const c = await e.client();
  assert.equal(await stateOf(c, uid), Enum.State.Active);
  await revoke(c, uid);
  c.close();
  await stopClean(s);
  // From now on it is protected like any other store.
  assert.equal((await runCli(['store', 'check', '--data-dir', e.dir])).code, 0);
  rmSync(join(e.dir, 'keyhaven.anchor'));
  await assertRefused(e.config, ROLLBACK, /anchor file .* is missing/);
});

test('store check and audit verify on a running server under load raise no false alarm', async () => {
  const e = await env();
  await withActiveKey(e);
  const s = await e.start();
  const c = await e.client();
  let writing = true;
  const load = (async () => {
    while (writing) await createActiveKey(c);
  })();
  try {
    // Opened, then inspected after the anchor has moved on: the inspection compares the anchor with
    // the database as it is then, not with the head read when the store was opened.
    const opened = openStore(parseConfig({ dataDir: e.dir }, 'test'), { create: false });
    try {
      await sleep(ANCHOR_WAIT_MS);
      assert.deepEqual(inspectStore(opened).problems, []);
    } finally {
      opened.db.close();
    }
    for (let i = 0; i < 3; i++) {
      const check = await runCli(['store', 'check', '--data-dir', e.dir]);
      assert.equal(check.code, 0, `store check ${i}: ${check.stdout}${check.stderr}`);
      const verify = await runCli(['audit', 'verify', '--data-dir', e.dir]);
      assert.equal(verify.code, 0, `audit verify ${i}: ${verify.stdout}${verify.stderr}`);
    }
  } finally {
    writing = false;
    await load;
    c.close();
    await stopClean(s);
  }
});
