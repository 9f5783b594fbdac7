// The TTLV item model: one plain object per Tag-Type-Length-Value item (KMIP 1.4 §9.1.1).
// Pure: this module and the codec import nothing but Node's Buffer.

/** Item Type codes, KMIP 1.4 §9.1.1.2. */
export const ItemType = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
} as const;
export type ItemTypeName = keyof typeof ItemType;
export type ItemTypeCode = (typeof ItemType)[ItemTypeName];

export const ITEM_TYPE_NAMES: ReadonlyMap<number, ItemTypeName> = new Map(
  (Object.entries(ItemType) as [ItemTypeName, number][]).map(([k, v]) => [v, k]),
);

export interface StructureItem { tag: number; type: 0x01; value: Item[] }
/** Signed 32-bit. */
export interface IntegerItem { tag: number; type: 0x02; value: number }
/** Signed 64-bit. */
export interface LongIntegerItem { tag: number; type: 0x03; value: bigint }
/** Signed, arbitrary length, two's complement. */
export interface BigIntegerItem { tag: number; type: 0x04; value: bigint }
/** Unsigned 32-bit. */
export interface EnumerationItem { tag: number; type: 0x05; value: number }
export interface BooleanItem { tag: number; type: 0x06; value: boolean }
export interface TextStringItem { tag: number; type: 0x07; value: string }
export interface ByteStringItem { tag: number; type: 0x08; value: Buffer }
/** Seconds since the POSIX epoch (signed 64-bit on the wire; kept within Number's safe range). */
export interface DateTimeItem { tag: number; type: 0x09; value: number }
/** Unsigned 32-bit seconds. */
export interface IntervalItem { tag: number; type: 0x0a; value: number }

export type Item =
  | StructureItem
  | IntegerItem
  | LongIntegerItem
  | BigIntegerItem
  | EnumerationItem
  | BooleanItem
  | TextStringItem
  | ByteStringItem
  | DateTimeItem
  | IntervalItem;

// Constructors. Range checks live in the encoder, which is the one place values reach the wire.
export const structure = (tag: number, value: Item[]): StructureItem => ({ tag, type: 0x01, value });
export const integer = (tag: number, value: number): IntegerItem => ({ tag, type: 0x02, value });
export const longInteger = (tag: number, value: bigint): LongIntegerItem => ({ tag, type: 0x03, value });
export const bigInteger = (tag: number, value: bigint): BigIntegerItem => ({ tag, type: 0x04, value });
export const enumeration = (tag: number, value: number): EnumerationItem => ({ tag, type: 0x05, value });
export const boolean = (tag: number, value: boolean): BooleanItem => ({ tag, type: 0x06, value });
export const textString = (tag: number, value: string): TextStringItem => ({ tag, type: 0x07, value });
export const byteString = (tag: number, value: Buffer): ByteStringItem => ({ tag, type: 0x08, value });
export const dateTime = (tag: number, value: number): DateTimeItem => ({ tag, type: 0x09, value });
export const interval = (tag: number, value: number): IntervalItem => ({ tag, type: 0x0a, value });

/** First child of a structure with the given tag. */
export function child(s: StructureItem, tag: number): Item | undefined {
  for (const c of s.value) if (c.tag === tag) return c;
  return undefined;
}

/** All children of a structure with the given tag, in order. */
export function children(s: StructureItem, tag: number): Item[] {
  return s.value.filter((c) => c.tag === tag);
}

/** Deep equality of two items (tag, type and value, recursively). */
export function itemsEqual(a: Item, b: Item): boolean {
  if (a.tag !== b.tag || a.type !== b.type) return false;
  switch (a.type) {
    case 0x01: {
      const bv = (b as StructureItem).value;
      if (a.value.length !== bv.length) return false;
      for (let i = 0; i < a.value.length; i++) if (!itemsEqual(a.value[i]!, bv[i]!)) return false;
      return true;
    }
    case 0x08:
      return a.value.equals((b as ByteStringItem).value);
    default:
      return a.value === b.value;
  }
}
