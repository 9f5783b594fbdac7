// Framing of the mirroring protocol on 6002: each message is a 4-byte big-endian length and that
// many bytes of UTF-8 JSON. Pure: the link feeds it chunks as they arrive (as the TTLV framer is fed).

export const FRAME_HEADER = 4;
/** A frame is at most this long (a batch of objects with their material stays well below). */
export const MAX_FRAME_BYTES = 32 * 1024 * 1024;

export class FrameError extends Error {}

export function frame(message: unknown): Buffer {
  return frameJson(JSON.stringify(message));
}

/** The frame of a message already written as JSON. */
export function frameJson(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  if (body.length > MAX_FRAME_BYTES) throw new FrameError(`a message of ${body.length} bytes is more than a frame holds (${MAX_FRAME_BYTES})`);
  const out = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, FRAME_HEADER);
  return out;
}

/** Collects chunks and hands out whole frames' bodies, in order. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;

  constructor(private readonly max = MAX_FRAME_BYTES) {}

  /** Bytes received that are not yet part of a whole frame. */
  get pending(): number {
    return this.have;
  }

  /** Adds a chunk; returns the bodies of the frames now complete. Throws FrameError on an oversized length. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: Buffer[] = [];
    while (this.have >= FRAME_HEADER) {
      const head = this.peek(FRAME_HEADER);
      const length = head.readUInt32BE(0);
      // Refused from the header, before the body is buffered.
      if (length > this.max) throw new FrameError(`a frame of ${length} bytes announced; at most ${this.max} are accepted`);
      if (this.have < FRAME_HEADER + length) break;
      const all = this.take(FRAME_HEADER + length);
      out.push(all.subarray(FRAME_HEADER));
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const taken = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.have -= n;
    return taken;
  }
}
