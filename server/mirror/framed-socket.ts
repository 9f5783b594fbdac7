// A TLS socket that carries the mirroring protocol's frames: checked messages in, messages out, and
// one way to end it (with a reason, once).
import type { TLSSocket } from 'node:tls';
import type { z } from 'zod';
import { frame, frameJson, FrameError, FrameReader } from './frames.js';
import { parseMessage } from './protocol.js';

export class FramedSocket<In> {
  private readonly reader = new FrameReader();
  private ended = false;
  private onMessage: ((m: In) => void) | undefined;
  private onEnd: ((reason: string) => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: TLSSocket,
    private readonly schema: z.ZodType<In>,
    private readonly idleMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) => this.end(`connection error: ${err.message}`));
    socket.on('close', () => this.end('connection closed'));
    this.touch();
  }

  /** Starts delivering messages and the end (call at once: data arrives only in later turns). */
  start(onMessage: (m: In) => void, onEnd: (reason: string) => void): void {
    this.onMessage = onMessage;
    this.onEnd = onEnd;
    if (this.ended) onEnd(this.endReason);
  }

  private endReason = '';

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    this.touch();
    let bodies: Buffer[];
    try {
      bodies = this.reader.push(chunk);
    } catch (err) {
      this.end(err instanceof FrameError ? err.message : String(err));
      return;
    }
    for (const body of bodies) {
      const parsed = parseMessage(this.schema, body);
      if (!parsed.ok) {
        this.end(`the peer sent ${parsed.problem}`);
        return;
      }
      this.onMessage?.(parsed.message);
      if (this.ended) return;
    }
  }

  private touch(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.end(`nothing heard for ${Math.round(this.idleMs / 1000)} s`), this.idleMs);
      this.idleTimer.unref();
    }
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Bytes queued for sending (flow control: a peer that does not read is not fed without bound). */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  send(message: unknown): void {
    if (this.ended) return;
    this.socket.write(frame(message));
  }

  /** Sends a message already written as JSON (its parts shared between connections). */
  sendJson(json: string): void {
    if (this.ended) return;
    this.socket.write(frameJson(json));
  }

  /** Ends the connection (after flushing what was sent); the end handler hears `reason`, once. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.onEnd?.(reason);
  }
}
