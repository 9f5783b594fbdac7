// The mirroring status as the menu prints it, from the status the key server writes: each peer
// connected or not and since when, whether we hear it, queue, lag, last error, last digest comparison;
// a group of one and a server that never ran with mirroring say so; removed members are listed apart;
// the helper keeps what it knows of the status file and refuses wrong values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mirrorStatus } from '../../appliance/admin/data-worker.js';
import { mirrorStatusText } from '../../appliance/menu/mirroring/status-text.js';

const base = {
  node: 'n111',
  group: 'g222',
  address: '10.0.0.1:6002',
  listening: '[::]:6002',
  pid: 1,
  running: true,
  digest: 'ab'.repeat(32),
  head: 42,
  objects: 17,
  applyLag: { changes: 3, p50Ms: 12, p99Ms: 40, maxMs: 41 },
  peers: [] as never[],
  updatedAt: '2026-12-06T10:00:00.000Z',
};

test('a group of one, and a server that never ran with mirroring', () => {
  assert.match(mirrorStatusText(base), /This server +n111 at 10\.0\.0\.1:6002, group g222: running[\s\S]*17 objects, change log at 42[\s\S]*lag p50 12 ms, p99 40 ms[\s\S]*a group of one/);
  assert.match(mirrorStatusText(null), /has not run with mirroring yet/);
  assert.match(mirrorStatusText({ ...base, running: false }), /NOT RUNNING/);
});

test('each peer: link and since when, queue, lag, hearing, digest comparison, last error, clock; removed apart', () => {
  const text = mirrorStatusText({
    ...base,
    peers: [
      { node: 'n2', address: '10.0.0.2:6002', removed: false, connected: true, since: '2026-12-06T09:00:00.123Z', inbound: true, queueDepth: 0, lagSeconds: 0, lastDigestCheck: { at: '2026-12-06T09:59:58Z', result: 'match' } },
      { node: 'n3', address: '10.0.0.3:6002', removed: false, connected: false, since: '2026-12-06T08:00:00.000Z', inbound: false, queueDepth: 120, lagSeconds: 3600.25, lastError: 'connect ETIMEDOUT 10.0.0.3:6002', clockAheadMs: 90_000 },
      { node: 'n4', address: '10.0.0.4:6002', removed: true, connected: false, inbound: false, queueDepth: 0, lagSeconds: null },
    ] as never[],
  });
  assert.match(text, /Peer n2 at 10\.0\.0\.2:6002: connected since 2026-12-06 09:00:00Z\n  queue 0 changes, lag 0\.0 s; we hear it\n  last digest comparison: match at 2026-12-06T09:59:58Z/);
  assert.match(text, /Peer n3 at 10\.0\.0\.3:6002: NOT CONNECTED since 2026-12-06 08:00:00Z\n  queue 120 changes, lag 3600\.3 s; we do not hear it\n  last digest comparison: none yet\n  last error: connect ETIMEDOUT 10\.0\.0\.3:6002\n  its clock is 90 s ahead of ours: check NTP/);
  assert.doesNotMatch(text, /Peer n4/);
  assert.match(text, /Removed: n4 \(10\.0\.0\.4:6002\)/);
});

test("the helper's check of the status the key server wrote: fields it does not know are dropped, wrong ones refused", () => {
  const peer = { node: 'n2', address: '10.0.0.2:6002', removed: false, connected: true, inbound: true, queueDepth: 0, lagSeconds: 0 };
  const parsed = mirrorStatus.parse({ ...base, peers: [{ ...peer, sentObjects: 5 }], newerField: 1 });
  assert.deepEqual(parsed.peers[0], peer);
  assert.ok(!('newerField' in parsed));
  assert.throws(() => mirrorStatus.parse({ ...base, peers: [{ ...peer, queueDepth: -1 }] }));
  assert.throws(() => mirrorStatus.parse({ ...base, running: 'yes' }));
});
