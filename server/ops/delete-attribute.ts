// KMIP 1.4 §4.16 Delete Attribute: removes one attribute instance (index 0 when none is given).
import { KmipError } from '../errors.js';
import { attributeItem, requireSpec } from '../kmip/attribute-codec.js';
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { checkClientMayDelete } from './attribute-rules.js';
import { touch } from './object-model.js';

export function deleteAttribute(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  const name = p.required(Tag.AttributeName, 0x07);
  const index = p.optional(Tag.AttributeIndex, 0x02) ?? 0;
  p.done();
  const spec = requireSpec(name);
  const o = ownedObject(ctx, uid);
  const instance = o.attributes.find((x) => x.name === name && x.index === index);
  if (!instance) {
    throw new KmipError(Enum.ResultReason.ItemNotFound, `object ${uid} has no "${name}" with Attribute Index ${index}`);
  }
  checkClientMayDelete(spec, name);
  o.attributes = o.attributes.filter((x) => x !== instance);
  touch(o, ctx.now);
  ctx.store.save(o);
  ctx.wrote = true;
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid), attributeItem(instance)];
}
