// Key material is wrapped with AES-256-GCM before it reaches disk. The associated data binds the
// ciphertext to its object (id and type), so a row's material copied into another row, or an
// object type swapped, fails authentication instead of yielding a key.
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { publicRandomBytes } from './public-random.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';

/** Envelope version 1: 0x01 ‖ nonce (12) ‖ tag (16) ‖ ciphertext. */
const VERSION = 0x01;
const NONCE = 12;
const TAG = 16;

function aad(uid: string, objectType: number): Buffer {
  return Buffer.from(`keyhaven-object:v1:${objectType}:${uid}`, 'utf8');
}

export function wrapMaterial(key: Buffer | KeyObject, uid: string, objectType: number, plaintext: Buffer): Buffer {
  // A random 96-bit nonce per wrap; far below the 2^32 wraps per key bound of NIST SP 800-38D §8.3.
  const nonce = publicRandomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(uid, objectType));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), nonce, cipher.getAuthTag(), ct]);
}

export function unwrapMaterial(key: Buffer | KeyObject, uid: string, objectType: number, envelope: Buffer): Buffer {
  if (envelope.length < 1 + NONCE + TAG || envelope[0] !== VERSION) {
    throw new KeyhavenError(ErrorCodes.STORE_UNWRAP_FAILED, `key material of object ${uid} has an unknown envelope format`);
  }
  const nonce = envelope.subarray(1, 1 + NONCE);
  const tag = envelope.subarray(1 + NONCE, 1 + NONCE + TAG);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad(uid, objectType));
  decipher.setAuthTag(tag);
  let plaintext: Buffer | undefined;
  try {
    plaintext = decipher.update(envelope.subarray(1 + NONCE + TAG));
    // GCM is a stream mode: update() returned every byte and final() only checks the tag.
    const rest = decipher.final();
    return rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest]);
  } catch {
    plaintext?.fill(0); // not authentic: never let it outlive this call
    throw new KeyhavenError(
      ErrorCodes.STORE_UNWRAP_FAILED,
      `key material of object ${uid} failed authentication: the store was modified or the master key is wrong`,
    );
  }
}
