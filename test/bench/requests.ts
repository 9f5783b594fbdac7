// Pre-encoded request messages for the load generator: one Create request reused as is, and Get
// templates (one per Unique Identifier length) into which a key's identifier is copied, so that a
// request costs the client a 36-byte copy rather than an encode.
import { Enum, Tag } from '../../server/kmip/tables.js';
import { createAes, request, withUid } from '../support/requests.js';

/** KMIP 1.2: the highest version PyKMIP 0.10's server speaks (its engine defaults to 1.2). */
export const DEFAULT_MINOR = 2;

/** AES-256: 32 bytes of key material in every Get response. */
export const KEY_BITS = 256;
export const KEY_BYTES = KEY_BITS / 8;

export function createRequest(minor: number): Buffer {
  return request([createAes(KEY_BITS)], { minor });
}

/** A Get request for an identifier of `length` bytes, and where those bytes go. */
export interface GetTemplate {
  bytes: Buffer;
  uidAt: number;
}

export function getTemplate(minor: number, length: number): GetTemplate {
  const bytes = request([withUid(Enum.Operation.Get, 'x'.repeat(length))], { minor });
  const header = Buffer.from([Tag.UniqueIdentifier >>> 16, (Tag.UniqueIdentifier >>> 8) & 0xff, Tag.UniqueIdentifier & 0xff, 0x07]);
  const at = bytes.indexOf(header);
  if (at < 0 || bytes.readUInt32BE(at + 4) !== length) throw new Error('Get template without its Unique Identifier');
  return { bytes, uidAt: at + 8 };
}

/** Identifiers packed into one shareable buffer: bytes of uid i are data[offsets[i], offsets[i+1]). */
export interface PackedUids {
  data: Uint8Array;
  offsets: Uint32Array;
}

export function packUids(uids: readonly string[]): PackedUids {
  const encoded = uids.map((u) => Buffer.from(u, 'utf8'));
  const total = encoded.reduce((n, b) => n + b.length, 0);
  const data = new Uint8Array(new SharedArrayBuffer(Math.max(1, total)));
  const offsets = new Uint32Array(new SharedArrayBuffer(4 * (uids.length + 1)));
  let at = 0;
  encoded.forEach((b, i) => {
    offsets[i] = at;
    data.set(b, at);
    at += b.length;
  });
  offsets[uids.length] = at;
  return { data, offsets };
}
