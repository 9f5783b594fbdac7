// KMIP 1.4 §4.1 Create: generates a new symmetric key from the client's template attributes.
import { KmipError } from '../../errors.js';
import { enumeration, textString } from '../../kmip/item.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum, ENUM_VALUE_NAMES, Mask, Tag } from '../../kmip/tables.js';
import { checkSymmetricLength, digestAttribute, generateSymmetricKey, symmetricKeyObject } from '../material/key-material.js';
import { storeNewObject } from '../model/new-object.js';
import { av, numberAttr } from '../model/object-model.js';
import { parseTemplateAttribute, resolveTemplateAttribute, type TemplateAttributeRequest } from '../model/template-attributes.js';
import { operation } from '../pipeline/operation.js';

/** Usage mask given to keys created without one: encryption and key wrapping (KMIP 1.4 §3.19). */
export const DEFAULT_SYMMETRIC_USAGE =
  Mask.CryptographicUsageMask.Encrypt | Mask.CryptographicUsageMask.Decrypt |
  Mask.CryptographicUsageMask.WrapKey | Mask.CryptographicUsageMask.UnwrapKey;

export interface CreateRequest {
  objectType: number;
  template: TemplateAttributeRequest;
}

export const create = operation<CreateRequest>({
  parse(p) {
    const objectType = p.enumeration(Tag.ObjectType);
    const template = parseTemplateAttribute(p.requiredStruct(Tag.TemplateAttribute, 'Template-Attribute'), 'the Create request');
    p.done();
    return { objectType, template };
  },
  run({ objectType, template }, ctx) {
    const attributes = resolveTemplateAttribute(template, ctx);
    if (objectType !== Enum.ObjectType.SymmetricKey) {
      throw new KmipError(
        Enum.ResultReason.InvalidField,
        `Create makes Symmetric Keys; register other objects with Register (got ${ENUM_VALUE_NAMES.ObjectType.get(objectType) ?? objectType})`,
      );
    }
    const holder = { attributes };
    const algorithm = numberAttr(holder, 'Cryptographic Algorithm');
    const length = numberAttr(holder, 'Cryptographic Length');
    if (algorithm === undefined || length === undefined) {
      throw invalidField('Create needs the Cryptographic Algorithm and Cryptographic Length of the key in its Template-Attribute');
    }
    const algorithmName = ENUM_VALUE_NAMES.CryptographicAlgorithm.get(algorithm) ?? `algorithm ${algorithm}`;
    checkSymmetricLength(algorithm, length, algorithmName);
    const key = generateSymmetricKey(algorithm, length);
    const derived = [{ name: 'Digest', value: digestAttribute(key, Enum.KeyFormatType.Raw) }];
    if (numberAttr(holder, 'Cryptographic Usage Mask') === undefined) {
      derived.push({ name: 'Cryptographic Usage Mask', value: av.int(DEFAULT_SYMMETRIC_USAGE) });
    }
    const o = storeNewObject(ctx, {
      objectType,
      clientAttributes: attributes,
      derived,
      value: symmetricKeyObject(key, algorithm, length),
    });
    key.fill(0);
    return [enumeration(Tag.ObjectType, objectType), textString(Tag.UniqueIdentifier, o.uid)];
  },
});
