// Reads an OASIS KMIP test case in its XML form (KMIP Additional Message Encodings §5: one element
// per item, named after the tag, with type= and value=) into request/response pairs of TTLV items.
// Values that depend on the run — $UNIQUE_IDENTIFIER_n, $NOW±s and friends — stay symbolic here and
// are resolved by the runner. The XML is read with lib/xml.ts (saxes): strict, no DTD.
import { readFileSync } from 'node:fs';
import { attributeValue, childElements, readXml, XmlSyntaxError, type XmlElement } from '../../lib/xml.js';
import { attributeSpec } from '../../server/kmip/attributes.js';
import type { Item, ItemTypeCode } from '../../server/kmip/item.js';
import { ENUM_OF_TAG, ENUM_VALUE_NAMES, MASK_OF_TAG, MASK_VALUE_NAMES, Tag, TAG_NAMES, type EnumId, type MaskId } from '../../server/kmip/tables.js';

/** A value the runner fills in: a placeholder in a request, or a binding/comparison in a response. */
export interface Symbolic {
  symbol: string;
}

/** An item whose value may still be symbolic. */
export type XItem = (Item | (Omit<Item, 'value'> & { value: Symbolic })) & { line: number };

export interface Exchange {
  request: XItem;
  response: XItem | undefined;
}

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

const TAG_BY_NAME = new Map<string, number>();
for (const [tag, name] of TAG_NAMES) TAG_BY_NAME.set(normalise(name), tag);

const ENUM_ALIASES: Record<string, string> = { des3: '3des' };

function enumValue(enumId: EnumId, text: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text, 16);
  const want = normalise(text);
  for (const [v, name] of ENUM_VALUE_NAMES[enumId]) {
    const n = normalise(name);
    if (n === want || n === ENUM_ALIASES[want]) return v;
  }
  return undefined;
}

function maskValue(maskId: MaskId, text: string): number | undefined {
  let v = 0;
  for (const word of text.trim().split(/\s+/)) {
    const w = normalise(word);
    const bit = [...MASK_VALUE_NAMES[maskId]].find(([, name]) => normalise(name) === w)?.[0];
    if (bit === undefined) return undefined;
    v |= bit;
  }
  return v;
}

const TYPES: Record<string, ItemTypeCode> = {
  Structure: 0x01, Integer: 0x02, LongInteger: 0x03, BigInteger: 0x04, Enumeration: 0x05,
  Boolean: 0x06, TextString: 0x07, ByteString: 0x08, DateTime: 0x09, Interval: 0x0a,
};

/** Converts an element to a TTLV item; `attributeName` gives context for Attribute Values. */
function toItem(el: XmlElement, file: string, attributeName?: string): XItem {
  const where = `${file}:${el.line}`;
  const attr = (name: string) => attributeValue(el, null, name);
  const tag = el.name === 'TTLV' ? parseInt(attr('tag') ?? '', 16) : TAG_BY_NAME.get(normalise(el.name));
  if (tag === undefined || Number.isNaN(tag)) throw new Error(`${where}: unknown tag <${el.name}>`);
  const typeName = attr('type') ?? 'Structure';
  const type = TYPES[typeName];
  if (type === undefined) throw new Error(`${where}: unknown type ${typeName}`);
  if (type === 0x01) {
    let name = attributeName;
    const value: XItem[] = [];
    for (const c of childElements(el)) {
      const it = toItem(c, file, name);
      if (it.tag === Tag.AttributeName && it.type === 0x07 && typeof it.value === 'string') name = it.value;
      value.push(it);
    }
    return { tag, type: 0x01, value, line: el.line } as XItem;
  }
  const raw = attr('value') ?? '';
  // Runs of spaces inside values are artefacts of the documents these files were made from.
  const text = type === 0x07 ? raw.replace(/ {2,}/g, ' ') : raw.trim();
  const sym = (symbol: string) => ({ tag, type, value: { symbol }, line: el.line }) as XItem;
  if (text.startsWith('$')) return sym(text);
  const ok = (value: unknown) => ({ tag, type, value, line: el.line }) as XItem;
  switch (type) {
    case 0x02: {
      if (/^-?\d+$/.test(text)) return ok(Number(text));
      if (/^0x[0-9a-f]+$/i.test(text)) return ok(parseInt(text, 16) | 0);
      const maskId = MASK_OF_TAG.get(tag) ?? (attributeName ? MASK_OF_TAG.get(TAG_BY_NAME.get(normalise(attributeName)) ?? -1) : undefined);
      const v = maskId ? maskValue(maskId, text) : undefined;
      if (v === undefined) throw new Error(`${where}: cannot read Integer "${text}"`);
      return ok(v);
    }
    case 0x03:
      return ok(BigInt(text));
    case 0x04:
      return ok(BigInt.asIntN(Math.max(8, text.length * 4), BigInt(`0x${text || '0'}`)));
    case 0x05: {
      const enumId = ENUM_OF_TAG.get(tag) ?? (tag === Tag.AttributeValue && attributeName ? attributeSpec(attributeName)?.enumId : undefined);
      const v = enumId ? enumValue(enumId, text) : /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : undefined;
      if (v === undefined) throw new Error(`${where}: cannot read Enumeration "${text}" (${enumId ?? 'no enumeration for this tag'})`);
      return ok(v);
    }
    case 0x06:
      if (text !== 'true' && text !== 'false') throw new Error(`${where}: Boolean "${text}"`);
      return ok(text === 'true');
    case 0x07:
      return ok(text);
    case 0x08:
      if (!/^([0-9a-f]{2})*$/i.test(text)) throw new Error(`${where}: ByteString "${text}" is not hex`);
      return ok(Buffer.from(text, 'hex'));
    case 0x09: {
      const t = Date.parse(text);
      if (Number.isNaN(t)) throw new Error(`${where}: DateTime "${text}"`);
      return ok(Math.floor(t / 1000));
    }
    default:
      return ok(Number(text));
  }
}

/**
 * Reads a test case (its text; `file` names it in messages) into its request/response exchanges, in
 * order. Text between the messages (the "# TIME n" lines) is not part of the case.
 */
export function parseTestCase(text: string, file: string): Exchange[] {
  let kmip: XmlElement;
  try {
    kmip = readXml(text);
  } catch (e) {
    throw e instanceof XmlSyntaxError ? new Error(`${file}: ${e.message}`, { cause: e }) : e;
  }
  if (kmip.name !== 'KMIP') throw new Error(`${file}: the root element is <${kmip.name}>, not <KMIP>`);
  const out: Exchange[] = [];
  for (const el of childElements(kmip)) {
    if (el.name === 'RequestMessage') out.push({ request: toItem(el, file), response: undefined });
    else if (el.name === 'ResponseMessage') {
      const last = out[out.length - 1];
      if (!last || last.response) throw new Error(`${file}:${el.line}: a ResponseMessage without its RequestMessage`);
      last.response = toItem(el, file);
    } else throw new Error(`${file}:${el.line}: unexpected <${el.name}>`);
  }
  return out;
}

/** Reads a test case file into its request/response exchanges, in order. */
export function readTestCase(file: string): Exchange[] {
  return parseTestCase(readFileSync(file, 'utf8'), file);
}
