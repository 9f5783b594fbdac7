// One client connection: frames the TLS byte stream into TTLV messages, hands them to the service
// one at a time (responses go out in request order), and enforces the per-connection limits:
// message size, time to finish a started message, idle time. A stream that cannot be framed gets a
// KMIP error response and is closed; nothing a client sends can stop the server.
//
// Backpressure both ways: reading pauses while maxQueuedMessages requests wait, and no further
// request is processed while the client leaves its responses unread (the socket's write buffer is
// over its high-water mark), so a client that pipelines without reading cannot make the server
// buffer responses without bound.
import type { TLSSocket } from 'node:tls';
import { TtlvError } from '../errors.js';
import { TtlvFramer } from '../kmip/framer.js';
import { Tag } from '../kmip/tables.js';
import { protocolErrorResponse } from '../ops/pipeline/handle-request.js';
import type { KmipService, Session } from '../kmip-service.js';

export interface ConnectionLimits {
  maxMessageBytes: number;
  readTimeoutMs: number;
  idleTimeoutMs: number;
  /** Complete messages buffered before reading pauses (backpressure on pipelining clients). */
  maxQueuedMessages: number;
}

export interface ConnectionEvents {
  onClose: () => void;
  onLog: (msg: string, fields: Record<string, unknown>) => void;
}

export class KmipConnection {
  private readonly framer: TtlvFramer;
  private readonly queue: Buffer[] = [];
  private busy = false;
  private closing = false;
  /** Reading stopped because the request queue is full. */
  private paused = false;
  /** Processing stopped until the client reads enough of its responses. */
  private waitingForDrain = false;
  private readTimer: NodeJS.Timeout | undefined;
  /** Set when the stream broke: sent once the requests framed before the break are answered. */
  private failure: string | undefined;

  constructor(
    readonly socket: TLSSocket,
    readonly session: Session,
    /** Serial number (lower-case hex) of the client certificate, for revocation while connected. */
    readonly certSerial: string,
    private readonly service: KmipService,
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
  ) {
    this.framer = new TtlvFramer({ maxMessageSize: limits.maxMessageBytes, expectTag: Tag.RequestMessage });
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs, () => this.abort('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {}); // peer resets are normal; 'close' follows
    socket.on('close', () => {
      clearTimeout(this.readTimer);
      this.closing = true;
      this.events.onClose();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closing || this.failure !== undefined) return;
    try {
      this.framer.push(chunk, (m) => this.queue.push(m));
    } catch (err) {
      const reason = err instanceof TtlvError ? err.message : 'unreadable stream';
      this.service.auditEvent(this.session, 'Connection', `refused stream: ${reason}`);
      this.fail(reason);
      return;
    }
    this.armReadTimer();
    if (this.queue.length >= this.limits.maxQueuedMessages) this.setReading(false);
    this.next();
  }

  /**
   * Slow senders: a started message must complete within readTimeoutMs. The clock only runs while
   * the server is reading; a pause for backpressure is not the client's delay.
   */
  private armReadTimer(): void {
    if (this.framer.pending > 0 && !this.paused && !this.closing) {
      this.readTimer ??= setTimeout(() => {
        this.service.auditEvent(this.session, 'Connection', 'read timeout');
        this.abort('read timeout');
      }, this.limits.readTimeoutMs);
    } else {
      clearTimeout(this.readTimer);
      this.readTimer = undefined;
    }
  }

  private setReading(on: boolean): void {
    if (this.paused === !on) return;
    this.paused = !on;
    if (on) this.socket.resume();
    else this.socket.pause();
    this.armReadTimer();
  }

  private next(): void {
    if (this.busy || this.closing || this.waitingForDrain) return;
    if (this.socket.writableNeedDrain) {
      // The client is not reading its responses: process nothing more until it does.
      this.waitingForDrain = true;
      this.socket.once('drain', () => {
        this.waitingForDrain = false;
        this.next();
      });
      return;
    }
    const message = this.queue.shift();
    if (!message) {
      if (this.failure !== undefined) this.sendFailure(this.failure);
      else this.setReading(true);
      return;
    }
    this.busy = true;
    this.service.handle(message, this.session, (result) => {
      this.busy = false;
      if (this.socket.destroyed) return;
      if (result instanceof Error) {
        // The request could not be made durable (or its handling failed outright): no response
        // may claim it was done, so the connection closes without one.
        this.events.onLog('closing connection: the request could not be answered', {
          identity: this.session.identity,
          err: result.message,
        });
        this.socket.destroy();
        return;
      }
      this.socket.write(result);
      this.next();
    });
  }

  /**
   * An unframeable stream: nothing more is read; the complete requests that came before the break
   * are still answered, in order, then an Invalid Message response, then the connection closes.
   */
  private fail(reason: string): void {
    this.failure = reason;
    this.setReading(false);
    this.next();
  }

  private sendFailure(reason: string): void {
    if (this.closing || this.socket.destroyed) return;
    this.closing = true;
    clearTimeout(this.readTimer);
    this.socket.end(protocolErrorResponse(`cannot read the request stream: ${reason}`));
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  abort(reason: string): void {
    this.events.onLog('closing connection', { identity: this.session.identity, address: this.session.address, reason });
    this.closing = true;
    this.socket.destroy();
  }
}
