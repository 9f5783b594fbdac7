// KMIP 1.4 §4.12 Get Attributes: the named attributes of an object, in the order named; an
// attribute the object lacks is simply not returned. Without names, every attribute.
import { attributeForVersion, attributeItem, type Attribute } from '../kmip/attribute-codec.js';
import { textString, type Item } from '../kmip/item.js';
import { invalidMessage, type StructReader } from '../kmip/reader.js';
import { Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { attrs } from './object-model.js';

/** The attributes a client of the request's version can see, in a stable order. */
export function visibleAttributes(list: Attribute[], minor: number): Attribute[] {
  const out: Attribute[] = [];
  for (const a of list) {
    const v = attributeForVersion(a, minor);
    if (v) out.push(v);
  }
  return out;
}

export function getAttributes(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  const names = p.all(Tag.AttributeName, 0x07).map((n) => n.value);
  p.done();
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw invalidMessage(`Attribute Name specified more than once: ${n}`);
    seen.add(n);
  }
  const o = ownedObject(ctx, uid);
  const selected = names.length === 0 ? o.attributes : names.flatMap((n) => attrs(o, n));
  setPlaceholder(ctx, uid);
  return [
    textString(Tag.UniqueIdentifier, uid),
    ...visibleAttributes(selected, ctx.version.minor).map((a) => attributeItem(a)),
  ];
}
