// KMIP 1.4 §4.13 Get Attribute List: the names of the attributes an object has.
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { visibleAttributes } from './get-attributes.js';

export function getAttributeList(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  p.done();
  const o = ownedObject(ctx, uid);
  const names = [...new Set(visibleAttributes(o.attributes, ctx.version.minor).map((a) => a.name))];
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid), ...names.map((n) => textString(Tag.AttributeName, n))];
}
