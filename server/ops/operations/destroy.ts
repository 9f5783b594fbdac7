// KMIP 1.4 §4.21 Destroy: the key material is erased; the object's metadata stays, in state
// Destroyed (or Destroyed Compromised), as NIST SP 800-57 Part 1 §7.3 keeps a destroyed key's record.
import { textString } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';
import { ownedObject, parseTarget, type TargetRequest } from '../model/access.js';
import { destroy as destroyObject } from '../model/lifecycle.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export type DestroyRequest = TargetRequest;

export const destroy = operation<DestroyRequest>({
  parse: parseTarget,
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    destroyObject(o, ctx.now);
    saveChange(ctx, o, { destroyMaterial: true });
    return [textString(Tag.UniqueIdentifier, uid)];
  },
});
