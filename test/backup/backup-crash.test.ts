// kill -9 during a backup and during a restore (random moments, seed printed; and the moment the
// restore journal appears, when files are being moved into place): the live store stays intact and
// served; a killed backup leaves no file under its name and its staging is cleaned by the next run;
// a killed restore leaves nothing restored or a journal — then the server refuses to start and the
// same restore run again finishes it — and never a half store. Every finished restore has exactly
// one Backup Restore record, verifies, and serves the keys byte for byte.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESTORE_JOURNAL } from '../../server/backup/restore-journal.js';
import { devClient, freePort, killAllDev, sleep, startDev, type Dev } from '../support/dev-process.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes } from '../support/requests.js';
import { filesUnder, getItem, KEYHAVEN, keyBytesOf, ROOT, runCli, send, uidOf } from '../store/helpers.js';

const seed = Number(process.env['KH_SEED'] ?? (Date.now() % 1_000_000_007));
let rng = seed;
const random = () => ((rng = (rng * 48271) % 2147483647) / 2147483647);

const work = mkdtempSync(join(tmpdir(), 'keyhaven-crash-'));
const aDir = join(work, 'a');
const file = join(work, 'a.khbak');
let a: Dev;
let port: number;
let shares: string;
const keys = new Map<string, Buffer>();

/** Runs `keyhaven ARGS` and kills it with SIGKILL after `ms`, or when `killWhen` resolves; resolves with how it ended. */
function runAndKill(args: string[], input: string, ms: number, killWhen?: Promise<unknown>): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [KEYHAVEN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  child.stdin.end(input);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  const timer = setTimeout(kill, ms);
  void killWhen?.then(kill);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code, stderr });
    }),
  );
}

before(async () => {
  port = await freePort();
  a = await startDev(aDir, port, { readyMs: 120_000 });
  const c = await KmipTestClient.connect(port, devClient(aDir));
  for (let i = 0; i < 200; i++) {
    const uid = uidOf(await send(c, [createAes()]));
    if (i % 20 === 0) keys.set(uid, keyBytesOf(await send(c, [getItem(uid)])));
  }
  c.close();
  const init = await runCli(['backup', 'init', '--data-dir', aDir]);
  assert.equal(init.code, 0, init.stderr);
  shares = init.stdout.trim().split('\n').slice(0, 2).join('\n');
  const made = await runCli(['backup', 'create', '--data-dir', aDir, '--out', file], 120_000);
  assert.equal(made.code, 0, made.stderr);
});

after(async () => {
  await killAllDev();
  rmSync(work, { recursive: true, force: true });
});

async function servesKeys(dir: string): Promise<void> {
  const p = await freePort();
  const d = await startDev(dir, p, { readyMs: 120_000 });
  const c = await KmipTestClient.connect(p, devClient(aDir));
  try {
    for (const [uid, bytes] of keys) assert.deepEqual(keyBytesOf(await send(c, [getItem(uid)])), bytes, `${dir}: key ${uid}`);
  } finally {
    c.close();
    d.proc.kill('SIGTERM');
    await d.exited;
  }
}

test('kill -9 during restores: nothing restored, or a journal the next run finishes; never a half store served', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${seed} (replay: KH_SEED=${seed})`);
  const tally = { nothing: 0, journal: 0, complete: 0 };
  const full = Date.now();
  assert.equal((await runCli(['backup', 'restore', '--file', file, '--data-dir', join(work, 'timing')], 120_000, shares)).code, 0);
  const fullMs = Date.now() - full;
  for (let i = 0; i < 8; i++) {
    const dir = join(work, `r${i}`);
    // Half the runs at a random moment; the other half the moment the journal appears (moving files).
    const atJournal = i % 2 === 1;
    let stopWatching = () => {};
    const journalSeen = atJournal
      ? new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (!existsSync(dir)) return;
            clearInterval(poll);
            const w = watch(dir, (_e, name) => {
              if (name === RESTORE_JOURNAL) {
                w.close();
                resolve();
              }
            });
            stopWatching = () => w.close();
          }, 1);
          const prev = stopWatching;
          stopWatching = () => {
            clearInterval(poll);
            prev();
          };
        })
      : undefined;
    const r = await runAndKill(['backup', 'restore', '--file', file, '--data-dir', dir], shares, atJournal ? 120_000 : Math.floor(random() * fullMs), journalSeen);
    stopWatching();
    const completeBefore = tally.complete;
    const journal = existsSync(join(dir, RESTORE_JOURNAL));
    const store = existsSync(join(dir, 'keyhaven.db'));
    if (journal) {
      tally.journal++;
      // The server refuses to start on it, saying how to finish.
      const start = await runCli(['dev', '--data-dir', dir, '--kmip-port', String(await freePort())], 60_000);
      assert.notEqual(start.code, 0);
      assert.match(start.stderr, /interrupted .*run `keyhaven backup restore --file .*` on the same data directory again/s);
      const again = await runCli(['backup', 'restore', '--file', file, '--data-dir', dir], 120_000, shares);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /finished the interrupted restore/);
    } else if (!store) {
      // Killed before anything moved (the journal is written before the first move and removed after
      // the last): nothing of a store here, staging at most, and a rerun restores.
      assert.equal(existsSync(join(dir, 'master.key')), false, `${dir}: a master key without the journal`);
      tally.nothing++;
      const again = await runCli(['backup', 'restore', '--file', file, '--data-dir', dir], 120_000, shares);
      assert.equal(again.code, 0, `${dir}: ${again.stderr}`);
    } else {
      // The store in place and no journal: the restore had finished (killed after, or not killed).
      assert.ok(r.killed || r.code === 0, `${dir}: ${r.stderr}`);
      tally.complete++;
    }
    assert.equal(existsSync(join(dir, RESTORE_JOURNAL)), false);
    const staged = readdirSync(dir).filter((n) => n.startsWith('.restore-'));
    if (tally.complete > completeBefore && r.killed) {
      // Killed between its last step and removing its staging: every file had moved out (the next
      // backup or restore removes the directory of a dead run).
      for (const d of staged) assert.deepEqual(filesUnder(join(dir, d)), [], `${d} still holds files`);
    } else {
      assert.deepEqual(staged, [], 'no staging left after the run that finished');
    }
    assert.equal((await runCli(['store', 'check', '--data-dir', dir])).code, 0, `${dir}: store check`);
    assert.equal((await runCli(['audit', 'verify', '--data-dir', dir])).code, 0, `${dir}: audit verify`);
    const tail = await runCli(['audit', 'tail', '--data-dir', dir, '-n', '1000']);
    assert.equal(tail.stdout.split('\n').filter((l) => /\tBackup Restore\t/.test(l)).length, 1, `${dir}: exactly one restore record`);
    if (i === 1 || i === 7) await servesKeys(dir);
  }
  // Replacing a store (r0's), killed the moment the journal appears: the old store moving aside and the
  // new one in; the rerun finishes both, and the replaced store is whole in its .replaced- directory.
  const target = join(work, 'r0');
  const oldDb = readFileSync(join(target, 'keyhaven.db'));
  const journalSeen = new Promise<void>((resolve) => {
    const w = watch(target, (_e, name) => {
      if (name === RESTORE_JOURNAL) {
        w.close();
        resolve();
      }
    });
  });
  const killed = await runAndKill(['backup', 'restore', '--file', file, '--data-dir', target, '--replace'], shares, 120_000, journalSeen);
  if (existsSync(join(target, RESTORE_JOURNAL))) {
    tally.journal++;
    const again = await runCli(['backup', 'restore', '--file', file, '--data-dir', target], 120_000, shares);
    assert.equal(again.code, 0, again.stderr);
  } else {
    // No journal: the kill was only sent once the journal appeared, so the run had finished (the
    // journal is removed after the last move); what follows checks that it finished whole.
    assert.ok(killed.killed || killed.code === 0, killed.stderr);
  }
  const aside = readdirSync(target).filter((n) => n.startsWith('.replaced-'));
  assert.equal(aside.length, 1);
  assert.ok(readFileSync(join(target, aside[0]!, 'keyhaven.db')).equals(oldDb), 'the replaced store is kept whole');
  assert.equal((await runCli(['store', 'check', '--data-dir', target])).code, 0);
  t.diagnostic(`restores killed: ${tally.nothing} before anything moved, ${tally.journal} while moving into place (finished by a rerun), ${tally.complete} after finishing`);
  assert.ok(tally.journal >= 1, 'at least one kill landed while files were moved into place');
});

test('kill -9 during backups while the server serves: the store intact and served, no file under the name, staging cleaned', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${seed}`);
  let killed = 0;
  const full = Date.now();
  assert.equal((await runCli(['backup', 'create', '--data-dir', aDir, '--out', join(work, 'timing.khbak')], 120_000)).code, 0);
  const fullMs = Date.now() - full;
  for (let i = 0; i < 6; i++) {
    const out = join(work, `killed-${i}.khbak`);
    // Odd runs: killed just after their staging directory appears (mid-snapshot); even runs: at random.
    let w: ReturnType<typeof watch> | undefined;
    const staged = i % 2 === 1
      ? new Promise<void>((resolve) => {
          w = watch(aDir, (_e, name) => {
            if (name?.startsWith('.backup-')) setTimeout(resolve, 20);
          });
        })
      : undefined;
    const r = await runAndKill(['backup', 'create', '--data-dir', aDir, '--out', out], '', i % 2 === 1 ? 120_000 : Math.floor(random() * fullMs), staged);
    w?.close();
    if (r.killed) {
      killed++;
      assert.equal(existsSync(out), false, 'no file under the backup name');
    } else {
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await runCli(['backup', 'verify', '--file', out], 120_000, shares)).code, 0);
    }
    // The live server still answers, with the same keys.
    const c = await KmipTestClient.connect(port, devClient(aDir));
    const [uid, bytes] = [...keys][i % keys.size]!;
    assert.deepEqual(keyBytesOf(await send(c, [getItem(uid)])), bytes);
    c.close();
  }
  const left = readdirSync(aDir).filter((n) => n.startsWith('.backup-'));
  assert.ok(left.length >= 1, 'some killed runs left their staging (so its cleanup is tested)');
  const next = await runCli(['backup', 'create', '--data-dir', aDir, '--out', join(work, 'after-kills.khbak')], 120_000);
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(readdirSync(aDir).filter((n) => n.startsWith('.backup-')), [], `the next backup removed the killed runs' staging (${left.length} left by them)`);
  assert.equal((await runCli(['audit', 'verify', '--data-dir', aDir])).code, 0);
  t.diagnostic(`backups killed: ${killed} of 6; staging directories left by them: ${left.length}, removed by the next backup`);
  await sleep(0);
});
