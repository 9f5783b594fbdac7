// KMIP 1.4 §4.13 Get Attribute List: the names of the attributes an object has.
import { textString } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';
import { ownedObject, setPlaceholder, parseTarget, type TargetRequest } from '../model/access.js';
import { visibleAttributes } from '../model/object-model.js';
import { operation } from '../pipeline/operation.js';

export type GetAttributeListRequest = TargetRequest;

export const getAttributeList = operation<GetAttributeListRequest>({
  parse: parseTarget,
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    const names = [...new Set(visibleAttributes(o.attributes, ctx.version.minor).map((a) => a.name))];
    setPlaceholder(ctx, uid);
    return [textString(Tag.UniqueIdentifier, uid), ...names.map((n) => textString(Tag.AttributeName, n))];
  },
});
