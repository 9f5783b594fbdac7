// Whether a key may serve a cryptographic call now (KMIP 1.4 §3.19 Cryptographic Usage Mask, §3.22
// State and its note on use, §3.25-§3.28 Process Start / Protect Stop Dates, §3.21 Usage Limits):
// protecting (Encrypt, Sign, MAC) needs an Active key before its Protect Stop Date; processing
// (Decrypt, Signature Verify, MAC Verify) also allows a Deactivated or Compromised key, from its
// Process Start Date. Each protecting use counts against the key's Usage Limits, durably.
import { KmipError } from '../../errors.js';
import { ItemType } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import type { StoredObject } from '../../store/key-store.js';
import { ownedObjectWithMaterial } from '../model/access.js';
import { isArchived, isDestroyed, State, STATE_NAMES } from '../model/lifecycle.js';
import { attrValue, numberAttr, setAttr } from '../model/object-model.js';
import { saveChange } from '../model/save-change.js';
import { consume, usageRemaining } from '../model/usage-limits.js';
import type { OpContext } from '../pipeline/context.js';

export type KeyUse = 'protect' | 'process';

const denied = (m: string) => new KmipError(Enum.ResultReason.PermissionDenied, m);
const iso = (s: number) => new Date(s * 1000).toISOString();

/** The key `uid` with its material, checked for `mask` and `use`; a protecting use of `bytes` is counted. */
export function keyForUse(ctx: OpContext, uid: string, o: { mask: number; maskName: string; use: KeyUse; bytes: number }): { object: StoredObject; material: Buffer } {
  const { object: key, material } = ownedObjectWithMaterial(ctx, uid);
  if (isDestroyed(key) || !material) throw new KmipError(Enum.ResultReason.ItemNotFound, `object ${uid} has been destroyed; its key material no longer exists`);
  if (isArchived(key)) throw new KmipError(Enum.ResultReason.ObjectArchived, `object ${uid} is archived; Recover it first`);
  if (((numberAttr(key, 'Cryptographic Usage Mask') ?? 0) & o.mask) === 0) {
    throw denied(`object ${uid} may not ${o.maskName}: its Cryptographic Usage Mask does not allow it`);
  }
  const allowed: number[] = o.use === 'protect' ? [State.Active] : [State.Active, State.Deactivated, State.Compromised];
  if (!allowed.includes(key.state)) {
    throw denied(`object ${uid} is ${STATE_NAMES[key.state]}: ${o.use === 'protect' ? 'only an Active key protects data' : 'a Pre-Active key processes nothing'}`);
  }
  if (o.use === 'protect') {
    const stop = numberAttr(key, 'Protect Stop Date');
    if (stop !== undefined && stop <= ctx.now) throw denied(`object ${uid} passed its Protect Stop Date (${iso(stop)}): it may still decrypt and verify, not protect`);
    countUse(ctx, key, o.bytes);
  } else {
    const start = numberAttr(key, 'Process Start Date');
    if (start !== undefined && start > ctx.now) throw denied(`object ${uid} may process data from its Process Start Date (${iso(start)})`);
  }
  return { object: key, material };
}

/** §3.21: a use (Object) or `bytes` (Byte) less remaining, saved with the request; refused when too few remain. */
function countUse(ctx: OpContext, key: StoredObject, bytes: number): void {
  const limits = attrValue(key, 'Usage Limits');
  const remaining = usageRemaining(limits);
  if (remaining === undefined || limits?.type !== ItemType.Structure) return;
  const unit = limits.value.find((c) => c.tag === Tag.UsageLimitsUnit);
  const n = unit?.type === ItemType.Enumeration && unit.value === Enum.UsageLimitsUnit.Byte ? BigInt(bytes) : 1n;
  if (n > remaining) throw denied(`object ${key.uid} has ${remaining} ${n === 1n ? 'uses' : 'bytes'} left of its Usage Limits; this needs ${n}`);
  setAttr(key, 'Usage Limits', consume(limits, n));
  saveChange(ctx, key);
}
