// AES in the block cipher modes Encrypt and Decrypt serve (KMIP 1.4 §4.29, §4.30; §9.1.3.2.14 Block
// Cipher Mode, §9.1.3.2.15 Padding Method), over Node's OpenSSL: GCM (96-bit nonce by default, tag
// 4-16 bytes, additional authenticated data), CBC and ECB (padding PKCS#5/#7 or none), CTR, CFB and
// OFB (stream modes: no padding). IVs the client leaves out are generated here and returned.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KmipError } from '../errors.js';
import { Enum } from '../kmip/tables.js';

const M = Enum.BlockCipherMode;
const P = Enum.PaddingMethod;

const NAMES: ReadonlyMap<number, string> = new Map([[M.GCM, 'gcm'], [M.CBC, 'cbc'], [M.ECB, 'ecb'], [M.CTR, 'ctr'], [M.CFB, 'cfb'], [M.OFB, 'ofb']]);
const BLOCK = 16;

export interface AesRequest {
  key: Buffer;
  mode: number;
  padding: number | undefined;
  data: Buffer;
  /** IV, counter or nonce; generated for Encrypt when absent. */
  iv?: Buffer;
  /** GCM: additional authenticated data. */
  aad?: Buffer;
  /** GCM: the tag length for Encrypt (bytes, default 16); the tag to check for Decrypt. */
  tagLength?: number;
  tag?: Buffer;
  /** The IV length asked for (bytes), when generated. */
  ivLength?: number;
}

export interface AesResult {
  data: Buffer;
  /** The IV the server generated (returned to the client: §4.29 IV/Counter/Nonce). */
  generatedIv?: Buffer;
  tag?: Buffer;
}

const refused = (m: string) => new KmipError(Enum.ResultReason.InvalidField, m);
const failed = (m: string) => new KmipError(Enum.ResultReason.CryptographicFailure, m);

function cipherName(key: Buffer, mode: number): string {
  if (![16, 24, 32].includes(key.length)) throw refused(`the key is ${key.length * 8} bits: AES keys are 128, 192 or 256 bits`);
  const name = NAMES.get(mode);
  if (!name) throw new KmipError(Enum.ResultReason.FeatureNotSupported, `block cipher mode ${mode} is not supported: use GCM, CBC, ECB, CTR, CFB or OFB`);
  return `aes-${key.length * 8}-${name}`;
}

/** Whether the mode pads (CBC and ECB: PKCS#5 or none, the request's or the key's choice). */
function autoPadding(mode: number, padding: number | undefined): boolean {
  if (mode !== M.CBC && mode !== M.ECB) {
    if (padding !== undefined && padding !== P.None) throw refused(`padding is for CBC and ECB; ${NAMES.get(mode)?.toUpperCase()} takes none`);
    return false;
  }
  if (padding === undefined || padding === P.None) return false;
  if (padding === P.PKCS5) return true;
  throw new KmipError(Enum.ResultReason.FeatureNotSupported, `padding method ${padding} is not supported: use PKCS5 (PKCS#7 for AES) or None`);
}

function ivFor(mode: number, given: Buffer | undefined, generate: boolean, ivLength: number | undefined): { iv: Buffer | null; generated?: Buffer } {
  if (mode === M.ECB) {
    if (given && given.length > 0) throw refused('ECB takes no IV');
    return { iv: null };
  }
  const want = mode === M.GCM ? (ivLength ?? 12) : BLOCK;
  if (given) {
    if (mode === M.GCM ? given.length < 1 || given.length > 128 : given.length !== BLOCK) throw refused(`the IV/Counter/Nonce is ${given.length} bytes; ${NAMES.get(mode)?.toUpperCase()} takes ${mode === M.GCM ? '12 (or 1 to 128)' : BLOCK}`);
    return { iv: given };
  }
  if (!generate) throw new KmipError(Enum.ResultReason.InvalidMessage, `${NAMES.get(mode)?.toUpperCase()} needs the IV/Counter/Nonce the data was encrypted with`);
  if (mode !== M.GCM && ivLength !== undefined && ivLength !== BLOCK) throw refused(`IV Length ${ivLength}: ${NAMES.get(mode)?.toUpperCase()} takes ${BLOCK}-byte IVs`);
  if (want < 1 || want > 128) throw refused(`IV Length ${want} is out of range (1 to 128 bytes)`);
  const iv = randomBytes(want);
  return { iv, generated: iv };
}

function gcmTagLength(n: number | undefined): number {
  const t = n ?? 16;
  if (!Number.isInteger(t) || t < 4 || t > 16) throw refused(`Tag Length ${t}: GCM tags are 4 to 16 bytes`);
  return t;
}

export function aesEncrypt(r: AesRequest): AesResult {
  const name = cipherName(r.key, r.mode);
  const pad = autoPadding(r.mode, r.padding);
  if ((r.mode === M.CBC || r.mode === M.ECB) && !pad && r.data.length % BLOCK !== 0) {
    throw refused(`${r.data.length} bytes are not a whole number of ${BLOCK}-byte blocks: ask for PKCS5 padding, or send whole blocks`);
  }
  const { iv, generated } = ivFor(r.mode, r.iv, true, r.ivLength);
  if (r.mode === M.GCM) {
    const tagLength = gcmTagLength(r.tagLength);
    const c = createCipheriv(name as 'aes-256-gcm', r.key, iv!, { authTagLength: tagLength });
    if (r.aad) c.setAAD(r.aad);
    const data = Buffer.concat([c.update(r.data), c.final()]);
    return { data, tag: c.getAuthTag(), ...(generated ? { generatedIv: generated } : {}) };
  }
  if (r.aad) throw refused('additional authenticated data is for GCM only');
  const c = createCipheriv(name, r.key, iv);
  c.setAutoPadding(pad);
  return { data: Buffer.concat([c.update(r.data), c.final()]), ...(generated ? { generatedIv: generated } : {}) };
}

export function aesDecrypt(r: AesRequest): Buffer {
  const name = cipherName(r.key, r.mode);
  const pad = autoPadding(r.mode, r.padding);
  const { iv } = ivFor(r.mode, r.iv, false, r.ivLength);
  if (r.mode === M.GCM) {
    if (!r.tag) throw new KmipError(Enum.ResultReason.InvalidMessage, 'GCM decryption needs the Authenticated Encryption Tag');
    gcmTagLength(r.tag.length);
    const d = createDecipheriv(name as 'aes-256-gcm', r.key, iv!, { authTagLength: r.tag.length });
    if (r.aad) d.setAAD(r.aad);
    d.setAuthTag(r.tag);
    try {
      return Buffer.concat([d.update(r.data), d.final()]);
    } catch {
      throw failed('the data does not authenticate (wrong key, IV, additional data or tag, or altered ciphertext)');
    }
  }
  if (r.aad) throw refused('additional authenticated data is for GCM only');
  if ((r.mode === M.CBC || r.mode === M.ECB) && r.data.length % BLOCK !== 0) throw refused(`${r.data.length} bytes are not a whole number of ${BLOCK}-byte blocks`);
  const d = createDecipheriv(name, r.key, iv);
  d.setAutoPadding(pad);
  try {
    return Buffer.concat([d.update(r.data), d.final()]);
  } catch {
    throw failed('the padding is wrong after decryption (wrong key, IV or padding method, or altered ciphertext)');
  }
}
