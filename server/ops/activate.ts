// KMIP 1.4 §4.19 Activate: Pre-Active → Active.
import { textString, type Item } from '../kmip/item.js';
import type { StructReader } from '../kmip/reader.js';
import { Tag } from '../kmip/tables.js';
import type { OpContext } from './context.js';
import { ownedObject, setPlaceholder, targetUid } from './access.js';
import { activate as activateObject } from './lifecycle.js';

export function activate(p: StructReader, ctx: OpContext): Item[] {
  const uid = targetUid(p, ctx);
  p.done();
  const o = ownedObject(ctx, uid);
  activateObject(o, ctx.now);
  ctx.store.save(o);
  ctx.wrote = true;
  setPlaceholder(ctx, uid);
  return [textString(Tag.UniqueIdentifier, uid)];
}
