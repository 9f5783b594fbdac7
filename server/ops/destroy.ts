// KMIP 1.4 §4.21 Destroy: the key material is erased; the object's metadata stays, in state
// Destroyed (or Destroyed Compromised), as NIST SP 800-57 Part 1 §7.3 keeps a destroyed key's record.
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { destroy as destroyObject } from './lifecycle.js';

export function destroy(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  p.done();
  const o = ownedObject(ctx, uid);
  destroyObject(o, ctx.now);
  ctx.store.save(o, { destroyMaterial: true });
  ctx.wrote = true;
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid)];
}
