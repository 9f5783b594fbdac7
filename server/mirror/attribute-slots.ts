// An object's KMIP attributes as the merge rules' slots, and back.
//
// A single-instance attribute is one slot, keyed by its name: concurrent edits on two servers are one
// register, the later write wins. An instance of a multi-instance attribute (Name, Link, Object
// Group…) is a slot of its own, keyed by its name and the stamp of the change that added it: two
// servers adding a Name at once both keep theirs. A slot's value is the TTLV encoding of the
// Attribute (name, index, value). State is not a slot: it is the lifecycle facts' (lifecycle-join.ts).
//
// Indices (KMIP 1.4 §2.1.1) are the adding server's. Two servers may both add index 1 of a name;
// reading the slots back, the instance with the later stamp moves to the next free index, the same
// on every server.
import { decode } from '../kmip/decode.js';
import { encode } from '../kmip/encode.js';
import { enumeration, integer, structure, textString, type Item } from '../kmip/item.js';
import { attributeSpec } from '../kmip/attributes.js';
import { Tag } from '../kmip/tables.js';
import type { Attribute } from '../kmip/attribute-codec.js';
import { compareHlc, formatHlc, maxHlc, type Hlc } from './hlc.js';
import { factsOf, joinFacts, stateOf } from './lifecycle-join.js';
import { slotRecord, type ObjectReplica } from './merge-rules.js';

const STATE = 'State';

const isMulti = (name: string) => attributeSpec(name)?.multi ?? false;

export function encodeSlotValue(a: Attribute): string {
  return encode(structure(Tag.Attribute, [textString(Tag.AttributeName, a.name), integer(Tag.AttributeIndex, a.index), a.value])).toString('base64');
}

export function decodeSlotValue(value: string): Attribute {
  const s = decode(Buffer.from(value, 'base64'), { maxDepth: 8 });
  if (s.type !== 0x01 || s.tag !== Tag.Attribute || s.value.length !== 3) throw new Error('a slot value is not an Attribute');
  const [n, i, v] = s.value as [Item, Item, Item];
  if (n.type !== 0x07 || i.type !== 0x02 || v.tag !== Tag.AttributeValue) throw new Error('a slot value is not an Attribute');
  if (n.value === STATE || !attributeSpec(n.value)) throw new Error(`"${n.value.slice(0, 64)}" is not an attribute a slot holds`);
  return { name: n.value, index: i.value, value: v };
}

/** The slot an instance lives in, given where it is (from the replica) or, when new, the change adding it. */
const newSlotKey = (a: Attribute, stamp: Hlc) => (isMulti(a.name) ? `${a.name}#${formatHlc(stamp)}#${a.index}` : a.name);

interface Placed {
  slot: string;
  attribute: Attribute;
}

/**
 * The attributes the replica's live slots make, each with the slot it came from, plus State from the
 * lifecycle. Colliding indices of one name (added concurrently) are resolved by stamp, then slot key.
 */
export function materialize(r: ObjectReplica): { state: number; attributes: Attribute[]; placed: Placed[] } {
  const byName = new Map<string, { slot: string; hlc: Hlc; attribute: Attribute }[]>();
  for (const [slot, v] of Object.entries(r.slots)) {
    if (v.value === undefined) continue;
    const attribute = decodeSlotValue(v.value);
    const list = byName.get(attribute.name) ?? [];
    list.push({ slot, hlc: v.hlc, attribute });
    byName.set(attribute.name, list);
  }
  const placed: Placed[] = [];
  for (const [name, list] of byName) {
    if (!isMulti(name)) {
      for (const p of list) placed.push({ slot: p.slot, attribute: p.attribute.index === 0 ? p.attribute : { ...p.attribute, index: 0 } });
      continue;
    }
    list.sort((x, y) => x.attribute.index - y.attribute.index || compareHlc(x.hlc, y.hlc) || (x.slot < y.slot ? -1 : 1));
    const taken = new Set<number>();
    let next = 0;
    for (const p of list) next = Math.max(next, p.attribute.index + 1);
    for (const p of list) {
      const index = taken.has(p.attribute.index) ? next++ : p.attribute.index;
      taken.add(index);
      placed.push({ slot: p.slot, attribute: index === p.attribute.index ? p.attribute : { ...p.attribute, index } });
    }
  }
  const state = stateOf(r.lifecycle);
  const attributes = placed.map((p) => p.attribute);
  attributes.push({ name: STATE, index: 0, value: enumeration(Tag.AttributeValue, state) });
  return { state, attributes, placed };
}

const sameValue = (a: Item, b: Item) => encode(a).equals(encode(b));

export interface LocalObject {
  uid: string;
  objectType: number;
  owner: string;
  state: number;
  attributes: Attribute[];
}

/**
 * The replica after a change made here: `before` (undefined for a new object) and the object as the
 * operation left it. Every instance added, changed or removed is a write at `stamp`.
 * `materialFingerprint` is the new object's; an update keeps the create's (or drops it: destroyed).
 */
export function replicaAfterLocalWrite(before: ObjectReplica | undefined, after: LocalObject, stamp: Hlc, materialFingerprint?: string): ObjectReplica {
  const slots = slotRecord(before?.slots);
  const where = new Map<string, Placed>();
  if (before) for (const p of materialize(before).placed) where.set(`${p.attribute.name}\u0000${p.attribute.index}`, p);
  const seen = new Set<string>();
  for (const a of after.attributes) {
    if (a.name === STATE) continue;
    const at = `${a.name}\u0000${isMulti(a.name) ? a.index : 0}`;
    seen.add(at);
    const old = where.get(at);
    if (old && old.attribute.index === a.index && sameValue(old.attribute.value, a.value)) continue;
    slots[old?.slot ?? newSlotKey(a, stamp)] = { hlc: stamp, value: encodeSlotValue(a) };
  }
  for (const [at, p] of where) if (!seen.has(at)) slots[p.slot] = { hlc: stamp, value: undefined };
  const lifecycle = joinFacts(before?.lifecycle ?? factsOf(after.state), factsOf(after.state));
  const created =
    before?.created ??
    (before
      ? undefined
      : { id: formatHlc(stamp), hlc: stamp, objectType: after.objectType, owner: after.owner, ...(materialFingerprint !== undefined ? { material: materialFingerprint } : {}) });
  const replica: ObjectReplica = {
    uid: after.uid,
    lifecycle,
    slots,
    ...(created ? { created: lifecycle.destroyed ? withoutMaterial(created) : created } : {}),
    latest: before?.latest ? maxHlc(before.latest, stamp) : stamp,
  };
  return replica;
}

function withoutMaterial<T extends { material?: string }>(c: T): Omit<T, 'material'> {
  const { material: _gone, ...rest } = c;
  return rest;
}

/**
 * The replica of an object written before this server mirrored: its create and attributes stamped
 * at time zero by this server (any later write anywhere wins over them), created by a change named
 * after the object.
 */
export function replicaOfUnmirrored(o: LocalObject, node: string, materialFingerprint: string | undefined): ObjectReplica {
  const zero: Hlc = { wall: 0, logical: 0, node };
  const r = replicaAfterLocalWrite(undefined, o, zero, materialFingerprint);
  const { latest: _none, ...rest } = r;
  return { ...rest, created: { ...rest.created!, id: `unmirrored:${o.uid}` }, latest: zero };
}
