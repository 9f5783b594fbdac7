// KMIP 1.4 §4.22 Archive: an archived object keeps its metadata on-line but its value is
// unavailable (Get answers Object Archived) until it is recovered (recover.ts). Keyhaven keeps
// archived objects in the same store; "archived" is the presence of the Archive Date (§3.32).
import { KmipError } from '../../errors.js';
import { textString } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, parseTarget, type TargetRequest } from '../model/access.js';
import { isArchived, isDestroyed } from '../model/lifecycle.js';
import { av, setAttr } from '../model/object-model.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export type ArchiveRequest = TargetRequest;

export const archive = operation<ArchiveRequest>({
  parse: parseTarget,
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    if (isDestroyed(o)) throw new KmipError(Enum.ResultReason.PermissionDenied, `object ${uid} is destroyed`);
    if (isArchived(o)) throw new KmipError(Enum.ResultReason.IllegalOperation, `object ${o.uid} is already archived`);
    setAttr(o, 'Archive Date', av.date(ctx.now));
    saveChange(ctx, o);
    return [textString(Tag.UniqueIdentifier, uid)];
  },
});
