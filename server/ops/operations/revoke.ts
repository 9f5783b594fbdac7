// KMIP 1.4 §4.20 Revoke: deactivates an object, or marks it compromised.
import { textString } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';
import { ownedObject, targetUid } from '../model/access.js';
import { revoke as revokeObject } from '../model/lifecycle.js';
import { saveChange } from '../model/save-change.js';
import { operation } from '../pipeline/operation.js';

export interface RevokeRequest {
  uid: string;
  /** KMIP 1.4 §3.31 Revocation Reason. */
  reason: { code: number; message?: string };
  compromiseOccurrence?: number;
}

export const revoke = operation<RevokeRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const r = p.requiredStruct(Tag.RevocationReason, 'Revocation Reason');
    const reason: RevokeRequest['reason'] = { code: r.enumeration(Tag.RevocationReasonCode) };
    const message = r.optionalText(Tag.RevocationMessage);
    if (message !== undefined) reason.message = message;
    r.done();
    const occurrence = p.optionalDateTime(Tag.CompromiseOccurrenceDate);
    p.done();
    return { uid, reason, compromiseOccurrence: occurrence };
  },
  run(req, ctx) {
    const o = ownedObject(ctx, req.uid);
    revokeObject(o, ctx.now, req.reason, req.compromiseOccurrence);
    saveChange(ctx, o);
    return [textString(Tag.UniqueIdentifier, req.uid)];
  },
});
