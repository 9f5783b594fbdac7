// KMIP 1.4 §4.20 Revoke: deactivates an object, or marks it compromised.
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { revoke as revokeObject } from './lifecycle.js';

export function revoke(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  const r = p.requiredStruct(Tag.RevocationReason, 'Revocation Reason');
  const reason: { code: number; message?: string } = { code: r.required(Tag.RevocationReasonCode, 0x05) };
  const message = r.optional(Tag.RevocationMessage, 0x07);
  if (message !== undefined) reason.message = message;
  r.done();
  const occurrence = p.optional(Tag.CompromiseOccurrenceDate, 0x09);
  p.done();
  const o = ownedObject(ctx, uid);
  revokeObject(o, ctx.now, reason, occurrence);
  ctx.store.save(o);
  ctx.wrote = true;
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid)];
}
