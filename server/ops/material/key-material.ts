// Generating symmetric keys, building Key Blocks (KMIP 1.4 §2.1.3) and converting between the key
// formats this server serves (KMIP 1.4 §2.1.7: Raw and Transparent Symmetric Key).
import { createHash, randomBytes } from 'node:crypto';
import { KmipError } from '../../errors.js';
import { byteString, enumeration, integer, structure, type Item, type StructureItem, ItemType } from '../../kmip/item.js';
import { invalidField, StructReader } from '../../kmip/reader.js';
import { encode } from '../../kmip/encode.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { av } from '../model/object-model.js';

const A = Enum.CryptographicAlgorithm;

/** Key lengths (bits) this server generates, per algorithm. HMAC keys take any multiple of 8. */
const SYMMETRIC_LENGTHS: ReadonlyMap<number, readonly number[] | 'hmac'> = new Map<number, readonly number[] | 'hmac'>([
  [A.AES, [128, 192, 256]],
  [A._3DES, [112, 168]],
  [A.Camellia, [128, 192, 256]],
  [A.ChaCha20, [256]],
  [A.HMACSHA1, 'hmac'],
  [A.HMACSHA224, 'hmac'],
  [A.HMACSHA256, 'hmac'],
  [A.HMACSHA384, 'hmac'],
  [A.HMACSHA512, 'hmac'],
]);

export const SYMMETRIC_ALGORITHMS = [...SYMMETRIC_LENGTHS.keys()];

/** Bytes of key material for an algorithm and KMIP Cryptographic Length (3DES counts no parity bits). */
export function materialBytes(algorithm: number, lengthBits: number): number {
  if (algorithm === A._3DES) return lengthBits === 112 ? 16 : 24;
  return lengthBits / 8;
}

export function checkSymmetricLength(algorithm: number, lengthBits: number, algorithmName: string): void {
  const allowed = SYMMETRIC_LENGTHS.get(algorithm);
  if (!allowed) {
    throw new KmipError(
      Enum.ResultReason.FeatureNotSupported,
      `${algorithmName} keys are not supported; use AES, 3DES, Camellia, ChaCha20 or an HMAC algorithm`,
    );
  }
  const ok = allowed === 'hmac' ? lengthBits >= 112 && lengthBits <= 4096 && lengthBits % 8 === 0 : allowed.includes(lengthBits);
  if (!ok) {
    const expected = allowed === 'hmac' ? 'a multiple of 8 from 112 to 4096' : allowed.join(', ');
    throw invalidField(`Cryptographic Length ${lengthBits} is not valid for ${algorithmName}; use ${expected}`);
  }
}

/** Fresh key material from the system CSPRNG; DES-family keys get odd parity (FIPS 46-3). */
export function generateSymmetricKey(algorithm: number, lengthBits: number): Buffer {
  const key = randomBytes(materialBytes(algorithm, lengthBits));
  if (algorithm === A._3DES) {
    for (let i = 0; i < key.length; i++) {
      const b = key[i]! & 0xfe;
      let ones = 0;
      for (let v = b; v; v >>= 1) ones += v & 1;
      key[i] = b | (ones % 2 === 0 ? 1 : 0);
    }
  }
  return key;
}

/** KMIP 1.4 §2.1.3 Key Block with a plain (unwrapped) Key Value. */
export function keyBlock(format: number, keyMaterial: Item, algorithm?: number, lengthBits?: number): StructureItem {
  const fields: Item[] = [enumeration(Tag.KeyFormatType, format), structure(Tag.KeyValue, [keyMaterial])];
  if (algorithm !== undefined) fields.push(enumeration(Tag.CryptographicAlgorithm, algorithm));
  if (lengthBits !== undefined) fields.push(integer(Tag.CryptographicLength, lengthBits));
  return structure(Tag.KeyBlock, fields);
}

export function symmetricKeyObject(raw: Buffer, algorithm: number, lengthBits: number): StructureItem {
  return structure(Tag.SymmetricKey, [keyBlock(Enum.KeyFormatType.Raw, byteString(Tag.KeyMaterial, raw), algorithm, lengthBits)]);
}

/** The raw bytes of a symmetric Key Block in Raw or Transparent Symmetric Key format, if plain. */
export function rawSymmetricKey(block: StructureItem): Buffer | undefined {
  const format = block.value.find((c) => c.tag === Tag.KeyFormatType);
  const value = block.value.find((c) => c.tag === Tag.KeyValue);
  if (format?.type !== ItemType.Enumeration || value?.type !== ItemType.Structure) return undefined;
  const material = value.value.find((c) => c.tag === Tag.KeyMaterial);
  if (format.value === Enum.KeyFormatType.Raw && material?.type === ItemType.ByteString) return material.value;
  if (format.value === Enum.KeyFormatType.TransparentSymmetricKey && material?.type === ItemType.Structure) {
    const key = material.value.find((c) => c.tag === Tag.Key);
    return key?.type === ItemType.ByteString ? key.value : undefined;
  }
  return undefined;
}

/**
 * Re-expresses a symmetric Key Block in the requested format (KMIP 1.4 §4.11 Get, Key Format Type).
 * Raw and Transparent Symmetric Key are interchangeable; anything else is refused.
 */
export function convertSymmetricBlock(block: StructureItem, format: number): StructureItem {
  const current = block.value.find((c) => c.tag === Tag.KeyFormatType);
  if (current?.type === ItemType.Enumeration && current.value === format) return block;
  const raw = rawSymmetricKey(block);
  if (!raw || (format !== Enum.KeyFormatType.Raw && format !== Enum.KeyFormatType.TransparentSymmetricKey)) {
    throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, 'symmetric keys are served as Raw or Transparent Symmetric Key');
  }
  const material =
    format === Enum.KeyFormatType.Raw
      ? byteString(Tag.KeyMaterial, raw)
      : structure(Tag.KeyMaterial, [byteString(Tag.Key, raw)]);
  const rest = block.value.filter((c) => c.tag !== Tag.KeyFormatType && c.tag !== Tag.KeyValue);
  const keyValue = block.value.find((c) => c.tag === Tag.KeyValue) as StructureItem;
  const keyValueAttrs = keyValue.value.filter((c) => c.tag !== Tag.KeyMaterial);
  return structure(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, format),
    structure(Tag.KeyValue, [material, ...keyValueAttrs]),
    ...rest,
  ]);
}

/**
 * KMIP 1.4 §3.17 Digest of Key Material as registered: a Byte String's bytes, or the TTLV encoding of
 * a structured Key Material (Transparent formats).
 */
export function materialDigest(material: Item, format: number): Item {
  return digestAttribute(material.type === ItemType.ByteString ? material.value : encode(material), format);
}

/** KMIP 1.4 §3.17 Digest: SHA-256 over the key material as it is held (Key Format Type recorded). */
export function digestAttribute(bytes: Buffer, format?: number): Item {
  const fields: Item[] = [
    enumeration(Tag.HashingAlgorithm, Enum.HashingAlgorithm.SHA256),
    byteString(Tag.DigestValue, createHash('sha256').update(bytes).digest()),
  ];
  if (format !== undefined) fields.push(enumeration(Tag.KeyFormatType, format));
  return av.struct(fields);
}

/** Reads the Key Block of a key object structure, or refuses the object. */
export function readKeyBlock(object: StructureItem, where: string): StructureItem {
  const r = new StructReader(object, where);
  const block = r.structureItem(Tag.KeyBlock);
  r.done();
  return block;
}
