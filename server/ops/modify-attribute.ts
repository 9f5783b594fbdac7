// KMIP 1.4 §4.15 Modify Attribute: replaces the value of an existing attribute instance.
import { KmipError } from '../errors.js';
import { attributeItem, checkValue, parseAttribute, requireSpec } from '../kmip/attribute-codec.js';
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { checkClientMayChange, checkDates } from './attribute-rules.js';
import { checkProtectionChange } from './key-protection.js';
import { applyScheduledTransitions } from './lifecycle.js';
import { touch } from './object-model.js';

export function modifyAttribute(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  const a = parseAttribute(p.requiredItem(Tag.Attribute, 0x01), 'the Modify Attribute request');
  p.done();
  const spec = requireSpec(a.name);
  checkValue(spec, a.name, a.value!);
  const o = ownedObject(ctx, uid);
  const index = a.index ?? 0;
  const instance = o.attributes.find((x) => x.name === a.name && x.index === index);
  if (!instance) {
    throw new KmipError(Enum.ResultReason.ItemNotFound, `object ${uid} has no "${a.name}" with Attribute Index ${index}`);
  }
  checkClientMayChange(spec, a.name, o, 'modify');
  checkProtectionChange(o, a.name, a.value);
  instance.value = a.value!;
  checkDates(o);
  applyScheduledTransitions(o, ctx.now);
  touch(o, ctx.now);
  ctx.store.save(o);
  ctx.wrote = true;
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid), attributeItem(instance)];
}
