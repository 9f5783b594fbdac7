// "A crash never raises a false rollback alarm": the anchor only ever names state that is already on
// disk, so a server killed with SIGKILL right after acknowledged changes — at any point of the
// anchor's 1 s cycle — always starts again, with every acknowledged change (a compromised key stays
// compromised), and its anchor file keeps moving forward.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Enum } from '../../server/kmip/tables.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes, request } from '../support/requests.js';
import { prepareDataDir } from '../support/server.js';
import { freePort, runCli, startServerProcess, writeConfig, type ServerProcess } from './helpers.js';
import { createActiveKey, readAnchorJson, revokeCompromised, sleep, stateOf } from './rollback-helpers.js';

const stateName = (state: number) => Object.entries(Enum.State).find(([, v]) => v === state)?.[0] ?? String(state);

/** 8 in CI; KEYHAVEN_FAULT_ROUNDS=N runs more. */
const ROUNDS = Number(process.env.KEYHAVEN_FAULT_ROUNDS ?? 8);

test(`SIGKILL right after acknowledged changes, ${ROUNDS} rounds: no false rollback alarm, nothing lost`, { timeout: 15_000 * ROUNDS + 60_000 }, async (t) => {
  const { dir, dev } = await prepareDataDir();
  const port = await freePort();
  const config = writeConfig(join(dir, 'config.json'), dir, port);
  const anchorFile = join(dir, 'keyhaven.anchor');
  const compromised: string[] = [];
  const active: string[] = [];
  let server: ServerProcess | undefined;
  after(() => void server?.child.kill('SIGKILL'));
  /** What the checks found, over all rounds: printed at the end, also when a round failed. */
  const tally = { checks: 0, lost: 0, activeAgain: 0 };
  /** Checks every key's state (all of them, then fails with what was wrong), counting in `tally`. */
  async function verifyAll(c: KmipTestClient, round: number) {
    const faults: string[] = [];
    for (const [uids, want] of [[compromised, Enum.State.Compromised], [active, Enum.State.Active]] as const) {
      for (const uid of uids) {
        const state = await stateOf(c, uid);
        tally.checks++;
        if (state === undefined) tally.lost++;
        else if (want === Enum.State.Compromised && state === Enum.State.Active) tally.activeAgain++;
        if (state !== want) faults.push(`${uid}: ${state === undefined ? 'lost' : stateName(state)}, not ${stateName(want)}`);
      }
    }
    assert.deepEqual(faults, [], `round ${round}: compromised keys stay compromised, active ones active`);
  }
  let lastAnchored = 0;
  let rounds = 0;
  try {
    for (let round = 0; round < ROUNDS; round++, rounds++) {
      server = await startServerProcess(config); // throws if the start is refused
      assert.ok(existsSync(anchorFile), `round ${round}: the anchor file exists`);
      const anchored = readAnchorJson(anchorFile).auditSeq as number;
      assert.ok(anchored >= lastAnchored, `round ${round}: the anchor never goes back (${anchored} < ${lastAnchored})`);
      lastAnchored = anchored;
      const c = await KmipTestClient.connect(port, dev);
      await verifyAll(c, round);
      const victim = await createActiveKey(c);
      active.push(await createActiveKey(c));
      // A different point of the anchor's cycle each round (0 to 1.4 s after the last change).
      await sleep((round * 200) % 1400);
      const pending = c.send(request([revokeCompromised(victim), createAes()]));
      const response = await pending;
      server.child.kill('SIGKILL');
      assert.ok(response.length > 0);
      compromised.push(victim);
      const exit = await server.exited;
      assert.equal(exit.signal, 'SIGKILL', `round ${round}: killed, not stopped`);
      c.socket.destroy();
    }
    server = await startServerProcess(config);
    const c = await KmipTestClient.connect(port, dev);
    await verifyAll(c, ROUNDS);
    c.close();
    server.child.kill('SIGTERM');
    assert.equal((await server.exited).code, 0, server.stderr());
    const check = await runCli(['store', 'check', '--data-dir', dir]);
    assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
    const verify = await runCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(verify.code, 0, verify.stderr);
  } finally {
    t.diagnostic(`${rounds} of ${ROUNDS} rounds killed with SIGKILL without a refused start: ${compromised.length} revocations and ${active.length + compromised.length} creations acknowledged and checked after every restart; ${tally.checks} checks: ${tally.lost} lost, ${tally.activeAgain} compromised keys active again`);
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
