// KMIP 1.4 §4.12 Get Attributes: the named attributes of an object, in the order named; an
// attribute the object lacks is simply not returned. Without names, every attribute.
import { attributeItem } from '../../kmip/attribute-codec.js';
import { textString } from '../../kmip/item.js';
import { invalidMessage } from '../../kmip/reader.js';
import { Tag } from '../../kmip/tables.js';
import { ownedObject, setPlaceholder, targetUid } from '../model/access.js';
import { attrs, visibleAttributes } from '../model/object-model.js';
import { operation } from '../pipeline/operation.js';

export interface GetAttributesRequest {
  uid: string;
  /** Empty: every attribute. */
  names: string[];
}

export const getAttributes = operation<GetAttributesRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const names = p.allTexts(Tag.AttributeName);
    p.done();
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) throw invalidMessage(`Attribute Name specified more than once: ${n}`);
      seen.add(n);
    }
    return { uid, names };
  },
  run({ uid, names }, ctx) {
    const o = ownedObject(ctx, uid);
    const selected = names.length === 0 ? o.attributes : names.flatMap((n) => attrs(o, n));
    setPlaceholder(ctx, uid);
    return [
      textString(Tag.UniqueIdentifier, uid),
      ...visibleAttributes(selected, ctx.version.minor).map((a) => attributeItem(a)),
    ];
  },
});
