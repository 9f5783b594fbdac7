// How a mirrored change is applied to an object, so that every server ends in the same state
// whatever order the changes reach it in, however often each arrives (a state-based merge: applying
// is commutative, associative and idempotent over the set of changes).
//
// - Identifiers never collide across servers (each server mints them under its own prefix), so a
//   Unique Identifier is created by exactly one change; its key material never changes after.
// - The lifecycle only moves forward (lifecycle-join.ts).
// - Destroy is final: the material is gone on every server that has seen the destroy, and nothing
//   that arrives later (an attribute edit made concurrently, a duplicate of the create) brings it back.
// - Each attribute slot is a last-writer-wins register on the change's hybrid logical clock stamp
//   (hlc.ts: greater wall time, then counter, then server id). A deletion is a write of "nothing",
//   kept as a tombstone so that an older write arriving later does not revive the value.
//   Which slot an edit writes is decided where the change is made: a single-instance attribute is
//   its name, an instance of a multi-instance attribute is its name and the id of the change that
//   added it, so that concurrent additions on two servers both survive.
// - Changes to an object may arrive before its creation (another server edited it after seeing the
//   create; this one has not seen the create yet): they are kept and the object appears once created.
import { compareHlc, formatHlc, maxHlc, type Hlc } from './hlc.js';
import { factsOf, joinFacts, stateOf, type LifecycleFacts } from './lifecycle-join.js';

/** A mirrored change to one object. Its `id` is unique across the group (server id and a sequence). */
export type Change =
  | { readonly id: string; readonly hlc: Hlc; readonly uid: string; readonly kind: 'create'; readonly objectType: number; readonly owner: string; readonly state: number; readonly material?: string; readonly slots: Readonly<Record<string, string>> }
  | { readonly id: string; readonly hlc: Hlc; readonly uid: string; readonly kind: 'set'; readonly slot: string; readonly value: string }
  | { readonly id: string; readonly hlc: Hlc; readonly uid: string; readonly kind: 'unset'; readonly slot: string }
  | { readonly id: string; readonly hlc: Hlc; readonly uid: string; readonly kind: 'state'; readonly state: number }
  | { readonly id: string; readonly hlc: Hlc; readonly uid: string; readonly kind: 'destroy'; readonly compromised: boolean };

/** One attribute slot: its value (undefined: deleted) and the stamp of the write that set it. */
export interface SlotValue {
  readonly hlc: Hlc;
  readonly value: string | undefined;
}

/** What a server knows of one object from the changes it applied. */
export interface ObjectReplica {
  readonly uid: string;
  /** From the create; undefined until the create arrived. */
  readonly created?: { readonly id: string; readonly hlc: Hlc; readonly objectType: number; readonly owner: string; readonly material?: string };
  readonly lifecycle: LifecycleFacts;
  readonly slots: Readonly<Record<string, SlotValue>>;
  /** The greatest stamp applied: what a digest and a peer's catch-up compare. */
  readonly latest?: Hlc;
}

/** What applying found that the merge cannot make right by itself (reported, never silently kept). */
export interface MergeConflict {
  readonly uid: string;
  readonly problem: string;
}

const PRE_ACTIVE: LifecycleFacts = factsOf(1);

/**
 * A new slot record (a copy of `from`, if given). Slot records have no prototype: a slot key is data,
 * any text a peer sends ("__proto__" and "constructor" included), and V8 keeps such an object as a
 * hash table. An object literal costs a hidden-class transition for each key it has not seen before,
 * and the key of a multi-instance slot holds a stamp, so it is always new: building the 11 slots of
 * a created key took 16 µs that way and 2.7 µs this way (measured).
 */
export function slotRecord(from?: Readonly<Record<string, SlotValue>>): Record<string, SlotValue> {
  const out = Object.create(null) as Record<string, SlotValue>;
  if (from) for (const k of Object.keys(from)) out[k] = from[k]!;
  return out;
}

export const emptyReplica = (uid: string): ObjectReplica => ({ uid, lifecycle: PRE_ACTIVE, slots: slotRecord() });

/** The slot value the merge keeps: the later write (a tie is the same write seen twice). */
function lww(current: SlotValue | undefined, incoming: SlotValue): SlotValue {
  return !current || compareHlc(incoming.hlc, current.hlc) > 0 ? incoming : current;
}

/**
 * The object after `change`; `conflict` when the change contradicts what is known in a way no order
 * of delivery explains (a second, different create of one identifier): the earlier create's type,
 * owner and material are kept on every server, the other's attributes and state merge as edits at its
 * stamp would (so the result is still the same in every order), and the conflict is for the caller to
 * report: it means identifiers were minted twice, which the merge cannot repair.
 */
export function applyChange(r: ObjectReplica, change: Change): { replica: ObjectReplica; conflict?: MergeConflict } {
  if (change.uid !== r.uid) throw new Error(`change ${change.id} is for ${change.uid}, not ${r.uid}`);
  const out = merge(r, change);
  // Destroyed, by a Destroy or by a State that says so, in whatever order: no material, ever after.
  const c = out.replica.created;
  return out.replica.lifecycle.destroyed && c?.material !== undefined ? { ...out, replica: { ...out.replica, created: withoutMaterial(c) } } : out;
}

function merge(r: ObjectReplica, change: Change): { replica: ObjectReplica; conflict?: MergeConflict } {
  const latest = r.latest ? maxHlc(r.latest, change.hlc) : change.hlc;
  switch (change.kind) {
    case 'create': {
      const created = { id: change.id, hlc: change.hlc, objectType: change.objectType, owner: change.owner, ...(change.material !== undefined ? { material: change.material } : {}) };
      const slots = slotRecord(r.slots);
      for (const [slot, value] of Object.entries(change.slots)) slots[slot] = lww(slots[slot], { hlc: change.hlc, value });
      const lifecycle = joinFacts(r.lifecycle, factsOf(change.state));
      if (!r.created) return { replica: { ...r, created, lifecycle, slots, latest } };
      if (r.created.id === change.id) return { replica: { ...r, lifecycle, slots, latest } };
      // Two creates of one identifier: the earlier's object stays everywhere, whichever arrived first.
      const keep = compareHlc(created.hlc, r.created.hlc) < 0 ? created : r.created;
      const conflict = { uid: r.uid, problem: `created twice: by change ${r.created.id} and by change ${change.id}; the earlier create's key is kept` };
      return { replica: { ...r, created: keep, lifecycle, slots, latest }, conflict };
    }
    case 'set':
    case 'unset': {
      const slots = slotRecord(r.slots);
      slots[change.slot] = lww(slots[change.slot], { hlc: change.hlc, value: change.kind === 'set' ? change.value : undefined });
      return { replica: { ...r, slots, latest } };
    }
    case 'state':
      return { replica: { ...r, lifecycle: joinFacts(r.lifecycle, factsOf(change.state)), latest } };
    case 'destroy': {
      return { replica: { ...r, lifecycle: joinFacts(r.lifecycle, { phase: 1, compromised: change.compromised, destroyed: true }), latest } };
    }
  }
}

/**
 * Two replicas of one object merged: what applying both servers' changes gives (a join, like
 * applyChange: commutative, associative, idempotent). Servers ship replicas, not single changes, so
 * that a change received once carries everything it follows from.
 */
export function mergeReplicas(a: ObjectReplica, b: ObjectReplica): { replica: ObjectReplica; conflict?: MergeConflict } {
  if (a.uid !== b.uid) throw new Error(`replicas of ${a.uid} and ${b.uid} do not merge`);
  // Nothing known of it yet (the common case of a new object): the join with the bottom is the other.
  if (isEmpty(a) && !(b.lifecycle.destroyed && b.created?.material !== undefined)) return { replica: b };
  const slots = slotRecord(a.slots);
  for (const [k, v] of Object.entries(b.slots)) slots[k] = lww(slots[k], v);
  const lifecycle = joinFacts(a.lifecycle, b.lifecycle);
  const latest = a.latest && b.latest ? maxHlc(a.latest, b.latest) : (a.latest ?? b.latest);
  let created = a.created ?? b.created;
  let conflict: MergeConflict | undefined;
  if (a.created && b.created && a.created.id !== b.created.id) {
    created = compareHlc(a.created.hlc, b.created.hlc) <= 0 ? a.created : b.created;
    const [first, second] = created === a.created ? [a.created, b.created] : [b.created, a.created];
    conflict = { uid: a.uid, problem: `created twice: by change ${first.id} and by change ${second.id}; the earlier create's key is kept` };
  } else if (a.created && b.created && a.created.material === undefined && b.created.material !== undefined) {
    // The same create, one side without material: destroyed there (the lifecycle join says so).
    created = a.created;
  }
  let replica: ObjectReplica = { uid: a.uid, lifecycle, slots, ...(created ? { created } : {}), ...(latest ? { latest } : {}) };
  if (lifecycle.destroyed && replica.created?.material !== undefined) replica = { ...replica, created: withoutMaterial(replica.created) };
  return conflict ? { replica, conflict } : { replica };
}

function isEmpty(r: ObjectReplica): boolean {
  if (r.created || r.latest || r.lifecycle.phase !== 1 || r.lifecycle.compromised || r.lifecycle.destroyed) return false;
  for (const _ in r.slots) return false;
  return true;
}

function withoutMaterial<T extends { material?: string }>(c: T): Omit<T, 'material'> {
  const { material: _gone, ...rest } = c;
  return rest;
}

/** The KMIP State of the object as merged. */
export const replicaState = (r: ObjectReplica): number => stateOf(r.lifecycle);

/** The attribute slots that hold a value (deleted ones are tombstones, not attributes). */
export function liveSlots(r: ObjectReplica): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [slot, v] of Object.entries(r.slots)) if (v.value !== undefined) out[slot] = v.value;
  return out;
}

/**
 * A canonical text of the replica, equal on two servers exactly when their objects are: slots in
 * order, stamps included (two servers that agree on values but not on why would diverge later).
 */
export function canonicalReplica(r: ObjectReplica): string {
  const slots = Object.keys(r.slots)
    .sort()
    .map((k) => [k, r.slots[k]!.value ?? null, formatHlc(r.slots[k]!.hlc)]);
  const c = r.created;
  const created = c ? [c.id, formatHlc(c.hlc), c.objectType, c.owner, c.material ?? null] : null;
  return JSON.stringify([r.uid, created, r.lifecycle.phase, r.lifecycle.compromised, r.lifecycle.destroyed, slots, r.latest ? formatHlc(r.latest) : null]);
}
