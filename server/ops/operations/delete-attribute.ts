// KMIP 1.4 §4.16 Delete Attribute: removes one attribute instance (index 0 when none is given).
import { KmipError } from '../../errors.js';
import { attributeItem, requireSpec } from '../../kmip/attribute-codec.js';
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
    o.attributes = o.attributes.filter((x) => x !== instance);
    saveChange(ctx, o);
    return [textString(Tag.UniqueIdentifier, uid), attributeItem(instance)];
  },
});
