// KMIP 1.4 §4.3 Register: stores an object the client supplies (keys, secret data, certificates,
// opaque objects, templates), after checking that its content is what it claims to be.
import { createPublicKey } from 'node:crypto';
import { textString, type Item, type StructureItem, ItemType } from '../../kmip/item.js';
import { checkValue, parseAttribute, requireSpec } from '../../kmip/attribute-codec.js';
import { invalidField, StructReader } from '../../kmip/reader.js';
import { Enum, ENUM_VALUE_NAMES, Tag } from '../../kmip/tables.js';
import { KmipError } from '../../errors.js';
import { encodeAttributes } from '../../store/key-store.js';
import { operation } from '../pipeline/operation.js';
import { OBJECT_TAG } from '../model/object-types.js';
import { certificateAttributes } from '../material/certificate-attributes.js';
import { parseAsymmetric, publicKeyShape } from '../material/asymmetric-keys.js';
import { checkSymmetricLength, digestAttribute, materialBytes, materialDigest, rawSymmetricKey } from '../material/key-material.js';
import { storeNewObject } from '../model/new-object.js';
import { av, numberAttr } from '../model/object-model.js';
import { parseTemplateAttribute, resolveTemplateAttribute, type TemplateAttributeRequest } from '../model/template-attributes.js';
import type { Attribute } from '../../kmip/attribute-codec.js';

const OT = Enum.ObjectType;

type Derived = { name: string; value: Item }[];

export interface RegisterRequest {
  objectType: number;
  template: TemplateAttributeRequest;
  /** The object's value structure (Symmetric Key, Certificate, …), checked when registered. */
  value: StructureItem;
}

export const register = operation<RegisterRequest>({
  parse(p) {
    const objectType = p.enumeration(Tag.ObjectType);
    const template = parseTemplateAttribute(p.requiredStruct(Tag.TemplateAttribute, 'Template-Attribute'), 'the Register request');
    const tag = OBJECT_TAG.get(objectType);
    if (tag === undefined) throw invalidField(`Object Type ${objectType} cannot be registered`);
    const value = p.optionalStructureItem(tag);
    if (!value) {
      const name = ENUM_VALUE_NAMES.ObjectType.get(objectType);
      throw new KmipError(Enum.ResultReason.InvalidMessage, `Register of a ${name} needs the ${name} object in its payload`);
    }
    p.done();
    return { objectType, template, value };
  },
  run({ objectType, template: templateAttribute, value }, ctx) {
    const attributes = resolveTemplateAttribute(templateAttribute, ctx);
    const holder = { attributes };
    let derived: Derived;
    let valueBytes: Buffer | undefined;
    switch (objectType) {
      case OT.SymmetricKey:
        derived = symmetricKey(value, holder);
        break;
      case OT.PublicKey:
      case OT.PrivateKey:
        derived = asymmetricKey(value, objectType === OT.PrivateKey ? 'private' : 'public');
        break;
      case OT.Certificate:
        derived = certificate(value);
        break;
      case OT.SecretData:
        derived = secretData(value);
        break;
      case OT.OpaqueObject:
        derived = opaqueObject(value);
        break;
      case OT.Template: {
        // KMIP 1.0 §2.2.6: the Name inside a Template names the Template object itself.
        const t = template(value);
        derived = [];
        valueBytes = encodeAttributes(t.filter((a) => a.name !== 'Name'));
        for (const n of t.filter((a) => a.name === 'Name')) attributes.push({ ...n, index: attributes.filter((x) => x.name === 'Name').length });
        break;
      }
      default: // Split Key, PGP Key: kept as given, with their Key Block checked.
        derived = keyBlockDigest(new StructReader(value, 'object').structureItem(Tag.KeyBlock));
    }
    // Derived attributes must agree with any the client also supplied.
    for (const d of derived) {
      const given = attributes.find((a) => a.name === d.name);
      if (given && (d.name === 'Cryptographic Algorithm' || d.name === 'Cryptographic Length')) {
        if (given.value.type !== d.value.type || given.value.value !== d.value.value) {
          throw invalidField(`the template's ${d.name} contradicts the registered key`);
        }
      }
    }
    const o = storeNewObject(ctx, {
      objectType,
      clientAttributes: attributes,
      derived,
      ...(valueBytes ? { valueBytes } : { value }),
    });
    return [textString(Tag.UniqueIdentifier, o.uid)];
  },
});

interface KeyBlockParts {
  format: number;
  material?: Item;
  algorithm?: number;
  length?: number;
  wrapped: boolean;
}

/** KMIP 1.4 §2.1.3: reads a Key Block; a wrapped Key Value is a Byte String kept as given. */
function readKeyBlock(block: StructureItem): KeyBlockParts {
  const r = new StructReader(block, 'Key Block');
  const format = r.enumeration(Tag.KeyFormatType);
  r.optionalEnumeration(Tag.KeyCompressionType);
  const algorithm = r.optionalEnumeration(Tag.CryptographicAlgorithm);
  const length = r.optionalInteger(Tag.CryptographicLength);
  const wrapping = r.optionalStructureItem(Tag.KeyWrappingData);
  const keyValue = r.item.value.find((c) => c.tag === Tag.KeyValue);
  r.ignore(Tag.KeyValue);
  r.done();
  if (!keyValue) throw new KmipError(Enum.ResultReason.InvalidMessage, 'the Key Block has no Key Value');
  const parts: KeyBlockParts = { format, wrapped: wrapping !== undefined };
  if (algorithm !== undefined) parts.algorithm = algorithm;
  if (length !== undefined) parts.length = length;
  if (wrapping) {
    if (keyValue.type !== ItemType.ByteString) throw invalidField('a wrapped Key Value must be a Byte String');
    return parts;
  }
  const kv = StructReader.of(keyValue, 'Key Value');
  const material = kv.item.value.find((c) => c.tag === Tag.KeyMaterial);
  kv.ignore(Tag.KeyMaterial);
  for (const a of kv.allStructures(Tag.Attribute)) parseAttribute(a, 'Key Value');
  kv.done();
  if (!material) throw new KmipError(Enum.ResultReason.InvalidMessage, 'the Key Value has no Key Material');
  parts.material = material;
  return parts;
}

function keyBlockDigest(block: StructureItem): Derived {
  const kb = readKeyBlock(block);
  const out: Derived = [];
  if (kb.algorithm !== undefined) out.push({ name: 'Cryptographic Algorithm', value: av.enum(kb.algorithm) });
  if (kb.length !== undefined) out.push({ name: 'Cryptographic Length', value: av.int(kb.length) });
  if (kb.material) out.push({ name: 'Digest', value: materialDigest(kb.material, kb.format) });
  return out;
}

function symmetricKey(value: StructureItem, holder: { attributes: Attribute[] }): Derived {
  const block = new StructReader(value, 'Symmetric Key').structureItem(Tag.KeyBlock);
  const kb = readKeyBlock(block);
  const algorithm = kb.algorithm ?? numberAttr(holder, 'Cryptographic Algorithm');
  if (algorithm === undefined) throw invalidField('a Symmetric Key needs its Cryptographic Algorithm, in the Key Block or the template');
  const out: Derived = [{ name: 'Cryptographic Algorithm', value: av.enum(algorithm) }];
  if (kb.wrapped) {
    const length = kb.length ?? numberAttr(holder, 'Cryptographic Length');
    if (length !== undefined) out.push({ name: 'Cryptographic Length', value: av.int(length) });
    return out;
  }
  if (kb.format !== Enum.KeyFormatType.Raw && kb.format !== Enum.KeyFormatType.TransparentSymmetricKey) {
    throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, 'Symmetric Keys are registered as Raw or Transparent Symmetric Key');
  }
  const raw = rawSymmetricKey(block);
  if (!raw || raw.length === 0) throw invalidField('the Symmetric Key has no key bytes in its Key Material');
  const name = ENUM_VALUE_NAMES.CryptographicAlgorithm.get(algorithm) ?? `algorithm ${algorithm}`;
  const length = kb.length ?? numberAttr(holder, 'Cryptographic Length') ?? (algorithm === Enum.CryptographicAlgorithm._3DES ? (raw.length === 16 ? 112 : 168) : raw.length * 8);
  checkSymmetricLength(algorithm, length, name);
  if (materialBytes(algorithm, length) !== raw.length) {
    throw invalidField(`the key is ${raw.length} bytes but Cryptographic Length ${length} for ${name} needs ${materialBytes(algorithm, length)}`);
  }
  out.push({ name: 'Cryptographic Length', value: av.int(length) });
  out.push({ name: 'Digest', value: materialDigest(kb.material!, kb.format) });
  return out;
}

function asymmetricKey(value: StructureItem, kind: 'public' | 'private'): Derived {
  const block = new StructReader(value, kind === 'private' ? 'Private Key' : 'Public Key').structureItem(Tag.KeyBlock);
  const kb = readKeyBlock(block);
  if (kb.wrapped || kb.material?.type !== ItemType.ByteString) return keyBlockDigest(block);
  const key = parseAsymmetric(kind, kb.format, kb.material.value);
  const shape = publicKeyShape(kind === 'private' ? createPublicKey(key) : key);
  const out: Derived = [{ name: 'Digest', value: digestAttribute(kb.material.value, kb.format) }];
  if (shape) {
    out.push({ name: 'Cryptographic Algorithm', value: av.enum(kb.algorithm ?? shape.algorithm) });
    out.push({ name: 'Cryptographic Length', value: av.int(kb.length ?? shape.length) });
  }
  return out;
}


function certificate(value: StructureItem): Derived {
  const r = new StructReader(value, 'Certificate');
  const type = r.enumeration(Tag.CertificateType);
  const der = r.bytes(Tag.CertificateValue);
  r.done();
  if (type !== Enum.CertificateType.X509) {
    throw new KmipError(Enum.ResultReason.FeatureNotSupported, 'only X.509 certificates can be registered');
  }
  return [...certificateAttributes(der), { name: 'Digest', value: digestAttribute(der, Enum.KeyFormatType.X509) }];
}

function secretData(value: StructureItem): Derived {
  const r = new StructReader(value, 'Secret Data');
  r.enumeration(Tag.SecretDataType);
  const block = r.structureItem(Tag.KeyBlock);
  r.done();
  const kb = readKeyBlock(block);
  if (!kb.wrapped && kb.material?.type !== ItemType.ByteString) throw invalidField('Secret Data must carry its bytes as a Byte String Key Material');
  return keyBlockDigest(block);
}

function opaqueObject(value: StructureItem): Derived {
  const r = new StructReader(value, 'Opaque Object');
  r.enumeration(Tag.OpaqueDataType);
  const bytes = r.bytes(Tag.OpaqueDataValue);
  r.done();
  return [{ name: 'Digest', value: digestAttribute(bytes) }];
}

/** KMIP 1.0 §2.2.6 Template: a list of attributes, checked as a Template-Attribute is. */
function template(value: StructureItem): Attribute[] {
  const r = new StructReader(value, 'Template');
  const attrs = r.allStructures(Tag.Attribute).map((a) => parseAttribute(a, 'Template'));
  r.done();
  const list: Attribute[] = [];
  for (const a of attrs) {
    const spec = requireSpec(a.name);
    if (spec.setBy === 'server') throw invalidField(`"${a.name}" is set by the server and cannot be part of a Template`);
    checkValue(spec, a.name, a.value!);
    list.push({ name: a.name, index: list.filter((x) => x.name === a.name).length, value: a.value! });
  }
  return list;
}

