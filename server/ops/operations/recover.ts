// KMIP 1.4 §4.23 Recover: an archived object (archive.ts) comes back on-line; its Archive Date goes.
import { KmipError } from '../../errors.js';
import { textString } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, targetUid } from '../model/access.js';
import { isArchived, isDestroyed } from '../model/lifecycle.js';
import { removeAttr } from '../model/object-model.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export interface RecoverRequest {
  uid: string;
}

export const recover = operation<RecoverRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    p.done();
    return { uid };
  },
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    if (isDestroyed(o)) throw new KmipError(Enum.ResultReason.PermissionDenied, `object ${uid} is destroyed`);
    if (!isArchived(o)) throw new KmipError(Enum.ResultReason.IllegalOperation, `object ${o.uid} is not archived`);
    removeAttr(o, 'Archive Date');
    saveChange(ctx, o);
    return [textString(Tag.UniqueIdentifier, uid)];
  },
});
