// KMIP 1.4 §4.3 Register: stores an object the client supplies (keys, secret data, certificates,
// opaque objects, templates), after checking that its content is what it claims to be.
import { createPublicKey } from 'node:crypto';
import { textString, type Item, type StructureItem } from '../kmip/item.js';
import { checkValue, parseAttribute, requireSpec } from '../kmip/attribute-codec.js';
import { invalidField, StructReader } from '../kmip/reader.js';
import { Enum, ENUM_VALUE_NAMES, Tag } from '../kmip/tables.js';
import { KmipError } from '../errors.js';
import { encodeAttributes } from '../store/key-store.js';
import type { OpContext } from './context.js';
import { certificateAttributes } from './certificate-attributes.js';
import { parseAsymmetric, publicKeyShape } from './asymmetric-keys.js';
import { checkSymmetricLength, digestAttribute, materialBytes, materialDigest, rawSymmetricKey } from './key-material.js';
import { storeNewObject } from './new-object.js';
import { av, numberAttr } from './object-model.js';
import { readTemplateAttribute } from './template-attributes.js';
import type { Attribute } from '../kmip/attribute-codec.js';

const OT = Enum.ObjectType;

/** The tag of each object type's value structure (KMIP 1.4 §2.2). */
export const OBJECT_TAG: ReadonlyMap<number, number> = new Map([
  [OT.Certificate, Tag.Certificate],
  [OT.SymmetricKey, Tag.SymmetricKey],
  [OT.PublicKey, Tag.PublicKey],
  [OT.PrivateKey, Tag.PrivateKey],
  [OT.SplitKey, Tag.SplitKey],
  [OT.Template, Tag.Template],
  [OT.SecretData, Tag.SecretData],
  [OT.OpaqueObject, Tag.OpaqueObject],
  [OT.PGPKey, Tag.PGPKey],
]);

type Derived = { name: string; value: Item }[];

export function register(p: StructReader, ctx: OpContext): Item[] {
  const objectType = p.required(Tag.ObjectType, 0x05);
  const attributes = readTemplateAttribute(p.requiredStruct(Tag.TemplateAttribute, 'Template-Attribute'), ctx, 'the Register request');
  const tag = OBJECT_TAG.get(objectType);
  if (tag === undefined) throw invalidField(`Object Type ${objectType} cannot be registered`);
  const value = p.optionalItem(tag, 0x01);
  if (!value) {
    const name = ENUM_VALUE_NAMES.ObjectType.get(objectType);
    throw new KmipError(Enum.ResultReason.InvalidMessage, `Register of a ${name} needs the ${name} object in its payload`);
  }
  p.done();

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
      derived = keyBlockDigest(new StructReader(value, 'object').requiredItem(Tag.KeyBlock, 0x01));
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
}

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
  const format = r.required(Tag.KeyFormatType, 0x05);
  r.optional(Tag.KeyCompressionType, 0x05);
  const algorithm = r.optional(Tag.CryptographicAlgorithm, 0x05);
  const length = r.optional(Tag.CryptographicLength, 0x02);
  const wrapping = r.optionalItem(Tag.KeyWrappingData, 0x01);
  const keyValue = r.item.value.find((c) => c.tag === Tag.KeyValue);
  r.ignore(Tag.KeyValue);
  r.done();
  if (!keyValue) throw new KmipError(Enum.ResultReason.InvalidMessage, 'the Key Block has no Key Value');
  const parts: KeyBlockParts = { format, wrapped: wrapping !== undefined };
  if (algorithm !== undefined) parts.algorithm = algorithm;
  if (length !== undefined) parts.length = length;
  if (wrapping) {
    if (keyValue.type !== 0x08) throw invalidField('a wrapped Key Value must be a Byte String');
    return parts;
  }
  const kv = StructReader.of(keyValue, 'Key Value');
  const material = kv.item.value.find((c) => c.tag === Tag.KeyMaterial);
  kv.ignore(Tag.KeyMaterial);
  for (const a of kv.all(Tag.Attribute, 0x01)) parseAttribute(a, 'Key Value');
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
  const block = new StructReader(value, 'Symmetric Key').requiredItem(Tag.KeyBlock, 0x01);
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
  const block = new StructReader(value, kind === 'private' ? 'Private Key' : 'Public Key').requiredItem(Tag.KeyBlock, 0x01);
  const kb = readKeyBlock(block);
  if (kb.wrapped || kb.material?.type !== 0x08) return keyBlockDigest(block);
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
  const type = r.required(Tag.CertificateType, 0x05);
  const der = r.required(Tag.CertificateValue, 0x08);
  r.done();
  if (type !== Enum.CertificateType.X509) {
    throw new KmipError(Enum.ResultReason.FeatureNotSupported, 'only X.509 certificates can be registered');
  }
  return [...certificateAttributes(der), { name: 'Digest', value: digestAttribute(der, Enum.KeyFormatType.X509) }];
}

function secretData(value: StructureItem): Derived {
  const r = new StructReader(value, 'Secret Data');
  r.required(Tag.SecretDataType, 0x05);
  const block = r.requiredItem(Tag.KeyBlock, 0x01);
  r.done();
  const kb = readKeyBlock(block);
  if (!kb.wrapped && kb.material?.type !== 0x08) throw invalidField('Secret Data must carry its bytes as a Byte String Key Material');
  return keyBlockDigest(block);
}

function opaqueObject(value: StructureItem): Derived {
  const r = new StructReader(value, 'Opaque Object');
  r.required(Tag.OpaqueDataType, 0x05);
  const bytes = r.required(Tag.OpaqueDataValue, 0x08);
  r.done();
  return [{ name: 'Digest', value: digestAttribute(bytes) }];
}

/** KMIP 1.0 §2.2.6 Template: a list of attributes, checked as a Template-Attribute is. */
function template(value: StructureItem): Attribute[] {
  const r = new StructReader(value, 'Template');
  const attrs = r.all(Tag.Attribute, 0x01).map((a) => parseAttribute(a, 'Template'));
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

