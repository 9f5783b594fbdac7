// The hybrid logical clock: stamps only grow, order after what was received, resume above what was
// issued before a restart, and a peer far ahead pulls us at most MAX_AHEAD_MS into the future.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareHlc, formatHlc, HybridClock, MAX_AHEAD_MS, parseHlc, type Hlc } from '../../server/mirror/hlc.js';
import { runParameters } from '../support/property.js';

const stamp = fc.record({
  wall: fc.integer({ min: 0, max: 10 ** 15 - 1 }),
  logical: fc.integer({ min: 0, max: 0xffffffff }),
  node: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/),
});

test('stamps grow strictly, also when the wall clock steps back or stands still', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 200 }), (steps) => {
      let now = 1_000;
      const clock = new HybridClock('a', () => now);
      let last: Hlc | undefined;
      for (const s of steps) {
        now += s;
        const h = clock.now();
        if (last) assert.ok(compareHlc(h, last) > 0, `${formatHlc(h)} after ${formatHlc(last)}`);
        assert.ok(h.wall >= now, 'never behind the wall clock');
        last = h;
      }
    }),
    runParameters(t, 200),
  );
});

test('a stamp made after receiving one orders after it', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.integer({ min: -MAX_AHEAD_MS, max: MAX_AHEAD_MS }), fc.integer({ min: 0, max: 1000 }), (base, skew, logical) => {
      const clock = new HybridClock('b', () => base);
      clock.now();
      const remote = { wall: Math.max(0, base + skew), logical, node: 'a' };
      const r = clock.receive(remote);
      assert.equal(r.aheadMs, undefined, 'within the allowed skew: nothing to report');
      assert.ok(compareHlc(r.stamp, remote) > 0);
      assert.ok(compareHlc(clock.now(), remote) > 0);
    }),
    runParameters(t, 300),
  );
});

test('a peer far ahead is reported and pulls us at most MAX_AHEAD_MS ahead', () => {
  const physical = 1_733_486_400_000;
  const clock = new HybridClock('b', () => physical);
  const remote = { wall: physical + 3_600_000, logical: 7, node: 'a' };
  const r = clock.receive(remote);
  assert.equal(r.aheadMs, 3_600_000);
  assert.ok(r.stamp.wall <= physical + MAX_AHEAD_MS, `${formatHlc(r.stamp)} stays within the limit`);
  assert.ok(clock.now().wall <= physical + MAX_AHEAD_MS);
  // Just inside the limit is taken as it is.
  const near = { wall: physical + MAX_AHEAD_MS, logical: 3, node: 'a' };
  const n = new HybridClock('c', () => physical).receive(near);
  assert.equal(n.aheadMs, undefined);
  assert.ok(compareHlc(n.stamp, near) > 0);
});

test('a clock resumed from its last stamp never issues one at or below it', () => {
  const last = { wall: 5_000, logical: 9, node: 'a' };
  const clock = new HybridClock('a', () => 4_000, last); // the wall clock went back across the restart
  assert.ok(compareHlc(clock.now(), last) > 0);
  assert.throws(() => new HybridClock('', () => 0), /needs the id of its server/);
});

test('the text form round-trips and sorts as the stamps do', (t) => {
  fc.assert(
    fc.property(stamp, stamp, (a, b) => {
      assert.deepEqual(parseHlc(formatHlc(a)), a);
      const byText = formatHlc(a) < formatHlc(b) ? -1 : formatHlc(a) > formatHlc(b) ? 1 : 0;
      assert.equal(byText, Math.sign(compareHlc(a, b)));
    }),
    runParameters(t, 500),
  );
  for (const bad of ['', '12-0000000a-a', '000000000000012-0000000A-a', '000000000000012-0000000a-']) {
    assert.throws(() => parseHlc(bad), /is not a hybrid logical clock stamp/, bad);
  }
});
