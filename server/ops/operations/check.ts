// KMIP 1.4 §4.10 Check: whether an object may be used as the client intends. A failed check is an
// Operation Failed response whose payload names the object and the parameter that failed.
import { integer, interval, longInteger, textString, type Item } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, setPlaceholder, targetUid } from '../model/access.js';
import { State, STATE_NAMES } from '../model/lifecycle.js';
import { attrValue, numberAttr } from '../model/object-model.js';
import { usageRemaining } from '../model/usage-limits.js';
import { FailureWithPayload } from '../pipeline/failure-with-payload.js';
import { operation } from '../pipeline/operation.js';

export interface CheckRequest {
  uid: string;
  usageCount?: bigint;
  usageMask?: number;
  leaseTime?: number;
}

export const check = operation<CheckRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const usageCount = p.optionalLongInteger(Tag.UsageLimitsCount);
    const usageMask = p.optionalInteger(Tag.CryptographicUsageMask);
    const leaseTime = p.optionalInterval(Tag.LeaseTime);
    p.done();
    return { uid, usageCount, usageMask, leaseTime };
  },
  run({ uid, usageCount, usageMask: mask, leaseTime: lease }, ctx) {
    const o = ownedObject(ctx, uid);
    setPlaceholder(ctx, uid);
    const id = textString(Tag.UniqueIdentifier, uid);
    const failed = (message: string, field?: Item) =>
      new FailureWithPayload(Enum.ResultReason.PermissionDenied, message, field ? [id, field] : [id]);
    if (o.state !== State.Active) throw failed(`object ${uid} is ${STATE_NAMES[o.state]}, not Active`);
    if (mask !== undefined) {
      const have = numberAttr(o, 'Cryptographic Usage Mask') ?? 0;
      if ((have & mask) !== mask) {
        throw failed(`object ${uid} does not allow that cryptographic usage`, integer(Tag.CryptographicUsageMask, mask));
      }
    }
    if (usageCount !== undefined) {
      const remaining = usageRemaining(attrValue(o, 'Usage Limits'));
      if (remaining !== undefined && remaining < usageCount) {
        throw failed(`object ${uid} has only ${remaining} uses left`, longInteger(Tag.UsageLimitsCount, usageCount));
      }
    }
    if (lease !== undefined) {
      const allowed = numberAttr(o, 'Lease Time');
      if (allowed !== undefined && lease > allowed) {
        throw failed(`object ${uid} allows a lease of at most ${allowed} s`, interval(Tag.LeaseTime, lease));
      }
    }
    return [id];
  },
});
