// What rollback detection costs (not a test: `npm run bench:rollback -- [N ...]`).
//   - start: the checks of server/store/rollback-guard.ts on a store of N keys (filled through the
//     server's own Create path, test/bench/fill.ts): the digest recomputed over every row, the
//     anchor compared, the audit records after the anchor re-verified;
//   - writes: a Create through handleRequest with the digest update, and with it stubbed out (A/B in
//     one process), and the digest update alone;
//   - the anchor keeper's tick (what runs on the event loop once a second).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../server/config.js';
import { handleRequest } from '../../server/ops/pipeline/handle-request.js';
import { openStore } from '../../server/server.js';
import { currentState, inspectStore } from '../../server/store/rollback-guard.js';
import { fillStore, requestEnvironment } from './fill.js';
import { createRequest, DEFAULT_MINOR } from './requests.js';

const OWNER = 'CN=bench,O=Keyhaven';
const ms = (t0: number) => (performance.now() - t0).toFixed(0);

function startCost(n: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-cost-'));
  try {
    const t0 = performance.now();
    fillStore(dir, n, OWNER, createRequest(DEFAULT_MINOR));
    console.log(`${n} keys: filled in ${ms(t0)} ms`);
    const s = openStore(parseConfig({ dataDir: dir }, 'measure'), { create: false });
    try {
      // As after the server's first start on the filled store: the anchor names the head.
      s.anchor.writeSync(currentState(s));
      const t3 = performance.now();
      let rows = 0;
      for (const r of s.db.prepare('SELECT seq, mac FROM objects').raw().iterate()) rows += r ? 1 : 0;
      console.log(`  reading seq and mac of ${rows} rows alone: ${ms(t3)} ms`);
      for (let run = 0; run < 3; run++) {
        const t1 = performance.now();
        const r = s.store.digest.recompute();
        const recompute = ms(t1);
        const t2 = performance.now();
        const i = inspectStore(s);
        console.log(`  run ${run}: digest over ${r.rows} rows ${recompute} ms; all start checks ${ms(t2)} ms (problems: ${i.problems.length}; audit head ${i.database.auditSeq}, anchored at the head: ≤ 1000 records re-verified)`);
      }
    } finally {
      s.db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeCost(n: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-cost-'));
  const config = parseConfig({ dataDir: dir }, 'measure');
  const s = openStore(config, { create: true });
  const env = requestEnvironment(config, s.store, OWNER, (err) => {
    throw err;
  });
  const req = createRequest(DEFAULT_MINOR);
  const realUpdate = s.store.digest.update.bind(s.store.digest);
  const creates = (label: string) => {
    s.db.exec('BEGIN IMMEDIATE');
    const t0 = performance.now();
    for (let i = 0; i < n; i++) handleRequest(req, env);
    const us = ((performance.now() - t0) * 1000) / n;
    s.db.exec('COMMIT');
    console.log(`  Create via handleRequest, ${label}: ${us.toFixed(1)} µs each`);
    return us;
  };
  try {
    for (let round = 0; round < 3; round++) {
      s.store.digest.update = realUpdate;
      const withDigest = creates('with the digest update');
      s.store.digest.update = () => {};
      const without = creates('digest update stubbed out');
      console.log(`  round ${round}: the digest adds ${(withDigest - without).toFixed(1)} µs per Create`);
    }
    s.store.digest.update = realUpdate;
    // The update alone: a row's old and new contribution, the blob read, decrypted, re-sealed, written.
    s.db.exec('BEGIN IMMEDIATE');
    const mac = Buffer.alloc(32, 7);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) s.store.digest.update(1, mac, mac);
    console.log(`  digest update alone (row update): ${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs`);
    s.db.exec('ROLLBACK');
    // The anchor keeper's tick on the event loop: capture the committed state (the write itself is
    // on the thread pool).
    const t1 = performance.now();
    for (let i = 0; i < 10_000; i++) currentState(s, s.store.digest.read().generation);
    console.log(`  anchor tick (state capture): ${(((performance.now() - t1) * 1000) / 10_000).toFixed(1)} µs, once a second`);
    // The tail check (audit-watch.ts) over the default 1000 records, once a minute. The Creates
    // above wrote no audit records (handleRequest alone): write some, as the service would.
    s.db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 2000; i++) {
      s.audit.append({ time: new Date().toISOString(), identity: OWNER, address: '127.0.0.1', operation: 'Get', objectId: 'x', result: 'success', reason: '' });
    }
    s.audit.sealHead();
    s.db.exec('COMMIT');
    for (let run = 0; run < 3; run++) {
      const t2 = performance.now();
      const problem = s.audit.checkTail(1000);
      console.log(`  tail check of 1000 records: ${(performance.now() - t2).toFixed(1)} ms${problem ? ` (${problem})` : ''}, once a minute`);
    }
  } finally {
    s.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = process.argv.slice(2).map(Number);
console.log('write path (5000 Creates per run):');
writeCost(5000);
for (const n of sizes.length ? sizes : [100_000]) {
  console.log(`start-up checks:`);
  startCost(n);
}
