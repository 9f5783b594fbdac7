// "An acknowledged operation is durable: killed with SIGKILL right after a response, the server
// restarts with the object present." The server runs as a real subprocess (`keyhaven serve`); each
// round creates or registers keys over KMIP and SIGKILLs the process the moment a response arrives.
// After every restart every acknowledged object must be there with identical key material, and the
// audit chain must still verify.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Enum } from '../../server/kmip/tables.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes, parseResponse, request, withUid } from '../support/requests.js';
import { prepareDataDir } from '../support/server.js';
import {
  freePort, getItem, keyBytesOf, registerAes, runCli, send, startServerProcess, uidOf, writeConfig, type ServerProcess,
} from './helpers.js';

/** 20 in CI; KEYHAVEN_FAULT_ROUNDS=N runs more. */
const ROUNDS = Number(process.env.KEYHAVEN_FAULT_ROUNDS ?? 20);

test(`SIGKILL right after each response, ${ROUNDS} rounds: every acknowledged object survives, unchanged; no destroyed one comes back`, { timeout: 6_000 * ROUNDS + 60_000 }, async (t) => {
  const { dir, dev } = await prepareDataDir();
  const port = await freePort();
  const config = writeConfig(join(dir, 'config.json'), dir, port);
  /** uid -> expected key bytes (undefined for a Create until the first Get after a restart). */
  const acknowledged = new Map<string, Buffer | undefined>();
  /** Objects whose Destroy was acknowledged: they must never be served again. */
  const destroyed = new Set<string>();
  /** What the checks found, over all rounds: printed at the end, also when a round failed. */
  const tally = { checks: 0, lost: 0, changed: 0, resurrected: 0 };
  let server: ServerProcess | undefined;
  // Whatever happens in the test, no subprocess outlives it.
  after(() => void server?.child.kill('SIGKILL'));

  /** Checks every object (all of them, then fails the round with what was wrong), counting in `tally`. */
  async function verifyAll(c: KmipTestClient, round: number) {
    const faults: string[] = [];
    for (const [uid, expected] of acknowledged) {
      const r = await send(c, [getItem(uid)]);
      tally.checks++;
      if (r.items[0]!.status !== Enum.ResultStatus.Success) {
        tally.lost++;
        faults.push(`acknowledged ${uid} is missing: ${r.items[0]!.message}`);
        continue;
      }
      const got = keyBytesOf(r);
      if (expected === undefined) acknowledged.set(uid, got);
      else if (!got.equals(expected)) {
        tally.changed++;
        faults.push(`${uid} has different key material`);
      }
    }
    for (const uid of destroyed) {
      const r = await send(c, [getItem(uid)]);
      tally.checks++;
      if (r.items[0]!.status === Enum.ResultStatus.Success) tally.resurrected++;
      if (r.items[0]!.reason !== Enum.ResultReason.ItemNotFound) faults.push(`destroyed ${uid} is served again (or not refused as Item Not Found): ${r.items[0]!.message ?? 'success'}`);
    }
    assert.deepEqual(faults, [], `round ${round}`);
  }

  /** Sends, and kills the server the instant the response is framed (before anything else runs). */
  async function sendThenKill(c: KmipTestClient, message: Buffer): Promise<Buffer> {
    const response = await c.send(message);
    server!.child.kill('SIGKILL');
    return response;
  }

  let rounds = 0;
  try {
    for (let round = 0; round < ROUNDS; round++, rounds++) {
      server = await startServerProcess(config);
      const c = await KmipTestClient.connect(port, dev);
      await verifyAll(c, round);
      switch (round % 5) {
        case 0: { // one Register with known bytes
          const key = randomBytes(32);
          const r = parseResponse(await sendThenKill(c, request([registerAes(key)])));
          acknowledged.set(uidOf(r), key);
          break;
        }
        case 1: { // a batch of three Registers in one message
          const keys = [randomBytes(32), randomBytes(16), randomBytes(32)];
          const r = parseResponse(await sendThenKill(c, request(keys.map((k) => registerAes(k)))));
          keys.forEach((k, i) => acknowledged.set(uidOf(r, i), k));
          break;
        }
        case 2: { // a batch of Creates: the material is learned from the first Get after the restart
          const r = parseResponse(await sendThenKill(c, request([createAes(), createAes(128)])));
          acknowledged.set(uidOf(r, 0), undefined);
          acknowledged.set(uidOf(r, 1), undefined);
          break;
        }
        case 3: { // a Destroy of an acknowledged (Pre-Active) key: it must never come back
          const uid = [...acknowledged.keys()][0]!;
          const r = parseResponse(await sendThenKill(c, request([withUid(Enum.Operation.Destroy, uid)])));
          assert.equal(r.items[0]!.status, Enum.ResultStatus.Success, `Destroy: ${r.items[0]!.message}`);
          acknowledged.delete(uid);
          destroyed.add(uid);
          break;
        }
        default: { // pipelined: four messages in flight, killed at the first response
          const keys = Array.from({ length: 4 }, () => randomBytes(32));
          const pending = keys.map((k) => c.send(request([registerAes(k)])).then(parseResponse));
          const first = await pending[0]!;
          server.child.kill('SIGKILL');
          acknowledged.set(uidOf(first), keys[0]!);
          // Any others that were answered before the kill are acknowledged too.
          const rest = await Promise.allSettled(pending.slice(1));
          rest.forEach((s, i) => {
            if (s.status === 'fulfilled') acknowledged.set(uidOf(s.value), keys[i + 1]!);
          });
        }
      }
      const exit = await server.exited;
      assert.equal(exit.signal, 'SIGKILL', `round ${round}: the server was killed, not stopped (${JSON.stringify(exit)})`);
      c.socket.destroy();
    }

    // The audit chain verifies after all those kills (server down).
    const audit = await runCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(audit.code, 0, `audit verify after the kills: ${audit.stderr}${audit.stdout}`);
    assert.match(audit.stdout, /audit log intact/);

    // A last start: everything is there; then a clean stop, and the chain still verifies.
    server = await startServerProcess(config);
    const c = await KmipTestClient.connect(port, dev);
    await verifyAll(c, ROUNDS);
    assert.ok(acknowledged.size + destroyed.size >= ROUNDS, `${acknowledged.size} objects acknowledged`);
    c.close();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, `clean stop: ${server.stderr()}`);
    const after = await runCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(after.code, 0, after.stderr);
  } finally {
    t.diagnostic(`${rounds} of ${ROUNDS} rounds killed with SIGKILL: ${acknowledged.size} objects acknowledged, ${destroyed.size} destroyed; ${tally.checks} checks: ${tally.lost} lost, ${tally.changed} changed, ${tally.resurrected} resurrected`);
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
