// The backup contract end to end, through the real `keyhaven` command and real servers: a backup
// key split into shares; a backup taken while a server serves and writes; verify with the shares;
// every wrong input refused with its code and nothing changed (too few or wrong shares, another
// generation's shares, a tampered or truncated file, a restore over a store); then a restore onto a
// new data directory, served by `keyhaven dev` to the OLD client certificate — byte-identical keys
// under the same identifiers (read by our client and by PyKMIP) — with its audit chain continued by
// a 'Backup Restore' record and its rollback anchor in place.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitSecret } from '../../server/backup/shares.js';
import { Enum } from '../../server/kmip/tables.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { devClient, freePort, killAllDev, startDev, stopDev, type Dev } from '../support/dev-process.js';
import { createAes } from '../support/requests.js';
import { pykmip, pykmipMissing, stepOk } from '../support/pykmip-driver.js';
import { getItem, keyBytesOf, runCli, send, uidOf } from '../store/helpers.js';

const work = mkdtempSync(join(tmpdir(), 'keyhaven-backup-'));
const aDir = join(work, 'a');
const restored = join(work, 'restored');
const noPykmip = pykmipMissing('the PyKMIP half of the restore test');

async function startServer(dir: string): Promise<{ port: number; proc: Dev }> {
  const port = await freePort();
  return { port, proc: await startDev(dir, port, { readyMs: 120_000 }) };
}

const devFiles = (dir: string) => devClient(dir);
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

function refusedWith(r: { code: number | null; stderr: string }, code: string, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`[${code}]`), `expected ${code}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

let a: { port: number; proc: Dev };
let client: KmipTestClient;
/** uid -> key bytes, as A served them, for keys made before the backup. */
const keys = new Map<string, Buffer>();
let shares1: string[] = [];
const backup1 = join(work, 'one.khbak');
let pykmipUid: string | undefined;
let pykmipBytes: string | undefined;

before(async () => {
  a = await startServer(aDir);
  client = await KmipTestClient.connect(a.port, devFiles(aDir));
  for (let i = 0; i < 20; i++) {
    const uid = uidOf(await send(client, [createAes()]));
    keys.set(uid, keyBytesOf(await send(client, [getItem(uid)])));
  }
  if (!noPykmip) {
    pykmipUid = stepOk<{ uid: string }>(await pykmip('credential', '127.0.0.1', a.port, devFiles(aDir)), 'create').uid;
    pykmipBytes = stepOk<{ value_hex: string }>(await pykmip('owner', '127.0.0.1', a.port, devFiles(aDir), ['--uid', pykmipUid]), 'get').value_hex;
  }
});

after(async () => {
  client?.close();
  await killAllDev();
  rmSync(work, { recursive: true, force: true });
});

describe('keyhaven backup', { timeout: 600_000 }, () => {
  test('no backup before the backup key exists; init prints exactly the shares on stdout, once', async () => {
    refusedWith(await runCli(['backup', 'create', '--data-dir', aDir, '--out', join(work, 'early.khbak')]), 'KH_BACKUP_NO_KEY', /keyhaven backup init/);
    assert.equal(existsSync(join(work, 'early.khbak')), false);
    const init = await runCli(['backup', 'init', '--data-dir', aDir]);
    assert.equal(init.code, 0, init.stderr);
    shares1 = init.stdout.trim().split('\n');
    assert.equal(shares1.length, 3);
    for (const [i, s] of shares1.entries()) assert.match(s, new RegExp(`^KHS1-1-2of3-${i + 1}-[0-9a-f]+-[0-9a-f]{8}$`));
    assert.match(init.stderr, /generation 1 made \(check value [0-9a-f]{16}\).*any 2 rebuild it/s);
    // The key is kept only wrapped: its file holds no share and no 32-byte key in any encoding we print.
    const keyFile = readFileSync(join(aDir, 'backup-key.json'), 'utf8');
    assert.equal(statSync(join(aDir, 'backup-key.json')).mode & 0o777, 0o600);
    for (const s of shares1) assert.equal(keyFile.includes(s.split('-')[4]!), false);
    refusedWith(await runCli(['backup', 'init', '--data-dir', aDir]), 'KH_BACKUP_KEY_EXISTS', /give --rekey to make generation 2/);
    refusedWith(await runCli(['backup', 'init', '--data-dir', join(work, 'nowhere'), '--shares', '3', '--threshold', '1']), 'KH_BACKUP_BAD_INPUT', /one share alone must never reveal the key/);
  });

  test('a backup taken while the server serves and writes; verify lists it with any two shares', async () => {
    // Writes go on during the backup, from another connection.
    const writer = await KmipTestClient.connect(a.port, devFiles(aDir));
    let writing = true;
    let written = 0;
    const loop = (async () => {
      for (let i = 0; writing && i < 100_000; i++) {
        uidOf(await send(writer, [createAes()]));
        written++;
      }
    })();
    const made = await runCli(['backup', 'create', '--data-dir', aDir, '--out', backup1], 120_000);
    writing = false;
    await loop;
    writer.close();
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /generation: +1 /);
    assert.equal(statSync(backup1).mode & 0o777, 0o600);
    assert.ok(written > 0, 'the writer made keys during the backup');
    const objects = Number(/objects: +(\d+)/.exec(made.stdout)![1]);
    const before = keys.size + (pykmipUid ? 1 : 0);
    assert.ok(objects >= before && objects <= before + written, `the backup holds ${objects} objects; ${before} before it, ${written} written during it`);
    const workDir = join(work, 'verify-work');
    mkdirSync(workDir);
    for (const pair of [[0, 1], [0, 2], [2, 1]]) {
      const v = await runCli(['backup', 'verify', '--file', backup1, '--work-dir', workDir], 120_000, pair.map((i) => shares1[i]).join('\n') + '\n');
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, new RegExp(`objects: +${objects} `));
      assert.match(v.stdout, /audit chain: +\d+ records verified; the object rows match their sealed digest/);
      assert.deepEqual(readdirSync(workDir), [], 'verify leaves nothing in its work directory');
    }
    // The live directory is as it was: verify unpacks elsewhere.
    assert.deepEqual(
      ['keyhaven.db', 'master.key', 'pki', 'backup-key.json', 'keyhaven.anchor'].filter((f) => !existsSync(join(aDir, f))),
      [],
    );
  });

  test('refused, each with its reason: too few shares, a wrong share, a tampered or truncated file, not a backup', async () => {
    const v = (file: string, input: string) => runCli(['backup', 'verify', '--file', file], 120_000, input);
    refusedWith(await v(backup1, `${shares1[0]}\n`), 'KH_BACKUP_BAD_SHARES', /1 share given, 2 of 3 needed/);
    refusedWith(await v(backup1, `${shares1[0]}\n${shares1[0]}\n`), 'KH_BACKUP_BAD_SHARES', /share 1 was given twice/);
    // Well-formed shares of generation 1 of another key: they combine, to the wrong key.
    const stranger = await splitSecret(randomBytes(32), { generation: 1, threshold: 2, count: 3 });
    refusedWith(await v(backup1, stranger.slice(0, 2).join('\n')), 'KH_BACKUP_BAD_SHARES', /do not rebuild the backup key of generation 1/);
    const bytes = readFileSync(backup1);
    const tampered = join(work, 'tampered.khbak');
    const t = Buffer.from(bytes);
    t[Math.floor(t.length / 2)]! ^= 0x20;
    writeFileSync(tampered, t);
    refusedWith(await v(tampered, shares1.slice(0, 2).join('\n')), 'KH_BACKUP_FILE_INVALID', /failed authentication: the file was altered/);
    const truncated = join(work, 'truncated.khbak');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 1000));
    refusedWith(await v(truncated, shares1.slice(0, 2).join('\n')), 'KH_BACKUP_FILE_INVALID', /truncated|failed authentication/);
    const notBackup = join(work, 'not.khbak');
    writeFileSync(notBackup, 'hello');
    refusedWith(await v(notBackup, shares1.slice(0, 2).join('\n')), 'KH_BACKUP_FILE_INVALID', /not a Keyhaven backup file/);
  });

  test('re-keying: a new generation; each backup opens only with its own generation\'s shares', async () => {
    const rekey = await runCli(['backup', 'init', '--data-dir', aDir, '--rekey', '--shares', '4', '--threshold', '3']);
    assert.equal(rekey.code, 0, rekey.stderr);
    const shares2 = rekey.stdout.trim().split('\n');
    assert.equal(shares2.length, 4);
    assert.match(shares2[0]!, /^KHS1-2-3of4-1-/);
    const backup2 = join(work, 'two.khbak');
    assert.equal((await runCli(['backup', 'create', '--data-dir', aDir, '--out', backup2], 120_000)).code, 0);
    refusedWith(await runCli(['backup', 'verify', '--file', backup1], 120_000, shares2.slice(0, 3).join('\n')), 'KH_BACKUP_BAD_SHARES', /needs the shares of backup-key generation 1; the shares given are of generation 2/);
    refusedWith(await runCli(['backup', 'verify', '--file', backup2], 120_000, shares1.slice(0, 2).join('\n')), 'KH_BACKUP_BAD_SHARES', /needs the shares of backup-key generation 2/);
    assert.equal((await runCli(['backup', 'verify', '--file', backup2], 120_000, shares2.slice(1, 4).join('\n'))).code, 0);
    // A backup never overwrites a file.
    refusedWith(await runCli(['backup', 'create', '--data-dir', aDir, '--out', backup2]), 'KH_BACKUP_BAD_INPUT', /exists already/);
  });

  test('restore: refused over a store (nothing changed); onto a new directory, served to the old client certificate', async () => {
    await stopDev(a.proc, 'SIGKILL'); // the original is gone
    const liveDb = sha(join(aDir, 'keyhaven.db'));
    const liveKey = sha(join(aDir, 'master.key'));
    refusedWith(
      await runCli(['backup', 'restore', '--file', backup1, '--data-dir', aDir], 120_000, shares1.slice(0, 2).join('\n')),
      'KH_BACKUP_RESTORE_REFUSED',
      /holds a key store already .*nothing was changed/,
    );
    assert.deepEqual([sha(join(aDir, 'keyhaven.db')), sha(join(aDir, 'master.key'))], [liveDb, liveKey]);
    // Wrong shares leave the new directory without a store.
    const stranger = await splitSecret(randomBytes(32), { generation: 1, threshold: 2, count: 3 });
    refusedWith(await runCli(['backup', 'restore', '--file', backup1, '--data-dir', restored], 120_000, stranger.slice(1).join('\n')), 'KH_BACKUP_BAD_SHARES', /do not rebuild/);
    assert.equal(existsSync(join(restored, 'keyhaven.db')), false);

    const r = await runCli(['backup', 'restore', '--file', backup1, '--data-dir', restored], 120_000, shares1.slice(1).join('\n'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /audit record \d+ records the restore/);
    assert.equal(statSync(join(restored, 'master.key')).mode & 0o777, 0o600);
    assert.equal(sha(join(restored, 'master.key')), liveKey, 'the master key came back');
    assert.equal(sha(join(restored, 'pki/ca.crt')), sha(join(aDir, 'pki/ca.crt')));
    assert.equal(readdirSync(restored).filter((n) => n.startsWith('.restore-')).length, 0, 'no staging directory left');

    const audit = await runCli(['audit', 'verify', '--data-dir', restored]);
    assert.equal(audit.code, 0, audit.stderr);
    const check = await runCli(['store', 'check', '--data-dir', restored]);
    assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
    const tail = await runCli(['audit', 'tail', '--data-dir', restored, '-n', '1']);
    assert.match(tail.stdout, /Backup Restore/);
    assert.match(tail.stdout, /restored the backup .*one\.khbak/);

    // Served by a server started on it, to A's own dev client certificate and CA.
    const b = await startServer(restored);
    const c = await KmipTestClient.connect(b.port, devFiles(aDir));
    try {
      for (const [uid, bytes] of keys) assert.deepEqual(keyBytesOf(await send(c, [getItem(uid)])), bytes, `key ${uid}`);
      // A key made after the backup is not in it.
      const later = await send(c, [getItem('no-such-key')]);
      assert.equal(later.items[0]!.status, Enum.ResultStatus.OperationFailed);
    } finally {
      c.close();
    }
    if (pykmipUid) {
      const got = stepOk<{ value_hex: string }>(await pykmip('owner', '127.0.0.1', b.port, devFiles(aDir), ['--uid', pykmipUid]), 'get');
      assert.equal(got.value_hex, pykmipBytes, 'PyKMIP reads the same bytes from the restored server');
    }
    // The restored server keeps the backup key the shares rebuilt: it makes backups of generation 1.
    const again = await runCli(['backup', 'create', '--data-dir', restored, '--out', join(work, 'after-restore.khbak')], 120_000);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /generation: +1 /);
    await stopDev(b.proc, 'SIGTERM');
  });

  test('restore --replace: refused while the server has the store open; once it is stopped, the old store is kept aside', async () => {
    const b = await startServer(restored);
    const c = await KmipTestClient.connect(b.port, devFiles(aDir));
    const newer = uidOf(await send(c, [createAes()])); // only in the store about to be replaced
    c.close();
    const before = { db: sha(join(restored, 'keyhaven.db')), key: sha(join(restored, 'master.key')) };
    refusedWith(
      await runCli(['backup', 'restore', '--file', backup1, '--data-dir', restored, '--replace'], 120_000, shares1.slice(0, 2).join('\n')),
      'KH_BACKUP_RESTORE_REFUSED',
      new RegExp(`in use by process ${b.proc.proc.pid}.*stop it before replacing its store; nothing was changed`),
    );
    assert.equal(sha(join(restored, 'keyhaven.db')), before.db);
    await stopDev(b.proc, 'SIGTERM');
    const after = { db: sha(join(restored, 'keyhaven.db')), key: sha(join(restored, 'master.key')) };
    const r = await runCli(['backup', 'restore', '--file', backup1, '--data-dir', restored, '--replace'], 120_000, shares1.slice(0, 2).join('\n'));
    assert.equal(r.code, 0, r.stderr);
    const aside = /kept in (\S+)/.exec(r.stdout)?.[1];
    assert.ok(aside && existsSync(aside), r.stdout);
    assert.deepEqual({ db: sha(join(aside, 'keyhaven.db')), key: sha(join(aside, 'master.key')) }, after, 'the replaced store, whole, aside');
    assert.ok(existsSync(join(aside, 'pki/ca.crt')) && existsSync(join(aside, 'keyhaven.anchor')) && existsSync(join(aside, 'backup-key.json')));
    assert.equal((await runCli(['store', 'check', '--data-dir', restored])).code, 0);
    assert.match((await runCli(['audit', 'tail', '--data-dir', restored, '-n', '1'])).stdout, /Backup Restore.*the store it replaced was moved to .*\.replaced-/);
    const again = await startServer(restored);
    const c2 = await KmipTestClient.connect(again.port, devFiles(aDir));
    try {
      const [uid, bytes] = [...keys][0]!;
      assert.deepEqual(keyBytesOf(await send(c2, [getItem(uid)])), bytes, 'the backup\'s keys are served');
      assert.equal((await send(c2, [getItem(newer)])).items[0]!.status, Enum.ResultStatus.OperationFailed, 'the key made after the backup is not');
    } finally {
      c2.close();
      await stopDev(again.proc, 'SIGTERM');
    }
  });

  test('a newer format is refused before any share is asked for', async () => {
    const newer = join(work, 'newer.khbak');
    copyFileSync(backup1, newer);
    const bytes = readFileSync(newer);
    bytes[8] = 2;
    writeFileSync(newer, bytes);
    refusedWith(await runCli(['backup', 'verify', '--file', newer], 30_000, ''), 'KH_BACKUP_FILE_INVALID', /format 2, made by a newer Keyhaven/);
  });
});
