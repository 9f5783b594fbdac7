// KMIP 1.4 §3.6 Cryptographic Parameters as the cryptographic services read them (§4.29–§4.37): from
// the request, and for each field the request leaves out, from the key's own Cryptographic
// Parameters attribute (§4.29: "if omitted, the server uses the key's Cryptographic Parameters").
import { ItemType, type Item } from '../../kmip/item.js';
import { StructReader } from '../../kmip/reader.js';
import { Tag } from '../../kmip/tables.js';
import type { StoredObject } from '../../store/key-store.js';
import { attrs } from '../model/object-model.js';

export interface CryptoParams {
  blockCipherMode?: number;
  paddingMethod?: number;
  hashingAlgorithm?: number;
  cryptographicAlgorithm?: number;
  randomIv?: boolean;
  ivLength?: number;
  tagLength?: number;
}

/** Reads a Cryptographic Parameters structure; fields the services do not use are accepted and ignored. */
export function readCryptoParams(item: Item | undefined): CryptoParams {
  if (item?.type !== ItemType.Structure) return {};
  const r = new StructReader(item, 'Cryptographic Parameters');
  const out: CryptoParams = {};
  const mode = r.optionalEnumeration(Tag.BlockCipherMode);
  const padding = r.optionalEnumeration(Tag.PaddingMethod);
  const hashing = r.optionalEnumeration(Tag.HashingAlgorithm);
  const algorithm = r.optionalEnumeration(Tag.CryptographicAlgorithm);
  const randomIv = r.optional(Tag.RandomIV, ItemType.Boolean);
  const ivLength = r.optionalInteger(Tag.IVLength);
  const tagLength = r.optionalInteger(Tag.TagLength);
  if (mode !== undefined) out.blockCipherMode = mode;
  if (padding !== undefined) out.paddingMethod = padding;
  if (hashing !== undefined) out.hashingAlgorithm = hashing;
  if (algorithm !== undefined) out.cryptographicAlgorithm = algorithm;
  if (randomIv !== undefined) out.randomIv = randomIv;
  if (ivLength !== undefined) out.ivLength = ivLength;
  if (tagLength !== undefined) out.tagLength = tagLength;
  // The rest (Key Role Type, Digital Signature Algorithm, field and counter lengths, the 1.4 PSS/OAEP
  // fields) does not apply to the block cipher modes served here.
  return out;
}

/** The request's parameters, completed field by field from the key's first Cryptographic Parameters. */
export function effectiveParams(request: CryptoParams, key: StoredObject): CryptoParams {
  const own = readCryptoParams(attrs(key, 'Cryptographic Parameters')[0]?.value);
  return { ...own, ...request };
}
