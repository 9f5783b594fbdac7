// One client connection: frames the TLS byte stream into TTLV messages, hands them to the service
// one at a time (responses go out in request order), and enforces the per-connection limits:
// message size, time to finish a started message, idle time. A stream that cannot be framed gets a
// KMIP error response and is closed; nothing a client sends can stop the server.
import type { TLSSocket } from 'node:tls';
import { TtlvError } from '../errors.js';
import { TtlvFramer } from '../kmip/framer.js';
import { Tag } from '../kmip/tables.js';
import { protocolErrorResponse } from '../ops/handle-request.js';
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
  private readTimer: NodeJS.Timeout | undefined;
  /** Set when the stream broke while a request was in flight: sent after its response. */
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
    if (this.closing) return;
    try {
      this.framer.push(chunk, (m) => this.queue.push(m));
    } catch (err) {
      const reason = err instanceof TtlvError ? err.message : 'unreadable stream';
      this.service.auditEvent(this.session, 'Connection', `refused stream: ${reason}`);
      this.fail(reason);
      return;
    }
    // Slow senders: a started message must complete within readTimeoutMs.
    if (this.framer.pending > 0) {
      this.readTimer ??= setTimeout(() => {
        this.service.auditEvent(this.session, 'Connection', 'read timeout');
        this.abort('read timeout');
      }, this.limits.readTimeoutMs);
    } else {
      clearTimeout(this.readTimer);
      this.readTimer = undefined;
    }
    if (this.queue.length >= this.limits.maxQueuedMessages) this.socket.pause();
    this.next();
  }

  private next(): void {
    if (this.busy || this.closing) return;
    const message = this.queue.shift();
    if (!message) {
      this.socket.resume();
      return;
    }
    this.busy = true;
    this.service.handle(message, this.session, (result) => {
      this.busy = false;
      if (this.socket.destroyed) return;
      if (result instanceof Error) {
        // The request could not be made durable: no response may claim it was.
        this.events.onLog('closing connection after a storage failure', { identity: this.session.identity });
        this.socket.destroy();
        return;
      }
      this.socket.write(result);
      if (this.failure !== undefined) this.sendFailure(this.failure);
      else this.next();
    });
  }

  /** Answers an unframeable stream with an Invalid Message response, then closes. */
  private fail(reason: string): void {
    this.closing = true;
    this.queue.length = 0;
    if (this.busy) this.failure = reason;
    else this.sendFailure(reason);
  }

  private sendFailure(reason: string): void {
    if (this.socket.destroyed) return;
    this.socket.end(protocolErrorResponse(`cannot read the request stream: ${reason}`));
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  abort(reason: string): void {
    this.events.onLog('closing connection', { identity: this.session.identity, address: this.session.address, reason });
    this.closing = true;
    this.socket.destroy();
  }
}
