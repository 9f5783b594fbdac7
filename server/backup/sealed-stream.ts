// The backup file's encryption: AES-256-GCM over fixed-size chunks, streamed, authenticated end to
// end (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár, "Online
// Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015):
//
//   "KHBACKUP" ‖ format (u8) ‖ header length (u32 BE) ‖ header (JSON)     plaintext, authenticated
//   chunk 0 ‖ tag ‖ chunk 1 ‖ tag ‖ … ‖ last chunk (0..chunkBytes bytes) ‖ tag
//
// Each file has its own key, HKDF-SHA256(backup key, the header's random salt). Chunk i's nonce is
// i (u64 BE) ‖ last (u8: 1 on the final chunk) ‖ 0 0 0, and its associated data is SHA-256 of the
// header bytes: a chunk cannot be moved, dropped, repeated or appended after the last, the header
// cannot be edited, and a file cut at a chunk boundary fails (its new last chunk was not sealed as
// last). Plaintext leaves the reader only after its chunk's tag checked out.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export const MAGIC = Buffer.from('KHBACKUP', 'ascii');
/** The format this release writes and the newest it reads. */
export const FORMAT = 1;
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
const TAG = 16;
const MAX_HEADER = 64 * 1024;
const PREFIX = MAGIC.length + 1 + 4;

export interface BackupHeader {
  format: number;
  cipher: 'AES-256-GCM';
  /** The backup-key generation whose shares open this file. */
  generation: number;
  /** keyCheck() of that backup key: wrong shares are told apart from a damaged file. */
  keyCheck: string;
  /** Base64 of 32 random bytes: this file's key derivation salt. */
  salt: string;
  chunkBytes: number;
  created: string;
}

function invalid(message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, message);
}

export function newHeader(o: { generation: number; keyCheck: string; created?: Date; chunkBytes?: number }): BackupHeader {
  return {
    format: FORMAT, cipher: 'AES-256-GCM', generation: o.generation, keyCheck: o.keyCheck,
    salt: randomBytes(32).toString('base64'), chunkBytes: o.chunkBytes ?? DEFAULT_CHUNK_BYTES, created: (o.created ?? new Date()).toISOString(),
  };
}

export function encodeHeader(h: BackupHeader): Buffer {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  const fixed = Buffer.alloc(PREFIX);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt8(h.format, MAGIC.length);
  fixed.writeUInt32BE(json.length, MAGIC.length + 1);
  return Buffer.concat([fixed, json]);
}

/**
 * Reads the header at the start of `buf`: undefined while more bytes are needed; refuses what is
 * not a Keyhaven backup, a newer format, or a header that is not one this release writes.
 */
export function decodeHeader(buf: Buffer): { header: BackupHeader; bytes: Buffer } | undefined {
  const sig = buf.subarray(0, MAGIC.length);
  if (!sig.equals(MAGIC.subarray(0, sig.length))) throw invalid('this is not a Keyhaven backup file (it does not start with KHBACKUP)');
  if (buf.length < PREFIX) return undefined;
  const format = buf.readUInt8(MAGIC.length);
  if (format > FORMAT) throw invalid(`this backup is of format ${format}, made by a newer Keyhaven; this release reads format ${FORMAT}: verify or restore it with a newer release`);
  if (format < 1) throw invalid(`this backup names format ${format}, which no Keyhaven wrote`);
  const length = buf.readUInt32BE(MAGIC.length + 1);
  if (length > MAX_HEADER) throw invalid(`the backup header claims ${length} bytes (at most ${MAX_HEADER}): the file is damaged`);
  if (buf.length < PREFIX + length) return undefined;
  const bytes = buf.subarray(0, PREFIX + length);
  let h: BackupHeader;
  try {
    h = JSON.parse(bytes.subarray(PREFIX).toString('utf8')) as BackupHeader;
  } catch {
    throw invalid('the backup header is not readable: the file is damaged');
  }
  const ok =
    h !== null && typeof h === 'object' && h.format === format && h.cipher === 'AES-256-GCM' && Number.isInteger(h.generation) && h.generation >= 1 &&
    typeof h.keyCheck === 'string' && /^[0-9a-f]{16}$/.test(h.keyCheck) && typeof h.salt === 'string' && Buffer.from(h.salt, 'base64').length === 32 &&
    Number.isInteger(h.chunkBytes) && h.chunkBytes >= 1024 && h.chunkBytes <= 16 * 1024 * 1024 && typeof h.created === 'string';
  if (!ok) throw invalid('the backup header is not one Keyhaven writes: the file is damaged or was altered');
  return { header: h, bytes };
}

function fileKey(backupKey: Buffer, header: BackupHeader): Buffer {
  return Buffer.from(hkdfSync('sha256', backupKey, Buffer.from(header.salt, 'base64'), 'keyhaven/backup-file/v1', 32));
}

function nonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 0);
  n[8] = last ? 1 : 0;
  return n;
}

/** Encrypts what is written to it into a backup file (header first). */
export class SealStream extends Transform {
  private readonly key: Buffer;
  private readonly aad: Buffer;
  private readonly head: Buffer;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;

  constructor(backupKey: Buffer, private readonly header: BackupHeader) {
    super();
    this.key = fileKey(backupKey, header);
    this.head = encodeHeader(header);
    this.aad = createHash('sha256').update(this.head).digest();
    this.push(this.head);
  }

  private seal(plain: Buffer, last: boolean): void {
    const c = createCipheriv('aes-256-gcm', this.key, nonce(this.index++, last));
    c.setAAD(this.aad);
    const out = c.update(plain);
    c.final();
    this.push(out);
    this.push(c.getAuthTag());
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const size = this.header.chunkBytes;
    // Keep at least one byte back: only flush knows which chunk is the last.
    if (this.pendingBytes > size) {
      let all = Buffer.concat(this.pending);
      while (all.length > size) {
        this.seal(all.subarray(0, size), false);
        all = all.subarray(size);
      }
      this.pending = [all];
      this.pendingBytes = all.length;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.seal(Buffer.concat(this.pending), true);
    this.key.fill(0);
    done();
  }
}

/**
 * Decrypts a backup file. `keyFor` is called once the header is read (it may refuse: wrong
 * generation, wrong shares) and returns the backup key. Emits plaintext only after each chunk's tag
 * verified; ends with an error on any damage, truncation or extra bytes.
 */
export class OpenStream extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private header: BackupHeader | undefined;
  private key: Buffer | undefined;
  private aad: Buffer | undefined;
  private index = 0;

  constructor(private readonly keyFor: (header: BackupHeader) => Buffer) {
    super();
  }

  /** The header, once read (for listings). */
  get backupHeader(): BackupHeader | undefined {
    return this.header;
  }

  private open(sealed: Buffer, last: boolean): Buffer {
    const d = createDecipheriv('aes-256-gcm', this.key!, nonce(this.index, last));
    d.setAAD(this.aad!);
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plain = d.update(sealed.subarray(0, sealed.length - TAG));
    d.final(); // throws unless the tag checks out
    return plain;
  }

  private openChunk(sealed: Buffer, last: boolean): Buffer {
    try {
      const p = this.open(sealed, last);
      this.index++;
      return p;
    } catch {
      if (last) {
        // Sealed as an inner chunk: the file was cut after it.
        let inner = false;
        try {
          this.open(sealed, false);
          inner = true;
        } catch {
          /* damaged, not cut */
        }
        if (inner) throw invalid(`the backup file is truncated: it ends after part ${this.index + 1}, which was not its last`);
      }
      throw invalid(`part ${this.index + 1} of the backup file failed authentication: the file was altered or damaged (or its header was edited)`);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      if (!this.header) {
        const got = decodeHeader(this.buf);
        if (!got) return done();
        this.header = got.header;
        this.aad = createHash('sha256').update(got.bytes).digest();
        this.buf = this.buf.subarray(got.bytes.length);
        const backupKey = this.keyFor(got.header);
        this.key = fileKey(backupKey, got.header);
      }
      const sealed = this.header.chunkBytes + TAG;
      // A chunk is known not to be the last only once a byte after it arrived.
      while (this.buf.length > sealed) {
        this.push(this.openChunk(this.buf.subarray(0, sealed), false));
        this.buf = this.buf.subarray(sealed);
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.header) throw invalid(this.buf.length === 0 ? 'the backup file is empty' : 'the backup file is truncated inside its header');
      if (this.buf.length < TAG) throw invalid('the backup file is truncated: its last part is missing');
      this.push(this.openChunk(this.buf, true));
      this.key?.fill(0);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/** Reads only the header of a backup file's first bytes (for listing a file without its key). */
export function peekHeader(first: Buffer): BackupHeader {
  const got = decodeHeader(first);
  if (!got) throw invalid('the backup file is truncated inside its header');
  return got.header;
}
