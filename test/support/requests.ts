// Building Request Messages and reading Response Messages in tests.
import { decode } from '../../server/kmip/decode.js';
import { encode } from '../../server/kmip/encode.js';
import {
  byteString, child, dateTime, enumeration, integer, structure, textString, type Item, type StructureItem,
} from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';

export interface BatchItemSpec {
  operation: number;
  payload: Item[];
  id?: Buffer;
}

export function request(items: BatchItemSpec[], opts: { minor?: number; header?: Item[] } = {}): Buffer {
  const header = structure(Tag.RequestHeader, [
    structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, 1), integer(Tag.ProtocolVersionMinor, opts.minor ?? 4)]),
    ...(opts.header ?? []),
    integer(Tag.BatchCount, items.length),
  ]);
  return encode(
    structure(Tag.RequestMessage, [
      header,
      ...items.map((it) =>
        structure(Tag.BatchItem, [
          enumeration(Tag.Operation, it.operation),
          ...(it.id ? [byteString(Tag.UniqueBatchItemID, it.id)] : []),
          structure(Tag.RequestPayload, it.payload),
        ]),
      ),
    ]),
  );
}

export function attribute(name: string, value: Item, index?: number): StructureItem {
  return structure(Tag.Attribute, [
    textString(Tag.AttributeName, name),
    ...(index !== undefined ? [integer(Tag.AttributeIndex, index)] : []),
    { ...value, tag: Tag.AttributeValue } as Item,
  ]);
}

export const av = {
  enum: (v: number) => enumeration(Tag.AttributeValue, v),
  int: (v: number) => integer(Tag.AttributeValue, v),
  text: (v: string) => textString(Tag.AttributeValue, v),
  date: (v: number) => dateTime(Tag.AttributeValue, v),
  name: (v: string) =>
    structure(Tag.AttributeValue, [textString(Tag.NameValue, v), enumeration(Tag.NameType, Enum.NameType.UninterpretedTextString)]),
};

/** The payload of a Create of an AES key (KMIP 1.4 §4.1), with extra template attributes. */
export function createAesPayload(bits = 256, extra: StructureItem[] = []): Item[] {
  return [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.TemplateAttribute, [
      attribute('Cryptographic Algorithm', av.enum(Enum.CryptographicAlgorithm.AES)),
      attribute('Cryptographic Length', av.int(bits)),
      attribute('Cryptographic Usage Mask', av.int(12)),
      ...extra,
    ]),
  ];
}

export function createAes(bits = 256, extra: StructureItem[] = []): BatchItemSpec {
  return {
    operation: Enum.Operation.Create,
    payload: createAesPayload(bits, extra),
  };
}

export const withUid = (operation: number, uid?: string, more: Item[] = []): BatchItemSpec => ({
  operation,
  payload: [...(uid !== undefined ? [textString(Tag.UniqueIdentifier, uid)] : []), ...more],
});

export interface ParsedItem {
  operation?: number;
  status: number;
  reason?: number;
  message?: string;
  payload?: StructureItem;
  id?: Buffer;
}

export interface ParsedResponse {
  minor: number;
  items: ParsedItem[];
  message: StructureItem;
}

export function parseResponse(buf: Buffer): ParsedResponse {
  const m = decode(buf) as StructureItem;
  const header = child(m, Tag.ResponseHeader) as StructureItem;
  const pv = child(header, Tag.ProtocolVersion) as StructureItem;
  const minor = (child(pv, Tag.ProtocolVersionMinor) as { value: number }).value;
  const items = m.value
    .filter((c) => c.tag === Tag.BatchItem)
    .map((bi) => {
      const s = bi as StructureItem;
      const get = (t: number) => child(s, t);
      const out: ParsedItem = { status: (get(Tag.ResultStatus) as { value: number }).value };
      const op = get(Tag.Operation);
      if (op) out.operation = op.value as number;
      const r = get(Tag.ResultReason);
      if (r) out.reason = r.value as number;
      const msg = get(Tag.ResultMessage);
      if (msg) out.message = msg.value as string;
      const p = get(Tag.ResponsePayload);
      if (p) out.payload = p as StructureItem;
      const id = get(Tag.UniqueBatchItemID);
      if (id) out.id = id.value as Buffer;
      return out;
    });
  return { minor, items, message: m };
}

/** Text of a payload field, or undefined. */
export function field<T = unknown>(payload: StructureItem | undefined, tag: number): T | undefined {
  return payload ? (child(payload, tag)?.value as T | undefined) : undefined;
}
