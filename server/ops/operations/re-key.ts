// KMIP 1.4 §4.4 Re-key: a new symmetric key replacing an existing one. The replacement inherits
// the existing key's algorithm, length and descriptive attributes; its Name moves to it; the two
// are linked (Replacement / Replaced Object Link). Its lifecycle dates are the existing key's; with
// an Offset they keep the existing key's spacing but start Offset seconds from now.
import { KmipError } from '../../errors.js';
import { textString } from '../../kmip/item.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum, Tag } from '../../kmip/tables.js';
import type { Attribute } from '../../kmip/attribute-codec.js';
import { operation } from '../pipeline/operation.js';
import { ownedObject, targetUid } from '../model/access.js';
import { isDestroyed } from '../model/lifecycle.js';
import { digestAttribute, generateSymmetricKey, symmetricKeyObject } from '../material/key-material.js';
import { storeNewObject } from '../model/new-object.js';
import { addAttr, attrs, av, linkValue, numberAttr, removeAttr, touch } from '../model/object-model.js';
import { parseTemplateAttribute, resolveTemplateAttribute, type TemplateAttributeRequest } from '../model/template-attributes.js';
import { checkProtectionChange } from '../model/key-protection.js';

/** Attributes the replacement key takes over from the key it replaces. */
const INHERITED = [
  'Cryptographic Parameters',
  'Cryptographic Domain Parameters',
  'Cryptographic Usage Mask',
  'Operation Policy Name',
  'Object Group',
  'Application Specific Information',
  'Contact Information',
  'Usage Limits',
  'Alternative Name',
  'Description',
  'Comment',
  // The replacement keeps the protection of the key it replaces (KMIP 1.4 §3.48, §3.50).
  'Sensitive',
  'Extractable',
];
const SHIFTED_DATES = ['Process Start Date', 'Protect Stop Date', 'Deactivation Date'];

/**
 * A date moved to keep its distance from the new Activation Date. Dates are whole seconds that must
 * stay representable (KMIP 1.4 §9.1.1.4 Date-Time); far-future dates can shift out of range.
 */
function shifted(name: string, activation: number, distance: number): number {
  const v = activation + distance;
  if (!Number.isSafeInteger(v)) {
    throw invalidField(`the replacement's ${name} would lie ${distance} s after its Activation Date, beyond the dates this server represents; give ${name} in the Template-Attribute`);
  }
  return v;
}

export interface ReKeyRequest {
  uid: string;
  /** KMIP 1.4 §4.4 Offset: seconds from now to the replacement's Activation Date. */
  offset?: number;
  template: TemplateAttributeRequest;
}

export const reKey = operation<ReKeyRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const offset = p.optionalInterval(Tag.Offset);
    const template = parseTemplateAttribute(p.optionalStruct(Tag.TemplateAttribute, 'Template-Attribute'), 'the Re-key request');
    p.done();
    return { uid, offset, template };
  },
  run({ uid, offset, template }, ctx) {
    const overrides = resolveTemplateAttribute(template, ctx);
    const old = ownedObject(ctx, uid);
    if (old.objectType !== Enum.ObjectType.SymmetricKey) {
      throw new KmipError(Enum.ResultReason.IllegalOperation, 'Re-key replaces symmetric keys; use Re-key Key Pair for key pairs');
    }
    if (isDestroyed(old)) throw new KmipError(Enum.ResultReason.PermissionDenied, `object ${uid} is destroyed and cannot be re-keyed`);
    const algorithm = numberAttr(old, 'Cryptographic Algorithm')!;
    const length = numberAttr(old, 'Cryptographic Length')!;

    const attributes: Attribute[] = [];
    const overridden = new Set(overrides.map((a) => a.name));
    const custom = new Set(old.attributes.filter((a) => a.name.startsWith('x-')).map((a) => a.name));
    for (const name of [...INHERITED, 'Name', ...custom]) {
      if (overridden.has(name)) continue;
      for (const a of attrs(old, name)) attributes.push({ ...a });
    }
    // An override may strengthen the inherited protection, never weaken it.
    for (const a of overrides) if (a.name === 'Sensitive' || a.name === 'Extractable') checkProtectionChange(old, a.name, a.value);
    attributes.push(...overrides);
    if (offset === undefined) {
      // Without an Offset the replacement keeps the existing key's schedule (KMIP 1.4 §4.4).
      for (const d of ['Activation Date', ...SHIFTED_DATES]) {
        const v = numberAttr(old, d);
        if (v !== undefined && !overridden.has(d)) attributes.push({ name: d, index: 0, value: av.date(v) });
      }
    } else {
      const oldActivation = numberAttr(old, 'Activation Date') ?? numberAttr(old, 'Initial Date')!;
      const activation = ctx.now + offset;
      attributes.push({ name: 'Activation Date', index: 0, value: av.date(activation) });
      for (const d of SHIFTED_DATES) {
        const v = numberAttr(old, d);
        if (v !== undefined && !overridden.has(d)) attributes.push({ name: d, index: 0, value: av.date(shifted(d, activation, v - oldActivation)) });
      }
    }
    const key = generateSymmetricKey(algorithm, length);
    const fresh = storeNewObject(ctx, {
      objectType: Enum.ObjectType.SymmetricKey,
      clientAttributes: attributes,
      derived: [
        { name: 'Cryptographic Algorithm', value: av.enum(algorithm) },
        { name: 'Cryptographic Length', value: av.int(length) },
        { name: 'Digest', value: digestAttribute(key, Enum.KeyFormatType.Raw) },
        { name: 'Link', value: linkValue(Enum.LinkType.ReplacedObjectLink, uid) },
      ],
      value: symmetricKeyObject(key, algorithm, length),
    });
    key.fill(0);
    // The name now identifies the replacement (KMIP 1.4 §4.4).
    if (!overridden.has('Name')) removeAttr(old, 'Name');
    addAttr(old, 'Link', linkValue(Enum.LinkType.ReplacementObjectLink, fresh.uid));
    // Not saveChange: the ID Placeholder stays the replacement's (KMIP 1.4 §4.4).
    touch(old, ctx.now);
    ctx.store.save(old);
    return [textString(Tag.UniqueIdentifier, fresh.uid)];
  },
});
