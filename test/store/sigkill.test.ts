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
import { createAes, parseResponse, request } from '../support/requests.js';
import { prepareDataDir } from '../support/server.js';
import {
  freePort, getItem, keyBytesOf, registerAes, runCli, send, startServerProcess, uidOf, writeConfig, type ServerProcess,
} from './helpers.js';

const ROUNDS = 20;

test(`SIGKILL right after each response, ${ROUNDS} rounds: every acknowledged object survives, unchanged`, { timeout: 120_000 }, async () => {
  const { dir, dev } = await prepareDataDir();
  const port = await freePort();
  const config = writeConfig(join(dir, 'config.json'), dir, port);
  /** uid -> expected key bytes (undefined for a Create until the first Get after a restart). */
  const acknowledged = new Map<string, Buffer | undefined>();
  let server: ServerProcess | undefined;
  // Whatever happens in the test, no subprocess outlives it.
  after(() => void server?.child.kill('SIGKILL'));

  async function verifyAll(c: KmipTestClient, round: number) {
    for (const [uid, expected] of acknowledged) {
      const r = await send(c, [getItem(uid)]);
      assert.equal(r.items[0]!.status, Enum.ResultStatus.Success, `round ${round}: acknowledged ${uid} is missing: ${r.items[0]!.message}`);
      const got = keyBytesOf(r);
      if (expected === undefined) acknowledged.set(uid, got);
      else assert.ok(got.equals(expected), `round ${round}: ${uid} has different key material`);
    }
  }

  /** Sends, and kills the server the instant the response is framed (before anything else runs). */
  async function sendThenKill(c: KmipTestClient, message: Buffer): Promise<Buffer> {
    const response = await c.send(message);
    server!.child.kill('SIGKILL');
    return response;
  }

  try {
    for (let round = 0; round < ROUNDS; round++) {
      server = await startServerProcess(config);
      const c = await KmipTestClient.connect(port, dev);
      await verifyAll(c, round);
      switch (round % 4) {
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
    assert.ok(acknowledged.size >= ROUNDS, `${acknowledged.size} objects acknowledged`);
    c.close();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, `clean stop: ${server.stderr()}`);
    const after = await runCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(after.code, 0, after.stderr);
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
