// The merge rules: any interleaving, duplication and reordering of the same changes gives the same
// object on every server; the lifecycle only moves forward; a destroyed object's material never
// comes back; each attribute slot ends with its latest write.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareHlc, type Hlc } from '../../server/mirror/hlc.js';
import { factsOf, joinStates, stateOf } from '../../server/mirror/lifecycle-join.js';
import { applyChange, canonicalReplica, emptyReplica, liveSlots, mergeReplicas, replicaState, type Change, type ObjectReplica } from '../../server/mirror/merge-rules.js';
import { Enum } from '../../server/kmip/tables.js';
import { runParameters } from '../support/property.js';

const S = Enum.State;
const NODES = ['a', 'b', 'c'] as const;
const SLOTS = ['Name', 'Contact Information', 'x-owner-note', 'Object Group'];
const STATES = [S.PreActive, S.Active, S.Deactivated, S.Compromised, S.Destroyed, S.DestroyedCompromised];

test('joining states: forward only, Destroyed and Compromised meet in Destroyed Compromised', () => {
  const table: [number, number, number][] = [
    [S.PreActive, S.Active, S.Active],
    [S.Active, S.Deactivated, S.Deactivated],
    [S.PreActive, S.Deactivated, S.Deactivated],
    [S.Deactivated, S.Compromised, S.Compromised],
    [S.Active, S.Destroyed, S.Destroyed],
    [S.Compromised, S.Destroyed, S.DestroyedCompromised],
    [S.Destroyed, S.DestroyedCompromised, S.DestroyedCompromised],
    [S.Active, S.Active, S.Active],
  ];
  for (const [a, b, expected] of table) {
    assert.equal(joinStates(a, b), expected, `${a} ⊔ ${b}`);
    assert.equal(joinStates(b, a), expected, `${b} ⊔ ${a}`);
  }
  for (const s of STATES) assert.equal(stateOf(factsOf(s)), s, `state ${s} reads back`);
  assert.throws(() => factsOf(0), /is not a KMIP State/);
  assert.throws(() => factsOf(7), /is not a KMIP State/);
});

/** A scenario: the changes of a few objects made on three servers; a server's stamps never repeat (its counter grows). */
interface Scenario {
  uids: string[];
  changes: Change[];
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    objects: fc.integer({ min: 1, max: 3 }),
    edits: fc.array(
      fc.record({
        object: fc.nat(2),
        node: fc.constantFrom(...NODES),
        wall: fc.integer({ min: 0, max: 12 }), // few distinct wall times: many ties broken by counter and node
        kind: fc.constantFrom('set', 'unset', 'state', 'destroy'),
        slot: fc.constantFrom(...SLOTS),
        value: fc.string({ maxLength: 6 }),
        state: fc.constantFrom(...STATES),
        compromised: fc.boolean(),
      }),
      { maxLength: 30, size: 'max' },
    ),
    creates: fc.array(fc.record({ wall: fc.integer({ min: 0, max: 12 }), state: fc.constantFrom(S.PreActive, S.Active), name: fc.string({ maxLength: 6 }) }), { minLength: 3, maxLength: 3 }),
  })
  .map(({ objects, edits, creates }) => {
    const counters = new Map<string, number>();
    const stampFor = (node: string, wall: number): Hlc => {
      const n = (counters.get(node) ?? 0) + 1;
      counters.set(node, n);
      return { wall, logical: n, node }; // a node's counter alone keeps its stamps distinct
    };
    const uids = Array.from({ length: objects }, (_, i) => `${NODES[i % 3]}-${i + 1}`);
    const changes: Change[] = uids.map((uid, i) => {
      const node = NODES[i % 3]!;
      const c = creates[i]!;
      return { id: `${node}:c${i}`, hlc: stampFor(node, c.wall), uid, kind: 'create', objectType: Enum.ObjectType.SymmetricKey, owner: 'vcenter', state: c.state, material: `key-${uid}`, slots: { Name: c.name } };
    });
    edits.forEach((e, i) => {
      const uid = uids[e.object % uids.length]!;
      const base = { id: `${e.node}:e${i}`, hlc: stampFor(e.node, e.wall), uid };
      changes.push(
        e.kind === 'set'
          ? { ...base, kind: 'set', slot: e.slot, value: e.value }
          : e.kind === 'unset'
            ? { ...base, kind: 'unset', slot: e.slot }
            : e.kind === 'state'
              ? { ...base, kind: 'state', state: e.state }
              : { ...base, kind: 'destroy', compromised: e.compromised },
      );
    });
    return { uids, changes };
  });

/** A delivery: the changes in an order of its own, some of them more than once. */
const delivery = (changes: Change[]) =>
  fc.tuple(fc.shuffledSubarray(changes, { minLength: changes.length, maxLength: changes.length }), fc.array(fc.nat(changes.length - 1), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 })).map(([order, dupes, positions]) => {
    const out = [...order];
    dupes.forEach((d, i) => out.splice((positions[i] ?? 0) % (out.length + 1), 0, changes[d]!));
    return out;
  });

/** Applies a delivery; every replica's history of states, for the monotonicity check. */
function replay(uids: string[], sequence: Change[]): { replicas: Map<string, ObjectReplica>; histories: Map<string, ObjectReplica[]>; conflicts: number } {
  const replicas = new Map(uids.map((u) => [u, emptyReplica(u)]));
  const histories = new Map(uids.map((u) => [u, [] as ObjectReplica[]]));
  let conflicts = 0;
  for (const c of sequence) {
    const { replica, conflict } = applyChange(replicas.get(c.uid)!, c);
    if (conflict) conflicts++;
    replicas.set(c.uid, replica);
    histories.get(c.uid)!.push(replica);
  }
  return { replicas, histories, conflicts };
}

const canonical = (m: Map<string, ObjectReplica>) => [...m.values()].map(canonicalReplica);

test('any order and any duplication of the same changes: the same objects on every server', (t) => {
  fc.assert(
    fc.property(
      scenario.chain((s) => fc.tuple(fc.constant(s), delivery(s.changes), delivery(s.changes))),
      ([s, first, second]) => {
        const a = replay(s.uids, first);
        const b = replay(s.uids, second);
        assert.deepEqual(canonical(a.replicas), canonical(b.replicas));
        assert.equal(a.conflicts + b.conflicts, 0, 'one create per identifier: nothing to report');
      },
    ),
    runParameters(t, 400),
  );
});

test('shipping replicas is shipping changes: servers that each applied part of the changes and then merged their replicas, in any grouping, hold what one server applying all of them holds', (t) => {
  fc.assert(
    fc.property(
      scenario.chain((s) =>
        fc.tuple(fc.constant(s), delivery(s.changes), fc.array(fc.nat(2), { minLength: s.changes.length, maxLength: s.changes.length }), fc.boolean()),
      ),
      ([s, order, server, leftFirst]) => {
        const whole = replay(s.uids, order).replicas;
        // Three servers, each with the changes that reached it (a change may reach several).
        const parts = [0, 1, 2].map((k) => replay(s.uids, order.filter((_, i) => server[i % server.length] === k || (i + k) % 5 === 0)).replicas);
        for (const uid of s.uids) {
          const [a, b, c] = parts.map((p) => p.get(uid)!) as [ObjectReplica, ObjectReplica, ObjectReplica];
          // (a ⊔ b) ⊔ c and a ⊔ (c ⊔ b), and each merged with itself again: one result.
          const left = mergeReplicas(mergeReplicas(a, b).replica, c).replica;
          const right = mergeReplicas(a, mergeReplicas(c, b).replica).replica;
          const again = mergeReplicas(leftFirst ? left : right, leftFirst ? a : c).replica;
          const expected = canonicalReplica(whole.get(uid)!);
          assert.equal(canonicalReplica(left), expected, `${uid}: (a ⊔ b) ⊔ c`);
          assert.equal(canonicalReplica(right), expected, `${uid}: a ⊔ (c ⊔ b)`);
          assert.equal(canonicalReplica(again), expected, `${uid}: merging again changes nothing`);
        }
      },
    ),
    runParameters(t, 300),
  );
});

test('the lifecycle only moves forward; destroyed material never comes back; each slot holds its latest write', (t) => {
  fc.assert(
    fc.property(
      scenario.chain((s) => fc.tuple(fc.constant(s), delivery(s.changes))),
      ([s, order]) => {
        const { replicas, histories } = replay(s.uids, order);
        for (const uid of s.uids) {
          const seen = histories.get(uid)!;
          for (let i = 1; i < seen.length; i++) {
            const [p, n] = [seen[i - 1]!.lifecycle, seen[i]!.lifecycle];
            assert.ok(n.phase >= p.phase && (n.compromised || !p.compromised) && (n.destroyed || !p.destroyed), `${uid}: no step back`);
            if (n.destroyed) assert.equal(seen[i]!.created?.material, undefined, `${uid}: no material once destroyed`);
          }
          const mine = s.changes.filter((c) => c.uid === uid);
          const r = replicas.get(uid)!;
          const destroyed = mine.some((c) => c.kind === 'destroy' || (c.kind === 'state' && (c.state === S.Destroyed || c.state === S.DestroyedCompromised)));
          assert.equal(r.lifecycle.destroyed, destroyed);
          assert.equal(r.created?.material, destroyed ? undefined : `key-${uid}`, `${uid}: material`);
          // Each slot: the value of the write with the greatest stamp (a deletion leaves nothing).
          for (const slot of SLOTS) {
            const writes = mine.flatMap((c) =>
              c.kind === 'set' && c.slot === slot ? [{ hlc: c.hlc, value: c.value as string | undefined }]
              : c.kind === 'unset' && c.slot === slot ? [{ hlc: c.hlc, value: undefined }]
              : c.kind === 'create' && slot in c.slots ? [{ hlc: c.hlc, value: c.slots[slot] }]
              : [],
            );
            const latest = writes.sort((x, y) => compareHlc(x.hlc, y.hlc)).at(-1);
            assert.equal(liveSlots(r)[slot], latest?.value, `${uid}: slot ${slot}`);
          }
        }
      },
    ),
    runParameters(t, 400),
  );
});

test('a destroy that arrives before the create: the object appears destroyed, without material', () => {
  const hlc = (wall: number, node: string): Hlc => ({ wall, logical: 1, node });
  const create: Change = { id: 'a:1', hlc: hlc(1, 'a'), uid: 'a-1', kind: 'create', objectType: Enum.ObjectType.SymmetricKey, owner: 'o', state: S.Active, material: 'secret', slots: {} };
  const destroy: Change = { id: 'b:1', hlc: hlc(2, 'b'), uid: 'a-1', kind: 'destroy', compromised: false };
  const late = applyChange(applyChange(emptyReplica('a-1'), destroy).replica, create).replica;
  assert.equal(late.created?.material, undefined);
  assert.equal(replicaState(late), S.Destroyed);
  // And a duplicate of the create afterwards changes nothing.
  assert.equal(canonicalReplica(applyChange(late, create).replica), canonicalReplica(late));
});

test('two different creates of one identifier: the earlier is kept everywhere, and it is reported', () => {
  const first: Change = { id: 'a:1', hlc: { wall: 1, logical: 1, node: 'a' }, uid: 'x', kind: 'create', objectType: 2, owner: 'o', state: S.PreActive, material: 'one', slots: {} };
  const second: Change = { ...first, id: 'b:1', hlc: { wall: 1, logical: 1, node: 'b' }, material: 'two' };
  const ab = applyChange(applyChange(emptyReplica('x'), first).replica, second);
  const ba = applyChange(applyChange(emptyReplica('x'), second).replica, first);
  assert.equal(ab.replica.created?.material, 'one');
  assert.equal(canonicalReplica(ab.replica), canonicalReplica(ba.replica));
  assert.match(ab.conflict?.problem ?? '', /created twice: by change a:1 and by change b:1; the earlier create's key is kept/);
  assert.match(ba.conflict?.problem ?? '', /created twice/);
  assert.throws(() => applyChange(emptyReplica('y'), first), /change a:1 is for x, not y/);
  // Merging replicas reports and resolves it the same way, in either order.
  const onA = applyChange(emptyReplica('x'), first).replica;
  const onB = applyChange(emptyReplica('x'), second).replica;
  const ab2 = mergeReplicas(onA, onB);
  const ba2 = mergeReplicas(onB, onA);
  assert.equal(ab2.replica.created?.material, 'one');
  assert.equal(canonicalReplica(ab2.replica), canonicalReplica(ba2.replica));
  assert.match(ab2.conflict?.problem ?? '', /created twice: by change a:1 and by change b:1/);
  assert.match(ba2.conflict?.problem ?? '', /created twice: by change a:1 and by change b:1/);
  assert.equal(mergeReplicas(onA, onA).conflict, undefined);
});
