// The tail every operation that changes one existing object shares: keep its dates consistent,
// record the change, write it, and make it the batch's ID Placeholder.
import type { StoredObject } from '../../store/key-store.js';
import type { OpContext } from '../pipeline/context.js';
import { setPlaceholder } from './access.js';
import { checkDates } from './attribute-rules.js';
import { applyScheduledTransitions } from './lifecycle.js';
import { touch } from './object-model.js';

export interface ChangeOptions {
  /**
   * The change may have set a lifecycle date (Add/Modify Attribute): the dates must stay in order
   * and a date already reached takes effect at once (KMIP 1.4 §3.24, §3.27).
   */
  datesChanged?: boolean;
  /** Destroy: the wrapped key material is erased with the change (KMIP 1.4 §4.21). */
  destroyMaterial?: boolean;
}

/** Check dates → transition → touch (Last Change Date, KMIP 1.4 §3.38) → save → placeholder. */
export function saveChange(ctx: OpContext, o: StoredObject, options: ChangeOptions = {}): void {
  if (options.datesChanged) {
    checkDates(o);
    applyScheduledTransitions(o, ctx.now);
  }
  touch(o, ctx.now);
  ctx.store.save(o, options.destroyMaterial ? { destroyMaterial: true } : {});
  // KMIP 1.4 §4 (ID Placeholder): a later batch item may name this object by omission.
  setPlaceholder(ctx, o.uid);
}
