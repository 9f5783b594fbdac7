// A TTLV pretty-printer for people (as kmip-go's ttlv.Print): one line per item, indented by depth,
// tags, types and enumeration values by their spec names (KMIP 1.4 §9.1.1, §9.1.3), long values
// shortened. For test failure messages and `keyhaven ttlv print`; never on the request path.
// Pure: bytes or items in, text out.
import { attributeSpec } from './attributes.js';
import { decode } from './decode.js';
import { TtlvError, KmipCodes } from './errors.js';
import type { Item } from './item.js';
import { ENUM_OF_TAG, ENUM_VALUE_NAMES, MASK_OF_TAG, MASK_VALUE_NAMES, Tag, TAG_NAMES, type EnumId, type MaskId } from './tables.js';

export interface PrintOptions {
  /** Byte Strings (and Big Integers) longer than this are shown by their first bytes. Default 32. */
  readonly maxBytes?: number;
  /** Text Strings longer than this are cut. Default 200 characters. */
  readonly maxText?: number;
}

const hex32 = (v: number) => `0x${(v >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
const tagName = (tag: number) => TAG_NAMES.get(tag) ?? `0x${tag.toString(16).toUpperCase().padStart(6, '0')}`;
// KMIP 1.4 §9.1.1.2, as the spec writes them.
const TYPE_NAMES = ['', 'Structure', 'Integer', 'Long Integer', 'Big Integer', 'Enumeration', 'Boolean', 'Text String', 'Byte String', 'Date-Time', 'Interval'];
const typeName = (type: number) => TYPE_NAMES[type] || hex32(type);

function bytes(b: Buffer, max: number): string {
  return b.length <= max ? b.toString('hex') : `${b.subarray(0, max).toString('hex')}… (${b.length} bytes)`;
}

function enumeration(value: number, enumId: EnumId | undefined): string {
  const name = enumId && ENUM_VALUE_NAMES[enumId].get(value);
  return name ? `${name} (${hex32(value)})` : hex32(value);
}

// A mask prints its set bits by name; bits without a name stay in hex (KMIP 1.4 §9.1.3.3).
function mask(value: number, maskId: MaskId): string {
  const names: string[] = [];
  let rest = value >>> 0;
  for (const [bit, name] of MASK_VALUE_NAMES[maskId]) {
    if ((rest & bit) !== 0) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(hex32(rest));
  return `${names.join('|') || '0'} (${hex32(value)})`;
}

function dateTime(seconds: number): string {
  const ms = seconds * 1000;
  // Date holds ±8.64e15 ms; Date-Times beyond it print as their number only.
  return Math.abs(ms) <= 8.64e15 ? `${new Date(ms).toISOString().replace('.000Z', 'Z')} (${seconds})` : String(seconds);
}

/** The value of one non-structure item. `attribute`: the Attribute Name, for an Attribute Value. */
function value(item: Item, o: Required<PrintOptions>, attribute: string | undefined): string {
  switch (item.type) {
    case 0x01:
      return `${item.value.length} items`;
    case 0x02: {
      const maskId = MASK_OF_TAG.get(item.tag) ?? (attribute !== undefined ? MASK_OF_TAG.get(attributeTag(attribute)) : undefined);
      return maskId ? mask(item.value, maskId) : String(item.value);
    }
    case 0x03:
      return String(item.value);
    case 0x04: {
      // Up to 64 bits in decimal, larger ones (key material) in shortened hex.
      if (item.value >= -(1n << 63n) && item.value < 1n << 63n) return String(item.value);
      const magnitude = item.value < 0n ? -item.value : item.value;
      const hex = magnitude.toString(16);
      const shown = hex.length <= 2 * o.maxBytes ? hex : `${hex.slice(0, 2 * o.maxBytes)}… (${Math.ceil(hex.length / 2)} bytes)`;
      return `${item.value < 0n ? '-' : ''}0x${shown}`;
    }
    case 0x05: {
      const enumId = ENUM_OF_TAG.get(item.tag) ?? (item.tag === Tag.AttributeValue && attribute !== undefined ? attributeSpec(attribute)?.enumId : undefined);
      return enumeration(item.value, enumId);
    }
    case 0x06:
      return String(item.value);
    case 0x07:
      return item.value.length <= o.maxText ? JSON.stringify(item.value) : `${JSON.stringify(item.value.slice(0, o.maxText))}… (${item.value.length} characters)`;
    case 0x08:
      return bytes(item.value, o.maxBytes);
    case 0x09:
      return dateTime(item.value);
    case 0x0a:
      return `${item.value} s`;
  }
}

// The tag named like an attribute ("Cryptographic Usage Mask" → its tag), for masks in Attribute Values.
function attributeTag(name: string): number {
  for (const [tag, n] of TAG_NAMES) if (n === name) return tag;
  return -1;
}

/** Prints a decoded item tree, one line per item, two spaces per level. */
export function printItem(item: Item, options: PrintOptions = {}): string {
  const o: Required<PrintOptions> = { maxBytes: options.maxBytes ?? 32, maxText: options.maxText ?? 200 };
  const lines: string[] = [];
  const walk = (it: Item, depth: number, attribute: string | undefined) => {
    const head = `${'  '.repeat(depth)}${tagName(it.tag)} (${typeName(it.type)})`;
    if (it.type !== 0x01) {
      lines.push(`${head}: ${value(it, o, attribute)}`);
      return;
    }
    lines.push(`${head}:${it.value.length === 0 ? ' (empty)' : ''}`);
    // KMIP 1.4 §2.1.1: an Attribute's value is typed by its Attribute Name, which comes first.
    let name = attribute;
    for (const c of it.value) {
      if (c.tag === Tag.AttributeName && c.type === 0x07) name = c.value;
      walk(c, depth + 1, name);
    }
  };
  walk(item, 0, undefined);
  return lines.join('\n');
}

/**
 * Prints TTLV bytes: one or more whole items one after another (a message, or a capture of several).
 * Malformed bytes throw the strict decoder's TtlvError, its offset counted from the start of `buf`.
 */
export function printTtlv(buf: Buffer, options: PrintOptions = {}): string {
  if (buf.length === 0) throw new TtlvError(KmipCodes.TTLV_TRUNCATED, 'no bytes to print', 0);
  const out: string[] = [];
  for (let at = 0; at < buf.length; ) {
    if (buf.length - at < 8) throw new TtlvError(KmipCodes.TTLV_TRUNCATED, `${buf.length - at} bytes after the last item, fewer than an item header`, at);
    const length = buf.readUInt32BE(at + 4);
    const end = at + 8 + length + ((8 - (length % 8)) % 8);
    try {
      out.push(printItem(decode(buf.subarray(at, Math.min(end, buf.length))), options));
    } catch (e) {
      if (e instanceof TtlvError && at > 0) throw new TtlvError(e.code, `${e.message.replace(/ \(at byte \d+\)$/, '')} in the item at byte ${at}`, at + e.offset);
      throw e;
    }
    at = end;
  }
  return out.join('\n');
}
