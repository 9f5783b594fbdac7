// KMIP 1.4 §4.22 Archive and §4.23 Recover: an archived object keeps its metadata on-line but its
// value is unavailable (Get answers Object Archived) until it is recovered. Keyhaven keeps archived
// objects in the same store; "archived" is the presence of the Archive Date (KMIP 1.4 §3.32).
import { KmipError } from '../errors.js';
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { StoredObject } from '../store/key-store.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { isDestroyed } from './lifecycle.js';
import { attr, av, removeAttr, setAttr, touch } from './object-model.js';

export const isArchived = (o: StoredObject) => attr(o, 'Archive Date') !== undefined;

function change(p: StructReader, ctx: OpContext, apply: (o: StoredObject) => void): Item[] {
  const uid = targetUid(p, ctx);
  p.done();
  const o = ownedObject(ctx, uid);
  if (isDestroyed(o)) throw new KmipError(Enum.ResultReason.PermissionDenied, `object ${uid} is destroyed`);
  apply(o);
  touch(o, ctx.now);
  ctx.store.save(o);
  ctx.wrote = true;
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid)];
}

export function archive(p: StructReader, ctx: OpContext): Item[] {
  return change(p, ctx, (o) => {
    if (isArchived(o)) throw new KmipError(Enum.ResultReason.IllegalOperation, `object ${o.uid} is already archived`);
    setAttr(o, 'Archive Date', av.date(ctx.now));
  });
}

export function recover(p: StructReader, ctx: OpContext): Item[] {
  return change(p, ctx, (o) => {
    if (!isArchived(o)) throw new KmipError(Enum.ResultReason.IllegalOperation, `object ${o.uid} is not archived`);
    removeAttr(o, 'Archive Date');
  });
}
