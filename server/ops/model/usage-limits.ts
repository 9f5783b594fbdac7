// Usage Limits (KMIP 1.4 §3.21): a total the client sets, and a count of what remains, which the
// server starts at the total and lowers as Get Usage Allocation hands out uses.
import { longInteger, type Item, ItemType } from '../../kmip/item.js';
import { Tag } from '../../kmip/tables.js';

/** A client-supplied Usage Limits value with its Usage Limits Count (starting at the total). */
export function withUsageCount(name: string, value: Item): Item {
  if (name !== 'Usage Limits' || value.type !== ItemType.Structure) return value;
  const total = value.value.find((c) => c.tag === Tag.UsageLimitsTotal);
  if (total?.type !== ItemType.LongInteger || value.value.some((c) => c.tag === Tag.UsageLimitsCount)) return value;
  const unit = value.value.filter((c) => c.tag === Tag.UsageLimitsUnit);
  return { ...value, value: [total, longInteger(Tag.UsageLimitsCount, total.value), ...unit] };
}

/** Remaining uses, or undefined when the object has no limit. */
export function usageRemaining(limits: Item | undefined): bigint | undefined {
  if (limits?.type !== ItemType.Structure) return undefined;
  const count = limits.value.find((c) => c.tag === Tag.UsageLimitsCount);
  return count?.type === ItemType.LongInteger ? count.value : undefined;
}

/** The Usage Limits value with `n` fewer uses remaining. */
export function consume(limits: Item & { type: 0x01 }, n: bigint): Item {
  return {
    ...limits,
    value: limits.value.map((c) => (c.tag === Tag.UsageLimitsCount && c.type === ItemType.LongInteger ? longInteger(c.tag, c.value - n) : c)),
  };
}
