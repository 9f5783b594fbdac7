// Returning a key wrapped under another of the client's keys (KMIP 1.4 §2.1.5 Key Wrapping
// Specification, §2.1.4 Key Wrapping Data): Wrapping Method Encrypt with AES Key Wrap (NIST SP
// 800-38F / RFC 3394). The wrapping key must be the caller's own, Active, AES, and allowed to Wrap
// Key. With Encoding Option "No Encoding" the raw key bytes are wrapped; otherwise (the default,
// KMIP 1.4 §9.1.3.2.32) the TTLV encoding of the Key Value, including any attributes asked for.
import { createCipheriv } from 'node:crypto';
import { KmipError } from '../../errors.js';
import { encode } from '../../kmip/encode.js';
import { byteString, enumeration, structure, textString, type Item, type StructureItem, ItemType } from '../../kmip/item.js';
import { StructReader } from '../../kmip/reader.js';
import { attributeForVersion, attributeItem } from '../../kmip/attribute-codec.js';
import { decode } from '../../kmip/decode.js';
import { Enum, Mask, Tag } from '../../kmip/tables.js';
import type { StoredObject } from '../../store/key-store.js';
import type { OpContext } from '../pipeline/context.js';
import { checkOwner, noSuchObject } from '../model/access.js';
import { State } from '../model/lifecycle.js';
import { attrs, numberAttr } from '../model/object-model.js';
import { rawSymmetricKey } from './key-material.js';

/** RFC 3394 §2.2.3.1 default initial value. */
const AES_KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

const notSupported = (m: string) => new KmipError(Enum.ResultReason.FeatureNotSupported, m);
const denied = (m: string) => new KmipError(Enum.ResultReason.PermissionDenied, m);

export interface WrappingSpec {
  wrappingKeyUid: string;
  cryptographicParameters?: Item;
  attributeNames: string[];
  noEncoding: boolean;
}

export function readWrappingSpec(item: StructureItem, minor: number): WrappingSpec {
  const r = new StructReader(item, 'Key Wrapping Specification');
  const method = r.enumeration(Tag.WrappingMethod);
  const eki = r.optionalStruct(Tag.EncryptionKeyInformation, 'Encryption Key Information');
  if (r.optionalStructureItem(Tag.MACSignatureKeyInformation)) throw notSupported('MAC/signature key wrapping is not supported; use Wrapping Method Encrypt');
  const attributeNames = r.allTexts(Tag.AttributeName);
  const encoding = minor >= 1 ? r.optionalEnumeration(Tag.EncodingOption) : undefined;
  r.done();
  if (method !== Enum.WrappingMethod.Encrypt) throw notSupported('only Wrapping Method Encrypt is supported');
  if (!eki) throw new KmipError(Enum.ResultReason.InvalidMessage, 'Key Wrapping Specification needs Encryption Key Information naming the wrapping key');
  const wrappingKeyUid = eki.text(Tag.UniqueIdentifier);
  const params = eki.optionalStructureItem(Tag.CryptographicParameters);
  eki.done();
  const spec: WrappingSpec = { wrappingKeyUid, attributeNames, noEncoding: encoding === Enum.EncodingOption.NoEncoding };
  if (params) spec.cryptographicParameters = params;
  return spec;
}

function blockCipherMode(params: Item | undefined): number | undefined {
  if (params?.type !== ItemType.Structure) return undefined;
  const m = params.value.find((c) => c.tag === Tag.BlockCipherMode);
  return m?.type === ItemType.Enumeration ? m.value : undefined;
}

/** The Key Block of `target` wrapped as the specification asks. */
export function wrapKeyBlock(ctx: OpContext, target: StoredObject, block: StructureItem, spec: WrappingSpec): StructureItem {
  const found = ctx.store.loadWithMaterial(spec.wrappingKeyUid);
  if (!found) throw noSuchObject(spec.wrappingKeyUid, 'wrapping key');
  const kek = found.object;
  checkOwner(ctx, kek, 'wrapping key');
  if (kek.objectType !== Enum.ObjectType.SymmetricKey || numberAttr(kek, 'Cryptographic Algorithm') !== Enum.CryptographicAlgorithm.AES) {
    throw notSupported('the wrapping key must be an AES symmetric key');
  }
  if (kek.state !== State.Active) throw denied(`wrapping key ${kek.uid} is not Active`);
  if (((numberAttr(kek, 'Cryptographic Usage Mask') ?? 0) & Mask.CryptographicUsageMask.WrapKey) === 0) {
    throw denied(`wrapping key ${kek.uid} is not allowed to Wrap Key`);
  }
  const mode = blockCipherMode(spec.cryptographicParameters) ??
    attrs(kek, 'Cryptographic Parameters').map((a) => blockCipherMode(a.value)).find((m) => m !== undefined) ??
    Enum.BlockCipherMode.NISTKeyWrap;
  if (mode !== Enum.BlockCipherMode.NISTKeyWrap) throw notSupported('keys are wrapped with NIST Key Wrap (AES-KW) only');
  const kekBytes = found.material ? rawSymmetricKey(keyBlockOf(found.material)) : undefined;
  if (!kekBytes) throw denied(`wrapping key ${kek.uid} has no usable key material`);

  const keyValue = block.value.find((c) => c.tag === Tag.KeyValue);
  if (keyValue?.type !== ItemType.Structure) throw new KmipError(Enum.ResultReason.IllegalOperation, 'this key is already wrapped');
  let plaintext: Buffer;
  if (spec.noEncoding) {
    const material = keyValue.value.find((c) => c.tag === Tag.KeyMaterial);
    if (material?.type !== ItemType.ByteString) throw new KmipError(Enum.ResultReason.EncodingOptionError, 'No Encoding needs Key Material that is a byte string');
    plaintext = material.value;
  } else {
    const extra = spec.attributeNames.flatMap((n) => attrs(target, n)).map((a) => attributeForVersion(a, ctx.version.minor)).filter((a) => a !== undefined);
    plaintext = encode(structure(Tag.KeyValue, [...keyValue.value, ...extra.map((a) => attributeItem(a))]));
  }
  if (plaintext.length < 16 || plaintext.length % 8 !== 0) {
    throw new KmipError(Enum.ResultReason.CryptographicFailure, 'AES Key Wrap needs at least 16 bytes in multiples of 8');
  }
  const cipher = createCipheriv(`id-aes${kekBytes.length * 8}-wrap`, kekBytes, AES_KW_IV);
  const wrapped = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  ctx.objectIds.push(kek.uid);

  const ekiFields: Item[] = [textString(Tag.UniqueIdentifier, kek.uid)];
  if (spec.cryptographicParameters) ekiFields.push(spec.cryptographicParameters);
  const wrappingData: Item[] = [
    enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
    structure(Tag.EncryptionKeyInformation, ekiFields),
  ];
  if (spec.noEncoding) wrappingData.push(enumeration(Tag.EncodingOption, Enum.EncodingOption.NoEncoding));
  return structure(Tag.KeyBlock, [
    ...block.value.filter((c) => c.tag === Tag.KeyFormatType || c.tag === Tag.KeyCompressionType),
    byteString(Tag.KeyValue, wrapped),
    ...block.value.filter((c) => c.tag === Tag.CryptographicAlgorithm || c.tag === Tag.CryptographicLength),
    structure(Tag.KeyWrappingData, wrappingData),
  ]);
}

function keyBlockOf(material: Buffer): StructureItem {
  const v = decode(material) as StructureItem;
  return v.value.find((c) => c.tag === Tag.KeyBlock) as StructureItem;
}
