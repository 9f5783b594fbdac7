// KMIP 1.4 §4.17 Get Usage Allocation: reserves uses of a key against its Usage Limits, so that
// clients sharing a key cannot together exceed the limit. Only an Active key before its Protect
// Stop Date may be used.
import { KmipError } from '../errors.js';
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { State, STATE_NAMES } from './lifecycle.js';
import { attrValue, numberAttr, setAttr, touch } from './object-model.js';
import { consume, usageRemaining } from './usage-limits.js';

export function getUsageAllocation(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  const wanted = p.optional(Tag.UsageLimitsCount, 0x03);
  p.done();
  const o = ownedObject(ctx, uid);
  const denied = (m: string) => new KmipError(Enum.ResultReason.PermissionDenied, m);
  if (o.state !== State.Active) throw denied(`object ${uid} is ${STATE_NAMES[o.state]}, not Active`);
  const protectStop = numberAttr(o, 'Protect Stop Date');
  if (protectStop !== undefined && protectStop <= ctx.now) throw denied(`object ${uid} is past its Protect Stop Date`);
  const limits = attrValue(o, 'Usage Limits');
  const remaining = usageRemaining(limits);
  if (wanted !== undefined && remaining !== undefined && limits?.type === 0x01) {
    if (wanted <= 0n) throw new KmipError(Enum.ResultReason.InvalidField, 'Usage Limits Count must be positive');
    if (wanted > remaining) throw denied(`Unable to allocate ${wanted} uses of object ${uid}: ${remaining} remain`);
    setAttr(o, 'Usage Limits', consume(limits, wanted));
    touch(o, ctx.now);
    ctx.store.save(o);
    ctx.wrote = true;
  }
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid)];
}
