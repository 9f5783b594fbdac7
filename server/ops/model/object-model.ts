// Reading and changing the attributes of a managed object held in memory.
import { attributeForVersion, type Attribute } from '../../kmip/attribute-codec.js';
import { dateTime, enumeration, integer, interval, structure, textString, type Item, boolean, ItemType } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';
import type { StoredObject } from '../../store/key-store.js';

const AV = Tag.AttributeValue;

/** Constructors of Attribute Values (every attribute value carries the Attribute Value tag). */
export const av = {
  text: (v: string) => textString(AV, v),
  int: (v: number) => integer(AV, v),
  enum: (v: number) => enumeration(AV, v),
  date: (v: number) => dateTime(AV, v),
  interval: (v: number) => interval(AV, v),
  bool: (v: boolean) => boolean(AV, v),
  struct: (fields: Item[]) => structure(AV, fields),
};

/** A Link attribute's value (KMIP 1.4 §3.35): the Link Type and the linked object's identifier. */
export function linkValue(type: number, uid: string): Item {
  return av.struct([enumeration(Tag.LinkType, type), textString(Tag.LinkedObjectIdentifier, uid)]);
}

/** Instances of an attribute, in index order. */
export function attrs(o: { attributes: Attribute[] }, name: string): Attribute[] {
  return o.attributes.filter((a) => a.name === name).sort((x, y) => x.index - y.index);
}

/** The instance with the lowest index (what attrs()[0] is, without building the list). */
export function attr(o: { attributes: Attribute[] }, name: string): Attribute | undefined {
  let first: Attribute | undefined;
  for (const a of o.attributes) if (a.name === name && (first === undefined || a.index < first.index)) first = a;
  return first;
}

export function attrValue(o: { attributes: Attribute[] }, name: string): Item | undefined {
  return attr(o, name)?.value;
}

/** A number-valued attribute (Integer, Enumeration, Date-Time, Interval), if present. */
export function numberAttr(o: { attributes: Attribute[] }, name: string): number | undefined {
  const v = attrValue(o, name);
  return v && (v.type === ItemType.Integer || v.type === ItemType.Enumeration || v.type === ItemType.DateTime || v.type === ItemType.Interval) ? v.value : undefined;
}

/** Sets the single instance of an attribute (replacing any). */
export function setAttr(o: { attributes: Attribute[] }, name: string, value: Item): void {
  removeAttr(o, name);
  o.attributes.push({ name, index: 0, value });
}

export function removeAttr(o: { attributes: Attribute[] }, name: string): void {
  o.attributes = o.attributes.filter((a) => a.name !== name);
}

/**
 * Adds an instance. KMIP 1.4 §2.1.1: indices are assigned by the server and are not reused or
 * renumbered when other instances are deleted; a new instance takes one past the highest.
 */
export function addAttr(o: { attributes: Attribute[] }, name: string, value: Item): Attribute {
  const existing = attrs(o, name);
  const index = existing.length === 0 ? 0 : Math.max(...existing.map((a) => a.index)) + 1;
  const a = { name, index, value };
  o.attributes.push(a);
  return a;
}

export function setState(o: StoredObject, state: number): void {
  o.state = state;
  setAttr(o, 'State', av.enum(state));
}

/** Records a change (KMIP 1.4 §3.38 Last Change Date). */
export function touch(o: { attributes: Attribute[] }, now: number): void {
  setAttr(o, 'Last Change Date', av.date(now));
}

/** The attributes a client of the request's version can see, in a stable order. */
export function visibleAttributes(list: Attribute[], minor: number): Attribute[] {
  const out: Attribute[] = [];
  for (const a of list) {
    const v = attributeForVersion(a, minor);
    if (v) out.push(v);
  }
  return out;
}
