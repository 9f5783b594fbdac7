// Storing a new managed object with the attributes the server maintains (KMIP 1.4 §3: Unique
// Identifier, Object Type, State, Initial Date, Last Change Date, Digest, Original Creation Date).
import { randomUUID } from 'node:crypto';
import type { Attribute } from '../../kmip/attribute-codec.js';
import { encode } from '../../kmip/encode.js';
import type { Item, StructureItem } from '../../kmip/item.js';
import { Enum } from '../../kmip/tables.js';
import type { StoredObject } from '../../store/key-store.js';
import type { OpContext } from '../pipeline/context.js';
import { applyScheduledTransitions, State } from './lifecycle.js';
import { attr, av, setAttr } from './object-model.js';
import { setPlaceholder } from './access.js';
import { checkDates } from './attribute-rules.js';
import { protectionRecords } from './key-protection.js';

export interface NewObjectSpec {
  objectType: number;
  /** Attributes from the client's Template-Attribute (already checked). */
  clientAttributes: Attribute[];
  /** Attributes the server derives from the object itself (algorithm, length, digest, …). */
  derived: { name: string; value: Item }[];
  /** The object's KMIP value structure (Symmetric Key, Secret Data, …); wrapped at rest. */
  value?: StructureItem;
  /** Raw bytes for the value instead of a structure (Template objects). */
  valueBytes?: Buffer;
}

export function storeNewObject(ctx: OpContext, spec: NewObjectSpec): StoredObject {
  const uid = randomUUID();
  const o = { attributes: [...spec.clientAttributes] };
  for (const d of spec.derived) setAttr(o, d.name, d.value);
  for (const d of protectionRecords(spec.objectType, o)) setAttr(o, d.name, d.value);
  setAttr(o, 'Unique Identifier', av.text(uid));
  setAttr(o, 'Object Type', av.enum(spec.objectType));
  const lifecycle = spec.objectType !== Enum.ObjectType.Template;
  if (lifecycle) setAttr(o, 'State', av.enum(State.PreActive));
  setAttr(o, 'Initial Date', av.date(ctx.now));
  setAttr(o, 'Last Change Date', av.date(ctx.now));
  if (!attr(o, 'Original Creation Date')) setAttr(o, 'Original Creation Date', av.date(ctx.now));
  const stored: StoredObject = {
    seq: 0,
    uid,
    objectType: spec.objectType,
    owner: ctx.identity,
    state: lifecycle ? State.PreActive : 0,
    attributes: o.attributes,
    hasMaterial: true,
  };
  checkDates(stored);
  // An Activation Date already reached makes the object Active at once (KMIP 1.4 §3.24).
  applyScheduledTransitions(stored, ctx.now);
  const material = spec.valueBytes ?? (spec.value ? encode(spec.value) : undefined);
  const saved = ctx.store.insert({
    uid,
    objectType: spec.objectType,
    owner: ctx.identity,
    state: stored.state,
    attributes: stored.attributes,
    ...(material ? { material } : {}),
  });
  ctx.objectIds.push(uid);
  setPlaceholder(ctx, uid);
  return saved;
}
