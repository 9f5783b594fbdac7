// KMIP 1.4 §4.11 Get: returns the object (its key material) to its owner, in the requested format.
import { KmipError } from '../../errors.js';
import { decode } from '../../kmip/decode.js';
import { byteString, enumeration, ItemType, structure, textString, type StructureItem } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { attributeItem } from '../../kmip/attribute-codec.js';
import { operation } from '../pipeline/operation.js';
import { ownedObjectWithMaterial, setPlaceholder, targetUid } from '../model/access.js';
import { isArchived, isDestroyed } from '../model/lifecycle.js';
import { convertSymmetricBlock } from '../material/key-material.js';
import { exportAsymmetric, parseAsymmetric } from '../material/asymmetric-keys.js';
import { checkRelease } from '../model/key-protection.js';
import { decodeTemplate } from '../model/template-attributes.js';
import { visibleAttributes } from '../model/object-model.js';
import { readWrappingSpec, wrapKeyBlock, type WrappingSpec } from '../material/key-wrapping.js';

const OT = Enum.ObjectType;

export interface GetRequest {
  uid: string;
  /** KMIP 1.4 §4.11 Key Format Type: the format to return the key in (default: as stored). */
  format?: number;
  /** KMIP 1.4 §2.1.5: return the key wrapped under another of the caller's keys. */
  wrapping?: WrappingSpec;
}

export const get = operation<GetRequest>({
  parse(p, ctx) {
    const uid = targetUid(p, ctx);
    const format = p.optionalEnumeration(Tag.KeyFormatType);
    const compression = p.optionalEnumeration(Tag.KeyCompressionType);
    const wrapping = p.optionalStructureItem(Tag.KeyWrappingSpecification);
    if (ctx.version.minor >= 4) p.optionalEnumeration(Tag.KeyWrapType);
    p.done();
    const wrapSpec = wrapping ? readWrappingSpec(wrapping, ctx.version.minor) : undefined;
    if (compression !== undefined) {
      throw new KmipError(Enum.ResultReason.KeyCompressionTypeNotSupported, 'key compression is not supported');
    }
    return { uid, format, wrapping: wrapSpec };
  },
  run({ uid, format, wrapping: wrapSpec }, ctx) {
    const { object: o, material } = ownedObjectWithMaterial(ctx, uid);
    if (isDestroyed(o) || !material) {
      throw new KmipError(Enum.ResultReason.ItemNotFound, `object ${uid} has been destroyed; its key material no longer exists`);
    }
    if (isArchived(o)) {
      throw new KmipError(Enum.ResultReason.ObjectArchived, `object ${uid} is archived; Recover it first`);
    }
    checkRelease(o, wrapSpec !== undefined, ctx.version);

    let value = decode(material) as StructureItem;
    if (o.objectType === OT.Template) {
      // As Get Attributes does: only what the client's version defines (KMIP 1.4 §2.1.1), so a
      // Template stored by a newer client does not make the response unencodable.
      value = structure(Tag.Template, visibleAttributes(decodeTemplate(material), ctx.version.minor).map(attributeItem));
    } else if (format !== undefined) {
      value = inFormat(o.objectType, value, format);
    }
    if (wrapSpec) {
      const at = value.value.findIndex((c) => c.tag === Tag.KeyBlock);
      if (at < 0) throw new KmipError(Enum.ResultReason.IllegalOperation, `object ${uid} has no key block to wrap`);
      const fields = [...value.value];
      fields[at] = wrapKeyBlock(ctx, o, value.value[at] as StructureItem, wrapSpec);
      value = { ...value, value: fields };
    }
    setPlaceholder(ctx, uid);
    return [enumeration(Tag.ObjectType, o.objectType), textString(Tag.UniqueIdentifier, uid), value];
  },
});

/** The object value with its Key Block in the requested Key Format Type (KMIP 1.4 §4.11). */
function inFormat(objectType: number, value: StructureItem, format: number): StructureItem {
  const blockAt = value.value.findIndex((c) => c.tag === Tag.KeyBlock);
  const block = value.value[blockAt] as StructureItem | undefined;
  const current = block?.value.find((c) => c.tag === Tag.KeyFormatType);
  if (!block || current?.type !== ItemType.Enumeration) {
    throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, 'this object has no key format to convert');
  }
  if (current.value === format) return value;
  if (block.value.some((c) => c.tag === Tag.KeyWrappingData)) {
    throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, 'a wrapped key is returned in the format it was registered in');
  }
  let converted: StructureItem;
  if (objectType === OT.SymmetricKey) {
    converted = convertSymmetricBlock(block, format);
  } else if (objectType === OT.PrivateKey || objectType === OT.PublicKey) {
    const kind = objectType === OT.PrivateKey ? 'private' : 'public';
    const keyValue = block.value.find((c) => c.tag === Tag.KeyValue) as StructureItem;
    const material = keyValue.value.find((c) => c.tag === Tag.KeyMaterial);
    if (material?.type !== ItemType.ByteString) throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, 'cannot convert this key');
    const out = exportAsymmetric(parseAsymmetric(kind, current.value, material.value), kind, format);
    converted = structure(Tag.KeyBlock, [
      enumeration(Tag.KeyFormatType, format),
      structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, out), ...keyValue.value.filter((c) => c.tag !== Tag.KeyMaterial)]),
      ...block.value.filter((c) => c.tag !== Tag.KeyFormatType && c.tag !== Tag.KeyValue),
    ]);
  } else {
    throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, 'this object is only served in the format it was registered in');
  }
  const fields = [...value.value];
  fields[blockAt] = converted;
  return { ...value, value: fields };
}
