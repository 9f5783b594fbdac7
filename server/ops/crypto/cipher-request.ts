// The request fields Encrypt and Decrypt share (KMIP 1.4 §4.29, §4.30), parsed once: the key, the
// Cryptographic Parameters, the data, the IV/Counter/Nonce and, from 1.4, the additional
// authenticated data and the tag. Multi-part calls (Correlation Value, Init and Final Indicators)
// are refused by name until streaming is served.
import { KmipError } from '../../errors.js';
import { decode } from '../../kmip/decode.js';
import { ItemType, type StructureItem } from '../../kmip/item.js';
import type { StructReader } from '../../kmip/reader.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { targetUid } from '../model/access.js';
import { numberAttr } from '../model/object-model.js';
import { rawSymmetricKey } from '../material/key-material.js';
import type { ParseContext } from '../pipeline/operation.js';
import type { StoredObject } from '../../store/key-store.js';
import { readCryptoParams, type CryptoParams } from './crypto-parameters.js';

export interface CipherRequest {
  uid: string;
  params: CryptoParams;
  data: Buffer;
  iv?: Buffer;
  aad?: Buffer;
  tag?: Buffer;
}

export function parseCipherRequest(p: StructReader, ctx: ParseContext, what: 'Encrypt' | 'Decrypt'): CipherRequest {
  const uid = targetUid(p, ctx);
  const params = readCryptoParams(p.optionalStructureItem(Tag.CryptographicParameters));
  const data = p.optional(Tag.Data, ItemType.ByteString);
  const iv = p.optional(Tag.IVCounterNonce, ItemType.ByteString);
  const streaming = [Tag.CorrelationValue, Tag.InitIndicator, Tag.FinalIndicator].some((t) => p.optionalItem(t, t === Tag.CorrelationValue ? ItemType.ByteString : ItemType.Boolean) !== undefined);
  // KMIP 1.4 §4.29/§4.30: the authenticated-encryption fields exist from 1.4.
  const aad = ctx.version.minor >= 4 ? p.optional(Tag.AuthenticatedEncryptionAdditionalData, ItemType.ByteString) : undefined;
  const tag = ctx.version.minor >= 4 && what === 'Decrypt' ? p.optional(Tag.AuthenticatedEncryptionTag, ItemType.ByteString) : undefined;
  p.done();
  if (streaming) throw new KmipError(Enum.ResultReason.FeatureNotSupported, `multi-part ${what} (Correlation Value, Init/Final Indicator) is not supported: send the data in one request`);
  if (data === undefined) throw new KmipError(Enum.ResultReason.InvalidMessage, `${what} needs Data`);
  return { uid, params, data, ...(iv ? { iv } : {}), ...(aad ? { aad } : {}), ...(tag ? { tag } : {}) };
}

/** The AES key's bytes; only AES symmetric keys serve these calls so far. */
export function aesKeyBytes(key: StoredObject, material: Buffer, params: CryptoParams): Buffer {
  const algorithm = numberAttr(key, 'Cryptographic Algorithm');
  if (key.objectType !== Enum.ObjectType.SymmetricKey || algorithm !== Enum.CryptographicAlgorithm.AES) {
    throw new KmipError(Enum.ResultReason.FeatureNotSupported, `object ${key.uid} is not an AES key: Encrypt and Decrypt serve AES symmetric keys`);
  }
  if (params.cryptographicAlgorithm !== undefined && params.cryptographicAlgorithm !== Enum.CryptographicAlgorithm.AES) {
    throw new KmipError(Enum.ResultReason.InvalidField, `the Cryptographic Parameters name another algorithm than the key's (AES)`);
  }
  const value = decode(material) as StructureItem;
  const block = value.value.find((c) => c.tag === Tag.KeyBlock);
  const bytes = block?.type === ItemType.Structure ? rawSymmetricKey(block) : undefined;
  if (!bytes) throw new KmipError(Enum.ResultReason.KeyValueNotPresent, `object ${key.uid} holds no usable key value`);
  return bytes;
}
