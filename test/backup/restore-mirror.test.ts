// A mirror member whose disk died, restored from its own (older) backup, rejoins its group without
// losing or resurrecting anything: keys made anywhere after the backup — on the peer, and on the
// member itself before it died — come back to it; keys made on it after the restore reach the peer;
// a key destroyed after the backup stays destroyed; both servers end with the same group digest.
// The restored store starts a new change log (restore.ts): without it the peer, which applied more
// of the old log than the copy holds, would take the member's new changes for ones it had.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMirrorStatus } from '../../server/mirror/status-file.js';
import { Enum } from '../../server/kmip/tables.js';
import { devClient, freePort, killAllDev, sleep, startDev, stopDev } from '../support/dev-process.js';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { createAes } from '../support/requests.js';
import { destroyItem, getItem, keyBytesOf, runCli, send, uidOf } from '../store/helpers.js';

after(killAllDev);

async function create(port: number, files: ClientFiles): Promise<{ uid: string; bytes: Buffer }> {
  const c = await KmipTestClient.connect(port, files);
  try {
    const uid = uidOf(await send(c, [createAes()]));
    return { uid, bytes: keyBytesOf(await send(c, [getItem(uid)])) };
  } finally {
    c.close();
  }
}

/** Waits (bounded) until `check` holds, polling. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < 10_000; i++) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > ms) break;
    await sleep(200);
  }
  assert.fail(`${what}: not within ${ms / 1000} s`);
}

async function holds(port: number, files: ClientFiles, uid: string, bytes: Buffer): Promise<boolean> {
  const c = await KmipTestClient.connect(port, files);
  try {
    const r = await send(c, [getItem(uid)]);
    return r.items[0]!.status === Enum.ResultStatus.Success && keyBytesOf(r).equals(bytes);
  } finally {
    c.close();
  }
}

async function destroyed(port: number, files: ClientFiles, uid: string): Promise<boolean> {
  const c = await KmipTestClient.connect(port, files);
  try {
    const r = await send(c, [getItem(uid)]);
    return r.items[0]!.status !== Enum.ResultStatus.Success;
  } finally {
    c.close();
  }
}

test('a member restored from its own backup rejoins: nothing lost, nothing resurrected, digests equal', { timeout: 300_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'keyhaven-restore-mirror-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const [aDir, bDir] = [join(work, 'a'), join(work, 'b')];
  const [aKmip, aMirror, bKmip, bMirror] = [await freePort(), await freePort(), await freePort(), await freePort()];
  await startDev(aDir, aKmip, { mirrorPort: aMirror });
  let b = await startDev(bDir, bKmip, { mirrorPort: bMirror, joinFrom: aDir });
  const onA = devClient(aDir);
  const onB = devClient(aDir, bDir); // A's dev identity; B's CA file (the group's CA)

  const early = await create(aKmip, onA);
  const doomed = await create(aKmip, onA);
  await until('B has the early keys', async () => (await holds(bKmip, onB, early.uid, early.bytes)) && (await holds(bKmip, onB, doomed.uid, doomed.bytes)));

  const init = await runCli(['backup', 'init', '--data-dir', bDir]);
  assert.equal(init.code, 0, init.stderr);
  const shares = init.stdout.trim().split('\n').slice(0, 2).join('\n');
  const file = join(work, 'b.khbak');
  const made = await runCli(['backup', 'create', '--data-dir', bDir, '--out', file], 120_000);
  assert.equal(made.code, 0, made.stderr);

  // After the backup: a key on A, a key on B, and a destroy.
  const fromA = await create(aKmip, onA);
  const fromB = await create(bKmip, onB);
  const c = await KmipTestClient.connect(aKmip, onA);
  assert.equal((await send(c, [destroyItem(doomed.uid)])).items[0]!.status, Enum.ResultStatus.Success);
  c.close();
  await until('A has B\'s key and B has A\'s and the destroy', async () =>
    (await holds(aKmip, onA, fromB.uid, fromB.bytes)) && (await holds(bKmip, onB, fromA.uid, fromA.bytes)) && (await destroyed(bKmip, onB, doomed.uid)));

  // B's disk dies; B comes back from its backup, on the same address.
  await stopDev(b, 'SIGKILL');
  rmSync(bDir, { recursive: true, force: true });
  const restored = await runCli(['backup', 'restore', '--file', file, '--data-dir', bDir], 120_000, shares);
  assert.equal(restored.code, 0, restored.stderr);
  const newLog = /new change log \((l[0-9a-f]+)\)/.exec(restored.stdout)?.[1];
  assert.ok(newLog, `the restore starts a new change log: ${restored.stdout}`);
  assert.match(readFileSync(join(bDir, 'keyhaven.db')).toString('latin1'), new RegExp(newLog));
  b = await startDev(bDir, bKmip, { mirrorPort: bMirror });

  const back = await until('the restored B holds the keys made after its backup, and not the destroyed one', async () =>
    (await holds(bKmip, onB, fromA.uid, fromA.bytes)) && (await holds(bKmip, onB, fromB.uid, fromB.bytes)) && (await destroyed(bKmip, onB, doomed.uid)) && (await holds(bKmip, onB, early.uid, early.bytes)));
  t.diagnostic(`restored B caught up ${back} ms after it started`);
  const after = await create(bKmip, onB);
  await until('a key made on the restored B reaches A', () => holds(aKmip, onA, after.uid, after.bytes));
  assert.equal(await destroyed(aKmip, onA, doomed.uid), true, 'the destroyed key stays destroyed on A');
  const conv = await until('A and B report the same group digest', () => {
    const [sa, sb] = [readMirrorStatus(aDir), readMirrorStatus(bDir)];
    return !!sa && !!sb && sa.running && sb.running && sa.digest === sb.digest && sa.objects === sb.objects;
  });
  t.diagnostic(`digests equal ${conv} ms after the last key; objects ${readMirrorStatus(aDir)!.objects}`);
  // Repaired by the ordinary flow, not by the divergence repair: no server saw a divergence.
  for (const dir of [aDir, bDir]) {
    const tail = await runCli(['audit', 'tail', '--data-dir', dir, '-n', '500']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.doesNotMatch(tail.stdout, /Mirror Divergence/, `${dir}: ${tail.stdout.split('\n').filter((l) => /Mirror/.test(l)).join('\n')}`);
    // A saw B come back with another change log, and sent it everything.
    if (dir === aDir) assert.match(tail.stdout, /Mirror Peer Restored.*starts again from an older state/);
  }
  await stopDev(b);
});
