// Strict reading of a decoded structure: every field is looked up by tag and type, every field the
// caller did not read is an error, and every error names the field and says what was expected.
import { KmipError } from './errors.js';
import { ITEM_TYPE_NAMES, ItemType, type Item, type StructureItem } from './item.js';
import { Enum, TAG_NAMES } from './tables.js';

type ValueOf<T extends number> = Extract<Item, { type: T }>['value'];

export function tagName(tag: number): string {
  return TAG_NAMES.get(tag) ?? `tag 0x${tag.toString(16).padStart(6, '0')}`;
}

export function invalidField(message: string): KmipError {
  return new KmipError(Enum.ResultReason.InvalidField, message);
}

export function invalidMessage(message: string): KmipError {
  return new KmipError(Enum.ResultReason.InvalidMessage, message);
}

export class StructReader {
  private readonly used: boolean[];

  constructor(
    readonly item: StructureItem,
    /** Where this structure sits, for messages ("Create request payload"). */
    readonly where: string,
  ) {
    this.used = new Array(item.value.length).fill(false);
  }

  static of(item: Item | undefined, where: string): StructReader {
    if (!item || item.type !== 0x01) throw invalidMessage(`${where} must be a Structure`);
    return new StructReader(item, where);
  }

  /** Every instance of a field, in order, each checked for its type. */
  all<T extends number>(tag: number, type: T): Extract<Item, { type: T }>[] {
    const out: Extract<Item, { type: T }>[] = [];
    this.item.value.forEach((c, i) => {
      if (c.tag !== tag) return;
      if (c.type !== type) {
        throw invalidField(
          `${tagName(tag)} in ${this.where} must be ${ITEM_TYPE_NAMES.get(type)}, not ${ITEM_TYPE_NAMES.get(c.type)}`,
        );
      }
      this.used[i] = true;
      out.push(c as Extract<Item, { type: T }>);
    });
    return out;
  }

  /** A field that may appear at most once. */
  optionalItem<T extends number>(tag: number, type: T): Extract<Item, { type: T }> | undefined {
    const found = this.all(tag, type);
    if (found.length > 1) throw invalidField(`${tagName(tag)} appears ${found.length} times in ${this.where}; at most once is allowed`);
    return found[0];
  }

  optional<T extends number>(tag: number, type: T): ValueOf<T> | undefined {
    return this.optionalItem(tag, type)?.value as ValueOf<T> | undefined;
  }

  requiredItem<T extends number>(tag: number, type: T): Extract<Item, { type: T }> {
    const it = this.optionalItem(tag, type);
    if (!it) throw invalidMessage(`${this.where} lacks the required ${tagName(tag)}`);
    return it;
  }

  required<T extends number>(tag: number, type: T): ValueOf<T> {
    return this.requiredItem(tag, type).value as ValueOf<T>;
  }

  optionalStruct(tag: number, where?: string): StructReader | undefined {
    const it = this.optionalItem(tag, 0x01);
    return it ? new StructReader(it, where ?? `${tagName(tag)} in ${this.where}`) : undefined;
  }

  requiredStruct(tag: number, where?: string): StructReader {
    return new StructReader(this.requiredItem(tag, 0x01), where ?? `${tagName(tag)} in ${this.where}`);
  }

  // Typed readers (KMIP 1.4 §9.1.1.2 Item Types): a required field by its type, or undefined when
  // an optional one is absent. Each still refuses a field of another type (Invalid Field).
  text(tag: number): string { return this.required(tag, ItemType.TextString); }
  optionalText(tag: number): string | undefined { return this.optional(tag, ItemType.TextString); }
  enumeration(tag: number): number { return this.required(tag, ItemType.Enumeration); }
  optionalEnumeration(tag: number): number | undefined { return this.optional(tag, ItemType.Enumeration); }
  optionalInteger(tag: number): number | undefined { return this.optional(tag, ItemType.Integer); }
  optionalLongInteger(tag: number): bigint | undefined { return this.optional(tag, ItemType.LongInteger); }
  bytes(tag: number): Buffer { return this.required(tag, ItemType.ByteString); }
  optionalDateTime(tag: number): number | undefined { return this.optional(tag, ItemType.DateTime); }
  optionalInterval(tag: number): number | undefined { return this.optional(tag, ItemType.Interval); }
  /** The structure item itself (kept whole, e.g. an object value), when present. */
  structureItem(tag: number): StructureItem { return this.requiredItem(tag, ItemType.Structure); }
  optionalStructureItem(tag: number): StructureItem | undefined { return this.optionalItem(tag, ItemType.Structure); }
  /** Every instance of a repeated field. */
  allStructures(tag: number): StructureItem[] { return this.all(tag, ItemType.Structure); }
  allTexts(tag: number): string[] { return this.all(tag, ItemType.TextString).map((i) => i.value); }
  allEnumerations(tag: number): number[] { return this.all(tag, ItemType.Enumeration).map((i) => i.value); }

  /** Marks fields this server accepts but does not act on (any type), so done() does not refuse them. */
  ignore(...tags: number[]): void {
    this.item.value.forEach((c, i) => {
      if (tags.includes(c.tag)) this.used[i] = true;
    });
  }

  /** Refuses any field nobody read. Vendor extensions (0x54xxxx tags) are tolerated. */
  done(): void {
    this.item.value.forEach((c, i) => {
      if (!this.used[i] && c.tag >>> 16 !== 0x54) {
        throw invalidField(`unexpected ${tagName(c.tag)} in ${this.where}`);
      }
    });
  }
}
