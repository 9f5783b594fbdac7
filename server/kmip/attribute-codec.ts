// Attribute structures on the wire (KMIP 1.4 §2.1.1: Attribute Name, Attribute Index, Attribute
// Value) and their checking against the attribute table.
import { Enum, ENUM_VALUE_NAMES, Tag } from './tables.js';
import { integer, ITEM_TYPE_NAMES, structure, textString, type Item, type StructureItem } from './item.js';
import { invalidField, StructReader, tagName } from './reader.js';
import { attributeSpec, type AttributeSpec } from './attributes.js';
import { KmipError } from './errors.js';
import { sizeOf } from './encode.js';
import { enumValueMinor, firstUndefinedIn } from './versions.js';

/**
 * Largest encoded Attribute Value a client may set (8 KiB). KMIP sets no limit; the values clients
 * use (names, groups, application data, custom x- attributes) are tens of bytes, and every stored
 * byte is read back by Locate and Get Attributes, so one client's oversized attribute would tax
 * everyone's requests.
 */
export const MAX_ATTRIBUTE_VALUE_BYTES = 8 * 1024;

export interface Attribute {
  name: string;
  /** KMIP 1.4 §2.1.1: instance number of a multi-instance attribute; 0 when single. */
  index: number;
  /** The Attribute Value item (tag Attribute Value). */
  value: Item;
}

/** Reads an Attribute structure. `needValue` is false for requests that name an attribute only. */
export function parseAttribute(item: Item, where: string, needValue = true): { name: string; index?: number; value?: Item } {
  const r = StructReader.of(item, `Attribute in ${where}`);
  const name = r.required(Tag.AttributeName, 0x07);
  const index = r.optional(Tag.AttributeIndex, 0x02);
  const value = r.item.value.find((c) => c.tag === Tag.AttributeValue);
  r.ignore(Tag.AttributeValue);
  r.done();
  if (needValue && !value) throw new KmipError(Enum.ResultReason.InvalidMessage, `Attribute "${name}" in ${where} has no Attribute Value`);
  if (index !== undefined && index < 0) throw invalidField(`Attribute Index of "${name}" must not be negative`);
  const out: { name: string; index?: number; value?: Item } = { name };
  if (index !== undefined) out.index = index;
  if (value) out.value = value;
  return out;
}

/** The spec of a named attribute, or Invalid Field naming it. */
export function requireSpec(name: string): AttributeSpec {
  const spec = attributeSpec(name);
  if (!spec) {
    throw invalidField(`"${name}" is not a KMIP attribute; custom attributes are named "x-…"`);
  }
  return spec;
}

/** Checks a client-supplied value against the attribute's type and fields (KMIP 1.4 §3). */
export function checkValue(spec: AttributeSpec, name: string, value: Item, echoedInMinor?: number): void {
  const size = sizeOf(value);
  if (size > MAX_ATTRIBUTE_VALUE_BYTES) {
    throw invalidField(`the value of "${name}" takes ${size} bytes; attribute values are limited to ${MAX_ATTRIBUTE_VALUE_BYTES}`);
  }
  checkTyped(spec, name, value);
  if (echoedInMinor === undefined) return;
  // A value the response echoes must be expressible in the client's version (KMIP 1.4 §2.1.1: a
  // message holds only that version's tags and values), or its response cannot be sent.
  const undefinedItem = undefinedInMinor(spec, value, echoedInMinor);
  if (undefinedItem) throw invalidField(`the value of "${name}" holds ${undefinedItem}: send it in a version that defines it`);
}

/** A standard attribute's value against its type, enumeration and fields (a custom one has none). */
function checkTyped(spec: AttributeSpec, name: string, value: Item): void {
  const type = spec.type;
  if (type === 'any') return;
  if (value.type !== type) {
    throw invalidField(`"${name}" must be a ${ITEM_TYPE_NAMES.get(type)}, not a ${ITEM_TYPE_NAMES.get(value.type)}`);
  }
  if (value.type === 0x05 && spec.enumId && !ENUM_VALUE_NAMES[spec.enumId].has(value.value)) {
    throw invalidField(`${value.value} is not a valid ${spec.enumId} value for "${name}"`);
  }
  if (value.type === 0x07 && value.value.length === 0 && name !== 'Contact Information') {
    throw invalidField(`"${name}" must not be empty`);
  }
  if (value.type === 0x01 && spec.fields) {
    const allowed = new Map(spec.fields.map((f) => [f.tag, f]));
    for (const c of value.value) {
      const f = allowed.get(c.tag);
      if (!f) throw invalidField(`"${name}" does not have a field ${tagName(c.tag)}`);
      if (c.type !== f.type) throw invalidField(`${tagName(c.tag)} in "${name}" must be a ${ITEM_TYPE_NAMES.get(f.type)}`);
      if (c.type === 0x05 && f.enumId && !ENUM_VALUE_NAMES[f.enumId].has(c.value)) {
        throw invalidField(`${c.value} is not a valid ${f.enumId} value for ${tagName(c.tag)} in "${name}"`);
      }
    }
    for (const f of spec.fields) {
      if (f.required && !value.value.some((c) => c.tag === f.tag)) {
        throw invalidField(`"${name}" lacks its required field ${tagName(f.tag)}`);
      }
    }
  }
}

/** A tag or enumeration value of the attribute value that KMIP 1.minor lacks, if any. */
function undefinedInMinor(spec: AttributeSpec, value: Item, minor: number): string | undefined {
  // An enumeration Attribute Value's tag does not name its enumeration: the spec does.
  if (value.type === 0x05 && spec.enumId && enumValueMinor(spec.enumId, value.value) > minor) {
    return `${spec.enumId} value 0x${value.value.toString(16)} is not defined in KMIP 1.${minor}`;
  }
  return firstUndefinedIn(value, { major: 1, minor });
}

/** The Attribute structure for a response; the index is omitted when 0 (KMIP 1.4 §2.1.1). */
export function attributeItem(a: Attribute): StructureItem {
  const fields: Item[] = [textString(Tag.AttributeName, a.name)];
  if (a.index > 0) fields.push(integer(Tag.AttributeIndex, a.index));
  fields.push(a.value);
  return structure(Tag.Attribute, fields);
}

/**
 * The attribute as a client of KMIP 1.minor may receive it, or undefined when that version lacks
 * the attribute, or a tag or enumeration value anywhere in its value (its response could not be
 * encoded: KMIP 1.4 §2.1.1). The same check as a value a client sends (checkValue). KMIP 1.0 Digest
 * has no Key Format Type field (added by KMIP 1.1 §3.17), so that field is dropped rather than the
 * whole attribute.
 */
export function attributeForVersion(a: Attribute, minor: number): Attribute | undefined {
  const spec = attributeSpec(a.name);
  if (!spec || spec.minor > minor) return undefined;
  const v = a.value;
  const shown = minor < 1 && spec.name === 'Digest' && v.type === 0x01 && v.value.some((c) => c.tag === Tag.KeyFormatType)
    ? { ...a, value: { ...v, value: v.value.filter((c) => c.tag !== Tag.KeyFormatType) } }
    : a;
  return undefinedInMinor(spec, shown.value, minor) ? undefined : shown;
}
