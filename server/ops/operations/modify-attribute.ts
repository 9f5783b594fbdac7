// KMIP 1.4 §4.15 Modify Attribute: replaces the value of an existing attribute instance.
import { KmipError } from '../../errors.js';
import { attributeItem, checkValue, parseAttribute, requireSpec } from '../../kmip/attribute-codec.js';
import { textString, type Item } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, targetUid } from '../model/access.js';
import { checkClientMayChange } from '../model/attribute-rules.js';
import { checkProtectionChange } from '../model/key-protection.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export interface ModifyAttributeRequest {
  uid: string;
  name: string;
  /** KMIP 1.4 §4.15: index 0 when the client gives none. */
  index: number;
  value: Item;
}

export const modifyAttribute = operation<ModifyAttributeRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const a = parseAttribute(p.structureItem(Tag.Attribute), 'the Modify Attribute request');
    p.done();
    checkValue(requireSpec(a.name), a.name, a.value!, ctx.version.minor);
    return { uid, name: a.name, index: a.index ?? 0, value: a.value! };
  },
  run({ uid, name, index, value }, ctx) {
    const o = ownedObject(ctx, uid);
    const instance = o.attributes.find((x) => x.name === name && x.index === index);
    if (!instance) {
      throw new KmipError(Enum.ResultReason.ItemNotFound, `object ${uid} has no "${name}" with Attribute Index ${index}`);
    }
    checkClientMayChange(requireSpec(name), name, o, 'modify');
    checkProtectionChange(o, name, value);
    instance.value = value;
    saveChange(ctx, o, { datesChanged: true });
    return [textString(Tag.UniqueIdentifier, uid), attributeItem(instance)];
  },
});
