// KMIP 1.4 §4.9 Locate: the caller's objects matching every attribute in the request, newest first.
// An attribute given once must equal one of the object's instances (a structure matches when each
// field it gives is equal); a date attribute given twice is an inclusive range; a usage mask
// matches objects whose mask holds all the requested bits. Destroyed objects are only found when
// the request names a State or a Destroy Date. Group member requests (KMIP 1.4 §4.9, Object Group
// Member) are answered oldest first.
import { KmipError } from '../../errors.js';
import { parseAttribute, requireSpec, checkValue } from '../../kmip/attribute-codec.js';
import { boolean, integer, ItemType, itemsEqual, textString, type Item } from '../../kmip/item.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum, Mask, Tag } from '../../kmip/tables.js';
import { isIndexed, type StoredObject } from '../../store/key-store.js';
import type { OpContext } from '../pipeline/context.js';
import { operation } from '../pipeline/operation.js';
import { setPlaceholder } from '../model/access.js';
import { applyScheduledTransitions, isArchived, isDestroyed } from '../model/lifecycle.js';
import { attrs } from '../model/object-model.js';

export interface Criterion {
  name: string;
  values: Item[];
}

const PAGE = 256;

export interface LocateRequest {
  maxItems?: number;
  offset: number;
  /** Storage Status Mask (KMIP 1.4 §4.9): on-line and/or archival objects. */
  storage: number;
  groupMember?: number;
  /** The attributes to match, by name: one value, or two dates as a range. */
  criteria: Map<string, Criterion>;
}

export const locate = operation<LocateRequest>({
  parse(p, ctx) {
    const maxItems = p.optionalInteger(Tag.MaximumItems);
    const offset = ctx.version.minor >= 3 ? p.optionalInteger(Tag.OffsetItems) ?? 0 : 0;
    // KMIP 1.4 §4.9: without a Storage Status Mask only on-line objects are found.
    const storage = p.optionalInteger(Tag.StorageStatusMask) ?? Mask.StorageStatusMask.OnLineStorage;
    const groupMember = ctx.version.minor >= 1 ? p.optionalEnumeration(Tag.ObjectGroupMember) : undefined;
    const requested = p.allStructures(Tag.Attribute).map((a) => parseAttribute(a, 'the Locate request'));
    p.done();
    if (maxItems !== undefined && maxItems < 0) throw invalidField('Maximum Items must not be negative');
    if (offset < 0) throw invalidField('Offset Items must not be negative');

    const criteria = new Map<string, Criterion>();
    for (const a of requested) {
      const spec = requireSpec(a.name);
      checkValue(spec, a.name, a.value!);
      const c = criteria.get(a.name) ?? { name: a.name, values: [] };
      c.values.push(a.value!);
      criteria.set(a.name, c);
    }
    for (const c of criteria.values()) {
      if (c.values.length > 2 || (c.values.length === 2 && c.values[0]!.type !== ItemType.DateTime && !requireSpec(c.name).multi)) {
        throw invalidField(`"${c.name}" is given ${c.values.length} times; only a date may be given twice (as a range)`);
      }
    }
    return { maxItems, offset, storage, groupMember, criteria };
  },
  run({ maxItems, offset, storage, groupMember, criteria }, ctx) {
    const includeDestroyed = criteria.has('State') || criteria.has('Destroy Date');
    const wantFresh = groupMember === Enum.ObjectGroupMember.GroupMemberFresh;

    const limit = Math.min(maxItems ?? ctx.limits.maxLocateItems, ctx.limits.maxLocateItems);
    const found: StoredObject[] = [];
    let total = 0;
    const countAll = ctx.version.minor >= 3 && (maxItems !== undefined || offset > 0);
    // Group members are handed out oldest first, so a pool of fresh keys is used in order.
    const order = groupMember !== undefined ? 'oldest' : 'newest';
    for (const o of candidates(ctx, criteria, order)) {
      if (--ctx.work.locateRows < 0) {
        // Bounds the work of one request; Response Too Large tells the client to ask for less.
        throw new KmipError(
          Enum.ResultReason.ResponseTooLarge,
          `Locate examined ${ctx.limits.maxLocateScan} objects in this request without finishing: narrow it with an indexed attribute (Name, Object Group, Cryptographic Algorithm, Link, x- attributes …) or Maximum Items`,
        );
      }
      if (o.owner !== ctx.identity) continue;
      applyScheduledTransitions(o, ctx.now);
      if (!includeDestroyed && isDestroyed(o)) continue;
      if (wantFresh && !isFresh(o)) continue;
      const storageBit = isArchived(o) ? Mask.StorageStatusMask.ArchivalStorage : Mask.StorageStatusMask.OnLineStorage;
      if ((storage & storageBit) === 0) continue;
      if (![...criteria.values()].every((c) => matches(o, c))) continue;
      total++;
      if (total > offset && found.length < limit) found.push(o);
      else if (found.length >= limit && !countAll) break;
    }
    if (wantFresh) {
      // KMIP 1.4 §3.34: an object handed out as a fresh group member is no longer fresh.
      for (const o of found) {
        const fresh = o.attributes.find((a) => a.name === 'Fresh');
        if (fresh) fresh.value = boolean(Tag.AttributeValue, false);
        ctx.store.save(o);
      }
    }
    if (found[0]) setPlaceholder(ctx, found[0].uid);
    // The audit record names what was found (the first few, for very large results).
    ctx.objectIds.push(...found.slice(0, 16).map((o) => o.uid));
    const out: Item[] = [];
    if (countAll) out.push(integer(Tag.LocatedItems, total));
    for (const o of found) out.push(textString(Tag.UniqueIdentifier, o.uid));
    return out;
  },
});

function isFresh(o: StoredObject): boolean {
  const f = attrs(o, 'Fresh')[0]?.value;
  return f?.type === ItemType.Boolean && f.value;
}

/** Objects that may match, newest first, drawn from the most selective source available. */
function* candidates(ctx: OpContext, criteria: Map<string, Criterion>, order: 'newest' | 'oldest'): Generator<StoredObject> {
  const start = order === 'newest' ? Number.MAX_SAFE_INTEGER : 0;
  const uid = criteria.get('Unique Identifier');
  if (uid) {
    const v = uid.values[0]!;
    const o = v.type === ItemType.TextString ? ctx.store.load(v.value) : undefined;
    if (o) yield o;
    return;
  }
  const indexed = [...criteria.values()].find((c) => isIndexed(c.name) && c.values.length === 1 && isExact(c));
  if (indexed) {
    let from = start;
    for (;;) {
      const seqs = ctx.store.findByAttribute(ctx.identity, indexed.name, indexed.values[0]!, from, PAGE, order);
      for (const seq of seqs) {
        const o = ctx.store.loadBySeq(seq);
        if (o) yield o;
      }
      if (seqs.length < PAGE) return;
      from = seqs[seqs.length - 1]!;
    }
  }
  let from = start;
  for (;;) {
    const page = ctx.store.scanOwner(ctx.identity, from, PAGE, order);
    yield* page;
    if (page.length < PAGE) return;
    from = page[page.length - 1]!.seq;
  }
}

/** A criterion the index can answer by equality: not a partial structure, not a mask. */
function isExact(c: Criterion): boolean {
  if (c.name === 'Cryptographic Usage Mask') return false;
  const spec = requireSpec(c.name);
  const v = c.values[0]!;
  return v.type !== ItemType.Structure || (spec.fields ?? []).filter((f) => f.required).every((f) => v.value.some((x) => x.tag === f.tag));
}

function matches(o: StoredObject, c: Criterion): boolean {
  if (c.name === 'Object Type') return c.values[0]!.type === ItemType.Enumeration && o.objectType === c.values[0]!.value;
  if (c.name === 'State') return c.values[0]!.type === ItemType.Enumeration && o.state === c.values[0]!.value;
  const instances = attrs(o, c.name).map((a) => a.value);
  if (c.values.length === 2 && c.values[0]!.type === ItemType.DateTime && c.values[1]!.type === ItemType.DateTime) {
    const lo = Math.min(c.values[0]!.value, c.values[1]!.value);
    const hi = Math.max(c.values[0]!.value, c.values[1]!.value);
    return instances.some((v) => v.type === ItemType.DateTime && v.value >= lo && v.value <= hi);
  }
  return c.values.every((want) => instances.some((have) => valueMatches(c.name, want, have)));
}

function valueMatches(name: string, want: Item, have: Item): boolean {
  if (name === 'Cryptographic Usage Mask' && want.type === ItemType.Integer && have.type === ItemType.Integer) {
    return (have.value & want.value) === want.value;
  }
  if (want.type === ItemType.Structure && have.type === ItemType.Structure) {
    return want.value.every((w) => have.value.some((h) => itemsEqual(w, h)));
  }
  return itemsEqual(want, have);
}
