// When a link passes on skipped members' versions after a partial digest comparison failed: only
// when the peer is not visibly taking them from the member itself (skipped-resend.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { membersToResend, type LogCursor } from '../../server/mirror/skipped-resend.js';

const cursors = (entries: [string, string, number][]) => new Map<string, LogCursor>(entries.map(([node, log, applied]) => [node, { log, applied }]));

test('a peer behind us in a member log and moving: not sent again; stalled at its next answer: sent', () => {
  const ours = cursors([['A', 'la', 20_000]]);
  const previous = new Map<string, number>();
  assert.deepEqual(membersToResend(['A'], cursors([['A', 'la', 4_000]]), ours, previous), [], 'first answer, behind: still catching up');
  assert.deepEqual(membersToResend(['A'], cursors([['A', 'la', 9_000]]), ours, previous), [], 'moved on: still catching up');
  assert.deepEqual(membersToResend(['A'], cursors([['A', 'la', 9_000]]), ours, previous), ['A'], 'no progress since the last answer: the link from A is stalled');
});

test('every other case is sent as before', () => {
  const ours = cursors([['A', 'la', 20_000], ['D', 'ld', 50]]);
  const cases: [string, ReadonlyMap<string, LogCursor> | undefined][] = [
    ['a protocol 1 peer (no cursors)', undefined],
    ['the peer does not hear A any more (no cursor for it)', cursors([['D', 'ld', 10]])],
    ['the peer applied another log of A (A restored): positions do not compare', cursors([['A', 'other', 10]])],
    ['the peer stands where we stand: what it lacks is not on its way from A', cursors([['A', 'la', 20_000]])],
    ['the peer is ahead of us in A', cursors([['A', 'la', 25_000]])],
  ];
  for (const [what, theirs] of cases) assert.deepEqual(membersToResend(['A'], theirs, ours, new Map()), ['A'], what);
  assert.deepEqual(membersToResend(['Z'], cursors([['Z', 'lz', 1]]), ours, new Map()), ['Z'], 'a member we hold no cursor of');
});

test('members are decided one by one, and a member the peer stops hearing loses its remembered position', () => {
  const ours = cursors([['A', 'la', 100], ['D', 'ld', 100]]);
  const previous = new Map<string, number>();
  assert.deepEqual(membersToResend(['A', 'D'], cursors([['A', 'la', 10], ['D', 'ld', 100]]), ours, previous), ['D']);
  assert.equal(previous.get('A'), 10);
  assert.deepEqual(membersToResend(['A'], cursors([]), ours, previous), ['A']);
  assert.equal(previous.has('A'), false);
  // Heard again later: a fresh first answer counts as moving.
  assert.deepEqual(membersToResend(['A'], cursors([['A', 'la', 10]]), ours, previous), []);
});
