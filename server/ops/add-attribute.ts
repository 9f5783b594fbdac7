// KMIP 1.4 §4.14 Add Attribute: a new attribute, or a new instance of a multi-instance one.
import { KmipError } from '../errors.js';
import { attributeItem, checkValue, parseAttribute, requireSpec } from '../kmip/attribute-codec.js';
import { textString, type Item } from '../kmip/item.js';
import { invalidField, type StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { checkClientMayChange, checkDates } from './attribute-rules.js';
import { checkProtectionChange } from './key-protection.js';
import { applyScheduledTransitions } from './lifecycle.js';
import { addAttr, attrs, touch } from './object-model.js';
import { withUsageCount } from './usage-limits.js';

export function addAttribute(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  const a = parseAttribute(p.requiredItem(Tag.Attribute, 0x01), 'the Add Attribute request');
  p.done();
  if (a.index !== undefined) throw invalidField('Add Attribute assigns the Attribute Index itself; do not send one');
  const spec = requireSpec(a.name);
  checkValue(spec, a.name, a.value!);
  const o = ownedObject(ctx, uid);
  checkClientMayChange(spec, a.name, o, 'add');
  checkProtectionChange(o, a.name, a.value);
  if (!spec.multi && attrs(o, a.name).length > 0) {
    throw new KmipError(
      Enum.ResultReason.IllegalOperation,
      `"${a.name}" already exists and has a single instance; use Modify Attribute to change it`,
    );
  }
  const added = addAttr(o, a.name, withUsageCount(a.name, a.value!));
  checkDates(o);
  applyScheduledTransitions(o, ctx.now);
  touch(o, ctx.now);
  ctx.store.save(o);
  ctx.wrote = true;
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid), attributeItem(added)];
}
