// KMIP 1.4 §4.16 Delete Attribute: removes one attribute instance (index 0 when none is given).
import { KmipError } from '../../errors.js';
import { attributeForVersion, attributeItem, requireSpec } from '../../kmip/attribute-codec.js';
import { textString } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, targetUid } from '../model/access.js';
import { checkClientMayDelete } from '../model/attribute-rules.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export interface DeleteAttributeRequest {
  uid: string;
  name: string;
  index: number;
}

export const deleteAttribute = operation<DeleteAttributeRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const name = p.text(Tag.AttributeName);
    const index = p.optionalInteger(Tag.AttributeIndex) ?? 0;
    p.done();
    requireSpec(name);
    return { uid, name, index };
  },
  run({ uid, name, index }, ctx) {
    const o = ownedObject(ctx, uid);
    const instance = o.attributes.find((x) => x.name === name && x.index === index);
    if (!instance) {
      throw new KmipError(Enum.ResultReason.ItemNotFound, `object ${uid} has no "${name}" with Attribute Index ${index}`);
    }
    checkClientMayDelete(requireSpec(name), name);
    // The response echoes the deleted value (KMIP 1.4 §4.16): it must be expressible in the client's version.
    const shown = attributeForVersion(instance, ctx.version.minor);
    if (!shown) {
      throw new KmipError(Enum.ResultReason.InvalidField, `the value of "${name}" with Attribute Index ${index} is not defined in KMIP 1.${ctx.version.minor}: delete it in a version that defines it`);
    }
    o.attributes = o.attributes.filter((x) => x !== instance);
    saveChange(ctx, o);
    return [textString(Tag.UniqueIdentifier, uid), attributeItem(shown)];
  },
});
