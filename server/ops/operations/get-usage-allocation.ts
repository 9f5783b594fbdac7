// KMIP 1.4 §4.17 Get Usage Allocation: reserves uses of a key against its Usage Limits, so that
// clients sharing a key cannot together exceed the limit. Only an Active key before its Protect
// Stop Date may be used.
import { KmipError } from '../../errors.js';
import { ItemType, textString } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, setPlaceholder, targetUid } from '../model/access.js';
import { State, STATE_NAMES } from '../model/lifecycle.js';
import { attrValue, numberAttr, setAttr } from '../model/object-model.js';
import { saveChange } from '../model/save-change.js';
import { consume, usageRemaining } from '../model/usage-limits.js';
import { operation } from '../pipeline/operation.js';

export interface GetUsageAllocationRequest {
  uid: string;
  usageCount?: bigint;
}

export const getUsageAllocation = operation<GetUsageAllocationRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const usageCount = p.optionalLongInteger(Tag.UsageLimitsCount);
    p.done();
    return { uid, usageCount };
  },
  run({ uid, usageCount: wanted }, ctx) {
    const o = ownedObject(ctx, uid);
    const denied = (m: string) => new KmipError(Enum.ResultReason.PermissionDenied, m);
    if (o.state !== State.Active) throw denied(`object ${uid} is ${STATE_NAMES[o.state]}, not Active`);
    const protectStop = numberAttr(o, 'Protect Stop Date');
    if (protectStop !== undefined && protectStop <= ctx.now) throw denied(`object ${uid} is past its Protect Stop Date`);
    const limits = attrValue(o, 'Usage Limits');
    const remaining = usageRemaining(limits);
    if (wanted !== undefined && remaining !== undefined && limits?.type === ItemType.Structure) {
      if (wanted <= 0n) throw new KmipError(Enum.ResultReason.InvalidField, 'Usage Limits Count must be positive');
      if (wanted > remaining) throw denied(`Unable to allocate ${wanted} uses of object ${uid}: ${remaining} remain`);
      setAttr(o, 'Usage Limits', consume(limits, wanted));
      saveChange(ctx, o);
    }
    setPlaceholder(ctx, uid);
    return [textString(Tag.UniqueIdentifier, uid)];
  },
});
