// KMIP 1.4 §4.19 Activate: Pre-Active → Active.
import { textString } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';
import { ownedObject, parseTarget, type TargetRequest } from '../model/access.js';
import { activate as activateObject } from '../model/lifecycle.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export type ActivateRequest = TargetRequest;

export const activate = operation<ActivateRequest>({
  parse: parseTarget,
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    activateObject(o, ctx.now);
    saveChange(ctx, o);
    return [textString(Tag.UniqueIdentifier, uid)];
  },
});
