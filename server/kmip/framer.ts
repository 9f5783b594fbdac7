// Splits a byte stream into whole TTLV messages, as pg-protocol's Parser does for Postgres.
// The connection feeds it chunks of any size; it calls back once per complete message. It checks
// the 8-byte header as soon as it arrives, so an oversized or garbage message is refused before
// its body is buffered.
import { ErrorCodes, TtlvError } from '../errors.js';

const HEADER = 8;

export interface FramerOptions {
  /** Largest whole message (header included) accepted, in bytes. */
  maxMessageSize: number;
  /** Tag every top-level message must carry (e.g. Request Message, 0x420078). */
  expectTag?: number;
}

export class TtlvFramer {
  private buf: Buffer = Buffer.alloc(0);
  private readonly max: number;
  private readonly expectTag: number | undefined;

  constructor(options: FramerOptions) {
    this.max = options.maxMessageSize;
    this.expectTag = options.expectTag;
  }

  /** Bytes received but not yet part of a complete message. */
  get pending(): number {
    return this.buf.length;
  }

  /**
   * Adds a chunk and calls `onMessage` for every complete message now available, in order.
   * Throws TtlvError when a header is invalid; the stream cannot be resynchronised after that.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    const buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let at = 0;
    while (buf.length - at >= HEADER) {
      const total = this.checkHeader(buf, at);
      if (buf.length - at < total) break;
      // A fresh copy: callers may keep the message after the next push.
      onMessage(at === 0 && total === buf.length ? buf : Buffer.from(buf.subarray(at, at + total)));
      at += total;
    }
    // Check a partial header's tag and type early so a garbage stream is dropped at once.
    if (buf.length - at > 0 && buf.length - at < HEADER) this.checkPrefix(buf, at);
    // Keep only the unconsumed tail, copied so the caller's chunk is not retained.
    this.buf = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }

  private checkPrefix(buf: Buffer, at: number): void {
    if (buf[at] !== 0x42) {
      throw new TtlvError(ErrorCodes.TTLV_BAD_TAG, 'a KMIP message must start with a 0x42 tag', at);
    }
    if (buf.length - at >= 4 && buf[at + 3] !== 0x01) {
      throw new TtlvError(ErrorCodes.TTLV_BAD_TYPE, 'a KMIP message must be a Structure', at + 3);
    }
  }

  private checkHeader(buf: Buffer, at: number): number {
    this.checkPrefix(buf, at);
    const tag = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
    if (this.expectTag !== undefined && tag !== this.expectTag) {
      throw new TtlvError(
        ErrorCodes.TTLV_BAD_TAG,
        `expected message tag 0x${this.expectTag.toString(16)}, got 0x${tag.toString(16)}`,
        at,
      );
    }
    const length = buf.readUInt32BE(at + 4);
    if (length % 8 !== 0) {
      throw new TtlvError(ErrorCodes.TTLV_BAD_LENGTH, `message length ${length} is not a multiple of 8`, at + 4);
    }
    const total = HEADER + length;
    if (total > this.max) {
      throw new TtlvError(ErrorCodes.TTLV_TOO_LARGE, `message of ${total} bytes exceeds the limit of ${this.max}`, at + 4);
    }
    return total;
  }
}
