// The request scheduler without a network: requests run at once while the turn has time and
// nothing waits; otherwise identities take turns, one request each per round, a slice at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RequestScheduler } from '../../server/request-scheduler.js';

/** A clock the jobs advance: each job "takes" the milliseconds it is given. */
function fakeClock() {
  let now = 0;
  return { clock: () => now, spend: (ms: number) => (now += ms) };
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));
async function settle(s: RequestScheduler): Promise<void> {
  // Bounded: every turn runs at least one waiting job.
  for (let i = 0; i < 10_000 && s.backlog > 0; i++) await nextTurn();
  assert.equal(s.backlog, 0);
}

test('light requests run at once, in the order they arrive', async () => {
  const { clock, spend } = fakeClock();
  const s = new RequestScheduler(10, clock);
  const ran: string[] = [];
  for (let i = 0; i < 20; i++) s.submit(i % 2 ? 'A' : 'B', () => { spend(0.1); ran.push(`${i}`); });
  assert.equal(ran.length, 20, 'all ran synchronously');
  assert.equal(s.backlog, 0);
});

test('after a heavy request, a flooding identity waits behind the others and then gets one turn per round', async () => {
  const { clock, spend } = fakeClock();
  const s = new RequestScheduler(10, clock);
  const ran: string[] = [];
  // The flood: one heavy request runs at once, 30 more of the same identity wait.
  for (let i = 0; i < 31; i++) s.submit('flood', () => { spend(50); ran.push('flood'); });
  // Then a bystander's request and another client's arrive.
  s.submit('bystander', () => { spend(0.1); ran.push('bystander'); });
  s.submit('other', () => { spend(0.1); ran.push('other'); });
  assert.deepEqual(ran, ['flood'], 'only the first ran: the turn is spent');
  await settle(s);
  // The identity that just ran goes behind those waiting: bystander, other, then the flood.
  assert.deepEqual(ran.slice(0, 4), ['flood', 'bystander', 'other', 'flood']);
  assert.equal(ran.filter((x) => x === 'flood').length, 31);
});

test('property: whatever arrives, waiting requests are served round-robin: between two turns of one identity, no other identity runs twice', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ who: fc.constantFrom('a', 'b', 'c', 'd'), ms: fc.integer({ min: 0, max: 40 }) }), { minLength: 1, maxLength: 60 }),
      async (arrivals) => {
        const { clock, spend } = fakeClock();
        const s = new RequestScheduler(10, clock);
        const order: { who: string; i: number; waited: boolean }[] = [];
        let submitting = true;
        arrivals.forEach(({ who, ms }, i) => s.submit(who, () => { spend(ms); order.push({ who, i, waited: !submitting }); }));
        submitting = false;
        await settle(s);
        assert.equal(order.length, arrivals.length, 'every request ran once');
        for (const who of ['a', 'b', 'c', 'd']) {
          const mine = order.filter((o) => o.who === who).map((o) => o.i);
          assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `${who}'s requests run in arrival order`);
        }
        // Everything submitted up front and not run at once waited in its identity's queue.
        const drained = order.filter((o) => o.waited).map((o) => o.who);
        // Between two turns of one identity (and before its first), each other identity runs at
        // most once: its next request was waiting all along.
        for (const who of ['a', 'b', 'c', 'd']) {
          let from = 0;
          for (let q = 0; q < drained.length; q++) {
            if (drained[q] !== who) continue;
            const between = drained.slice(from, q);
            for (const other of new Set(between)) {
              assert.ok(between.filter((x) => x === other).length <= 1, `${other} ran twice while ${who} waited: ${drained.join('')}`);
            }
            from = q + 1;
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});
