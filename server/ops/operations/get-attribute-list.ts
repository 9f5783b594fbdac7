// KMIP 1.4 §4.13 Get Attribute List: the names of the attributes an object has.
import { textString } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';
import { ownedObject, setPlaceholder, targetUid } from '../model/access.js';
import { visibleAttributes } from '../model/object-model.js';
import { operation } from '../pipeline/operation.js';

export interface GetAttributeListRequest {
  uid: string;
}

export const getAttributeList = operation<GetAttributeListRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    p.done();
    return { uid };
  },
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    const names = [...new Set(visibleAttributes(o.attributes, ctx.version.minor).map((a) => a.name))];
    setPlaceholder(ctx, uid);
    return [textString(Tag.UniqueIdentifier, uid), ...names.map((n) => textString(Tag.AttributeName, n))];
  },
});
