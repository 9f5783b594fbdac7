// Splits a byte stream into whole TTLV messages, as pg-protocol's Parser does for Postgres.
// The connection feeds it chunks of any size; it calls back once per complete message. It checks
// the 8-byte header as soon as it arrives (and each header byte as it arrives), so an oversized or
// garbage message is refused before its body is buffered.
//
// A message split over many chunks is assembled in one buffer allocated when its header is
// complete, so each byte is copied once however small the chunks are (a client sending one byte
// per TLS record cannot make the server copy its message over and over).
import { KmipCodes as ErrorCodes, TtlvError } from './errors.js';

const HEADER = 8;

export interface FramerOptions {
  /** Largest whole message (header included) accepted, in bytes. */
  maxMessageSize: number;
  /** Tag every top-level message must carry (e.g. Request Message, 0x420078). */
  expectTag?: number;
}

export class TtlvFramer {
  private readonly max: number;
  private readonly expectTag: number | undefined;
  /** The partial header (up to 8 bytes) of the message being received. */
  private readonly header = Buffer.alloc(HEADER);
  /** The message being received, allocated once its header is complete. */
  private body: Buffer | undefined;
  /** Bytes of the current message received so far. */
  private have = 0;
  /** Stream offset of the current message's first byte (error offsets are stream offsets). */
  private streamAt = 0;

  constructor(options: FramerOptions) {
    this.max = options.maxMessageSize;
    this.expectTag = options.expectTag;
  }

  /** Bytes received but not yet part of a complete message. */
  get pending(): number {
    return this.have;
  }

  /**
   * Adds a chunk and calls `onMessage` for every complete message now available, in order.
   * Throws TtlvError when a header is invalid; the stream cannot be resynchronised after that.
   * Each message passed to `onMessage` is the caller's to keep.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.have === 0 && chunk.length - at >= HEADER) {
        // Fast path: a whole header at hand.
        const total = this.checkHeader(chunk, at);
        if (chunk.length - at >= total) {
          // A copy, unless the chunk is exactly this message: the caller's chunk is not retained.
          onMessage(at === 0 && total === chunk.length ? chunk : Buffer.from(chunk.subarray(at, at + total)));
          at += total;
          this.streamAt += total;
          continue;
        }
        this.body = Buffer.allocUnsafe(total);
        this.have = chunk.copy(this.body, 0, at);
        return;
      }
      if (this.have < HEADER) {
        // Collect the header byte by byte, checking what has arrived.
        const n = chunk.copy(this.header, this.have, at, Math.min(chunk.length, at + HEADER - this.have));
        at += n;
        this.have += n;
        if (this.have < HEADER) {
          this.checkPrefix(this.header.subarray(0, this.have), 0);
          return;
        }
        const total = this.checkHeader(this.header, 0);
        this.body = Buffer.allocUnsafe(total);
        this.header.copy(this.body);
      }
      const body = this.body!;
      const n = chunk.copy(body, this.have, at, Math.min(chunk.length, at + body.length - this.have));
      at += n;
      this.have += n;
      if (this.have === body.length) {
        this.body = undefined;
        this.have = 0;
        this.streamAt += body.length;
        onMessage(body);
      }
    }
  }

  /** Checks as much of a header as has arrived (1 to 8 bytes), so garbage is refused at its first bytes. */
  private checkPrefix(buf: Buffer, at: number): void {
    const have = buf.length - at;
    if (buf[at] !== 0x42) {
      throw new TtlvError(ErrorCodes.TTLV_BAD_TAG, 'a KMIP message must start with a 0x42 tag', this.streamAt);
    }
    if (this.expectTag !== undefined) {
      for (let i = 1; i < Math.min(have, 3); i++) {
        if (buf[at + i] !== (this.expectTag >>> (8 * (2 - i))) % 256) {
          throw new TtlvError(
            ErrorCodes.TTLV_BAD_TAG,
            `expected message tag 0x${this.expectTag.toString(16)}, got 0x${buf.subarray(at, at + i + 1).toString('hex')}…`,
            this.streamAt,
          );
        }
      }
    }
    if (have >= 4 && buf[at + 3] !== 0x01) {
      throw new TtlvError(ErrorCodes.TTLV_BAD_TYPE, 'a KMIP message must be a Structure', this.streamAt + 3);
    }
  }

  /** Checks a complete header; returns the whole message's size. */
  private checkHeader(buf: Buffer, at: number): number {
    this.checkPrefix(buf.subarray(0, at + HEADER), at);
    const tag = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
    if (this.expectTag !== undefined && tag !== this.expectTag) {
      throw new TtlvError(
        ErrorCodes.TTLV_BAD_TAG,
        `expected message tag 0x${this.expectTag.toString(16)}, got 0x${tag.toString(16)}`,
        this.streamAt,
      );
    }
    const length = buf.readUInt32BE(at + 4);
    if (length % 8 !== 0) {
      throw new TtlvError(ErrorCodes.TTLV_BAD_LENGTH, `message length ${length} is not a multiple of 8`, this.streamAt + 4);
    }
    const total = HEADER + length;
    if (total > this.max) {
      throw new TtlvError(ErrorCodes.TTLV_TOO_LARGE, `message of ${total} bytes exceeds the limit of ${this.max}`, this.streamAt + 4);
    }
    return total;
  }
}
