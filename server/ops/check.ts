// KMIP 1.4 §4.10 Check: whether an object may be used as the client intends. A failed check is an
// Operation Failed response whose payload names the object and the parameter that failed.
import { FailureWithPayload } from './failure-with-payload.js';
import { integer, longInteger, textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { State, STATE_NAMES } from './lifecycle.js';
import { attrValue, numberAttr } from './object-model.js';

export function check(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  const usageCount = p.optional(Tag.UsageLimitsCount, 0x03);
  const mask = p.optional(Tag.CryptographicUsageMask, 0x02);
  const lease = p.optional(Tag.LeaseTime, 0x0a);
  p.done();
  const o = ownedObject(ctx, uid);
  setPlaceholder(ctx, uid);
  const id = textString(Tag.UniqueIdentifier, uid);
  if (o.state !== State.Active) {
    throw new FailureWithPayload(Enum.ResultReason.PermissionDenied, `object ${uid} is ${STATE_NAMES[o.state]}, not Active`, [id]);
  }
  if (mask !== undefined) {
    const have = numberAttr(o, 'Cryptographic Usage Mask') ?? 0;
    if ((have & mask) !== mask) {
      throw new FailureWithPayload(Enum.ResultReason.PermissionDenied, `object ${uid} does not allow that cryptographic usage`, [
        id,
        integer(Tag.CryptographicUsageMask, mask),
      ]);
    }
  }
  if (usageCount !== undefined) {
    const limits = attrValue(o, 'Usage Limits');
    const remaining = limits?.type === 0x01 ? limits.value.find((f) => f.tag === Tag.UsageLimitsCount) : undefined;
    if (remaining?.type === 0x03 && remaining.value < usageCount) {
      throw new FailureWithPayload(Enum.ResultReason.PermissionDenied, `object ${uid} has only ${remaining.value} uses left`, [
        id,
        longInteger(Tag.UsageLimitsCount, usageCount),
      ]);
    }
  }
  if (lease !== undefined) {
    const allowed = numberAttr(o, 'Lease Time');
    if (allowed !== undefined && lease > allowed) {
      throw new FailureWithPayload(Enum.ResultReason.PermissionDenied, `object ${uid} allows a lease of at most ${allowed} s`, [
        id,
        { tag: Tag.LeaseTime, type: 0x0a, value: lease },
      ]);
    }
  }
  return [id];
}
