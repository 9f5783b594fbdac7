// KMIP 1.4 §4.14 Add Attribute: a new attribute, or a new instance of a multi-instance one.
import { KmipError } from '../../errors.js';
import { attributeItem, checkValue, parseAttribute, requireSpec } from '../../kmip/attribute-codec.js';
import { textString, type Item } from '../../kmip/item.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, targetUid } from '../model/access.js';
import { checkClientMayChange } from '../model/attribute-rules.js';
import { checkProtectionChange } from '../model/key-protection.js';
import { addAttr, attrs } from '../model/object-model.js';
import { saveChange } from '../model/save-change.js';
import { withUsageCount } from '../model/usage-limits.js';
import { operation } from '../pipeline/operation.js';

export interface AddAttributeRequest {
  uid: string;
  name: string;
  value: Item;
}

export const addAttribute = operation<AddAttributeRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const a = parseAttribute(p.structureItem(Tag.Attribute), 'the Add Attribute request');
    p.done();
    if (a.index !== undefined) throw invalidField('Add Attribute assigns the Attribute Index itself; do not send one');
    checkValue(requireSpec(a.name), a.name, a.value!, ctx.version.minor);
    return { uid, name: a.name, value: a.value! };
  },
  run({ uid, name, value }, ctx) {
    const spec = requireSpec(name);
    const o = ownedObject(ctx, uid);
    checkClientMayChange(spec, name, o, 'add');
    checkProtectionChange(o, name, value);
    if (!spec.multi && attrs(o, name).length > 0) {
      throw new KmipError(Enum.ResultReason.IllegalOperation, `"${name}" already exists and has a single instance; use Modify Attribute to change it`);
    }
    const added = addAttr(o, name, withUsageCount(name, value));
    saveChange(ctx, o, { datesChanged: true });
    return [textString(Tag.UniqueIdentifier, uid), attributeItem(added)];
  },
});
