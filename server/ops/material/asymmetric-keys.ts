// Public and private keys (KMIP 1.4 §2.2.3, §2.2.4): checking registered key material in the DER
// formats of KMIP 1.4 §9.1.3.2.3 and converting between them for Get.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KmipError } from '../../errors.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum } from '../../kmip/tables.js';

const F = Enum.KeyFormatType;

/** KMIP Key Format Type → Node's DER encoding name, for the formats carried as a Byte String. */
const PRIVATE_DER: Partial<Record<number, 'pkcs1' | 'pkcs8' | 'sec1'>> = {
  [F.PKCS1]: 'pkcs1',
  [F.PKCS8]: 'pkcs8',
  [F.ECPrivateKey]: 'sec1',
};
const PUBLIC_DER: Partial<Record<number, 'pkcs1' | 'spki'>> = {
  [F.PKCS1]: 'pkcs1',
  [F.X509]: 'spki',
};

export function publicKeyShape(key: KeyObject): { algorithm: number; length: number } | undefined {
  const d = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return d?.modulusLength ? { algorithm: Enum.CryptographicAlgorithm.RSA, length: d.modulusLength } : undefined;
    case 'ec': {
      const bits: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp224r1: 224, secp256k1: 256 };
      const length = d?.namedCurve ? bits[d.namedCurve] : undefined;
      return length ? { algorithm: Enum.CryptographicAlgorithm.EC, length } : undefined;
    }
    default:
      return undefined;
  }
}

/** Parses registered key bytes; refuses material that is not a key of the declared format. */
export function parseAsymmetric(kind: 'public' | 'private', format: number, der: Buffer): KeyObject {
  const type = kind === 'private' ? PRIVATE_DER[format] : PUBLIC_DER[format];
  if (!type) {
    throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, `${kind} keys are accepted as ${kind === 'private' ? 'PKCS#1, PKCS#8 or ECPrivateKey' : 'PKCS#1 or X.509'} DER`);
  }
  try {
    return kind === 'private'
      ? createPrivateKey({ key: der, format: 'der', type: type as 'pkcs1' | 'pkcs8' | 'sec1' })
      : createPublicKey({ key: der, format: 'der', type: type as 'pkcs1' | 'spki' });
  } catch {
    throw invalidField(`the Key Material is not a valid ${kind} key in the declared Key Format Type`);
  }
}

/** Re-encodes a key in another DER format (KMIP 1.4 §4.11 Get with Key Format Type). */
export function exportAsymmetric(key: KeyObject, kind: 'public' | 'private', format: number): Buffer {
  const type = kind === 'private' ? PRIVATE_DER[format] : PUBLIC_DER[format];
  if (!type) throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, `cannot serve a ${kind} key in Key Format Type ${format}`);
  try {
    return key.export({ format: 'der', type } as never) as Buffer;
  } catch {
    throw new KmipError(Enum.ResultReason.KeyFormatTypeNotSupported, `this ${kind} key cannot be expressed in Key Format Type ${format}`);
  }
}
