// The replica's stored and shipped form: random replicas round-trip byte for byte (the encoding is
// canonical: the digest and the "unchanged" check rely on it), and what a peer may send wrong is
// refused with a message naming the field, never half-read; random bytes never get past the checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { enumeration, integer, textString } from '../../server/kmip/item.js';
import { Tag } from '../../server/kmip/tables.js';
import { decodeSlotValue, encodeSlotValue, materialize, replicaAfterLocalWrite } from '../../server/mirror/attribute-slots.js';
import type { Hlc } from '../../server/mirror/hlc.js';
import { applyChange, canonicalReplica, mergeReplicas, type ObjectReplica } from '../../server/mirror/merge-rules.js';
import { decodeReplica, encodeReplica, isReplicaFormatError } from '../../server/mirror/replica-codec.js';
import { runParameters } from '../support/property.js';

const AV = Tag.AttributeValue;
const hlc: fc.Arbitrary<Hlc> = fc.record({ wall: fc.integer({ min: 0, max: 2 ** 45 }), logical: fc.integer({ min: 0, max: 0xffffffff }), node: fc.constantFrom('na', 'nb', 'n0c1') });
const replica: fc.Arbitrary<ObjectReplica> = fc.record({
  uid: fc.uuid(),
  lifecycle: fc.record({ phase: fc.constantFrom(1 as const, 2 as const, 3 as const), compromised: fc.boolean(), destroyed: fc.boolean() }),
  slots: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.record({ hlc, value: fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined }) }), { maxKeys: 6 }),
  created: fc.option(fc.record({ id: fc.string({ minLength: 1, maxLength: 20 }), hlc, objectType: fc.integer({ min: 1, max: 9 }), owner: fc.string({ minLength: 1, maxLength: 20 }), material: fc.option(fc.base64String({ minLength: 4, maxLength: 44 }), { nil: undefined }) }), { nil: undefined }),
  latest: fc.option(hlc, { nil: undefined }),
}).map((r) => {
  const out: ObjectReplica = { uid: r.uid, lifecycle: r.lifecycle, slots: r.slots };
  let created: ObjectReplica['created'];
  if (r.created) {
    const { material, ...rest } = r.created;
    created = r.lifecycle.destroyed || material === undefined ? rest : { ...rest, material };
  }
  return { ...out, ...(created ? { created } : {}), ...(r.latest ? { latest: r.latest } : {}) };
});

test('random replicas round-trip, and encoding again gives the same bytes', (t) => {
  fc.assert(
    fc.property(replica, (r) => {
      const bytes = encodeReplica(r);
      const back = decodeReplica(bytes);
      assert.deepEqual(encodeReplica(back), bytes);
      assert.equal(canonicalReplica(back), canonicalReplica(r));
    }),
    runParameters(t, 300),
  );
});

test('malformed replicas are refused, naming what is wrong', () => {
  const good = { u: 'k1', c: ['c1', '000000000000001-00000000-na', 2, 'o', 'fp'], l: [2, 0, 0], s: [['Name#1', '000000000000001-00000000-na', 'AAA=']], t: '000000000000001-00000000-na' };
  const bad: [unknown, RegExp][] = [
    [{ ...good, u: '' }, /Unique Identifier is not a text/],
    [{ ...good, l: [4, 0, 0] }, /lifecycle phase 4/],
    [{ ...good, l: [2, 2, 0] }, /flags are not 0 or 1/],
    [{ ...good, s: [['a', 'not a stamp', null]] }, /stamp of slot a: .*is not a hybrid logical clock stamp/],
    [{ ...good, s: [['a', '000000000000001-00000000-na', null], ['a', '000000000000002-00000000-na', null]] }, /slot a appears twice/],
    [{ ...good, c: ['c1', '000000000000001-00000000-na', 0, 'o', null] }, /object type is not a KMIP enumeration/],
    [{ ...good, l: [2, 0, 1] }, /a destroyed object with material/],
    [{ ...good, c: ['c1'] }, /create is not \[id, stamp, type, owner, material\]/],
    [[1, 2], /not an object/],
  ];
  for (const [value, why] of bad) {
    assert.throws(() => decodeReplica(Buffer.from(JSON.stringify(value))), (e: unknown) => isReplicaFormatError(e) && why.test((e as Error).message), String(why));
  }
  assert.throws(() => decodeReplica(Buffer.from('{')), /malformed replica: not JSON/);
  assert.throws(() => decodeReplica(Buffer.alloc(1024 * 1024 + 1, 0x20)), /more than/);
});

test('random bytes and random JSON never get past the checks as anything but a format error', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)))), (bytes) => {
      try {
        decodeReplica(bytes);
      } catch (err) {
        assert.ok(isReplicaFormatError(err), `not a format error: ${String(err)}`);
      }
    }),
    runParameters(t, 500),
  );
});

test('attribute slots: a local write is a write of exactly the instances it changed; indices added twice concurrently come apart the same way everywhere', () => {
  const at = (wall: number, node = 'na'): Hlc => ({ wall, logical: 0, node });
  const base = { uid: 'k', objectType: 2, owner: 'o', state: 1 };
  const r1 = replicaAfterLocalWrite(undefined, { ...base, attributes: [{ name: 'Name', index: 0, value: textString(AV, 'a') }, { name: 'Cryptographic Length', index: 0, value: integer(AV, 256) }, { name: 'State', index: 0, value: enumeration(AV, 1) }] }, at(1), 'fp');
  assert.deepEqual(Object.keys(r1.slots).sort(), ['Cryptographic Length', `Name#000000000000001-00000000-na#0`], 'State is the lifecycle, not a slot');
  // Change the length, delete nothing, add a Name: two writes; the first Name keeps its stamp.
  const r2 = replicaAfterLocalWrite(r1, { ...base, attributes: [{ name: 'Name', index: 0, value: textString(AV, 'a') }, { name: 'Name', index: 1, value: textString(AV, 'b') }, { name: 'Cryptographic Length', index: 0, value: integer(AV, 128) }] }, at(2));
  assert.equal(r2.slots['Name#000000000000001-00000000-na#0']!.hlc.wall, 1);
  assert.equal(r2.slots['Cryptographic Length']!.hlc.wall, 2);
  assert.equal(Object.keys(r2.slots).length, 3);
  // Remove the first Name: a tombstone at the new stamp.
  const r3 = replicaAfterLocalWrite(r2, { ...base, attributes: [{ name: 'Name', index: 1, value: textString(AV, 'b') }, { name: 'Cryptographic Length', index: 0, value: integer(AV, 128) }] }, at(3));
  assert.deepEqual(r3.slots['Name#000000000000001-00000000-na#0'], { hlc: at(3), value: undefined });
  // Two servers each add Name index 1: both kept, the later stamp moves to index 2, in either order.
  const mine = { ...r1, slots: { ...r1.slots, 'Name#x#1': { hlc: at(5, 'na'), value: encodeSlotValue({ name: 'Name', index: 1, value: textString(AV, 'mine') }) } } };
  const both = { ...mine, slots: { ...mine.slots, 'Name#y#1': { hlc: at(6, 'nb'), value: encodeSlotValue({ name: 'Name', index: 1, value: textString(AV, 'theirs') }) } } };
  const names = materialize(both).attributes.filter((a) => a.name === 'Name').map((a) => [a.index, a.value.value]);
  assert.deepEqual(names.sort(), [[0, 'a'], [1, 'mine'], [2, 'theirs']]);
  assert.equal(materialize(both).state, 1);
  assert.throws(() => decodeSlotValue(encodeSlotValue({ name: 'State', index: 0, value: enumeration(AV, 2) })), /not an attribute a slot holds/);
});

test('a slot key is data: keys named like Object.prototype members merge and survive like any other, in either order', () => {
  const at = (wall: number, node = 'na'): Hlc => ({ wall, logical: 0, node });
  const value = encodeSlotValue({ name: 'Cryptographic Length', index: 0, value: integer(AV, 256) });
  const slots = (wall: number, node: string) => {
    const s = JSON.parse('{}') as Record<string, { hlc: Hlc; value: string | undefined }>;
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) Object.defineProperty(s, k, { value: { hlc: at(wall, node), value }, enumerable: true, writable: true, configurable: true });
    return s;
  };
  const created = { id: 'c1', hlc: at(1), objectType: 2, owner: 'o' };
  const a: ObjectReplica = { uid: 'k', lifecycle: { phase: 2, compromised: false, destroyed: false }, slots: slots(5, 'na'), created, latest: at(5) };
  const b: ObjectReplica = { uid: 'k', lifecycle: { phase: 2, compromised: false, destroyed: false }, slots: slots(7, 'nb'), created, latest: at(7, 'nb') };
  // As a peer sends them: decoded from bytes.
  const [da, db] = [decodeReplica(encodeReplica(a)), decodeReplica(encodeReplica(b))];
  assert.equal(Object.getPrototypeOf(da.slots), null, 'no prototype to reach through a key');
  assert.deepEqual(Object.keys(da.slots).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
  const ab = mergeReplicas(da, db).replica;
  const ba = mergeReplicas(db, da).replica;
  assert.deepEqual(encodeReplica(ab), encodeReplica(ba));
  for (const k of Object.keys(da.slots)) assert.equal(ab.slots[k]!.hlc.node, 'nb', `slot ${k}: the later write wins`);
  // A set and an unset of such a slot on a replica that lacks it.
  const empty = decodeReplica(encodeReplica({ uid: 'k', lifecycle: a.lifecycle, slots: {}, created, latest: at(1) }));
  const set = applyChange(empty, { id: 's1', hlc: at(9), uid: 'k', kind: 'set', slot: 'constructor', value });
  assert.deepEqual(Object.keys(set.replica.slots), ['constructor']);
  const unset = applyChange(empty, { id: 's2', hlc: at(9), uid: 'k', kind: 'unset', slot: 'valueOf' });
  assert.deepEqual(Object.keys(unset.replica.slots), ['valueOf']);
});
