// KMIP 1.4 §4.19 Activate: Pre-Active → Active.
import { textString } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';
import { ownedObject, targetUid } from '../model/access.js';
import { activate as activateObject } from '../model/lifecycle.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export interface ActivateRequest {
  uid: string;
}

export const activate = operation<ActivateRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    p.done();
    return { uid };
  },
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    activateObject(o, ctx.now);
    saveChange(ctx, o);
    return [textString(Tag.UniqueIdentifier, uid)];
  },
});
