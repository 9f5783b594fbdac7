// A low-level KMIP-over-TLS connection for robustness tests: writes arbitrary bytes, collects every
// framed Response Message that comes back, and tells how and when the connection ended. Unlike
// KmipTestClient it never assumes one response per request, so garbage, pipelining and server-side
// closes can be observed as they are.
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { TtlvFramer } from '../../server/kmip/framer.js';
import { Tag } from '../../server/kmip/tables.js';
import type { ClientFiles } from './kmip-client.js';

export interface ConnectOptions extends tls.ConnectionOptions {
  /** Give up on the handshake after this long (default 5 s). */
  handshakeTimeoutMs?: number;
}

export class RawConnection {
  readonly responses: Buffer[] = [];
  /** Set when the server sent bytes that do not frame as Response Messages. */
  framingError: string | undefined;
  error: (Error & { code?: string }) | undefined;
  closed = false;
  /** Milliseconds from connect until 'close'. */
  closedAfterMs: number | undefined;
  readonly whenClosed: Promise<void>;
  private readonly framer = new TtlvFramer({ maxMessageSize: 64 * 1024 * 1024, expectTag: Tag.ResponseMessage });
  private waiters: (() => void)[] = [];
  private readonly started = Date.now();
  /**
   * The server's certificate, read when the handshake completed: with TLS 1.3, Node's
   * getPeerX509Certificate() reads undefined once the server's session tickets have arrived.
   */
  readonly serverCertificate: X509Certificate | undefined;

  private constructor(readonly socket: tls.TLSSocket) {
    this.serverCertificate = socket.getPeerX509Certificate();
    socket.on('data', (chunk: Buffer) => {
      if (this.framingError) return;
      try {
        this.framer.push(chunk, (m) => this.responses.push(m));
      } catch (err) {
        this.framingError = (err as Error).message;
      }
      this.wake();
    });
    socket.on('error', (err) => {
      this.error ??= err;
    });
    this.whenClosed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.closedAfterMs = Date.now() - this.started;
        this.wake();
        resolve();
      }),
    );
  }

  /** Connects and completes the TLS handshake; rejects with the TLS error when it fails. */
  static connect(port: number, files: ClientFiles | undefined, options: ConnectOptions = {}): Promise<RawConnection> {
    const { handshakeTimeoutMs = 5000, ...tlsOptions } = options;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ...(files ? { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) } : {}),
        ...tlsOptions,
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('TLS handshake timed out'));
      }, handshakeTimeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `n` responses arrived, the connection closed, or the time ran out. */
  async waitFor(n: number, timeoutMs = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n && !this.closed && !this.framingError && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.responses;
  }

  /** True when the connection closed within the time. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const r = await Promise.race([this.whenClosed.then(() => true), timeout]);
    clearTimeout(timer);
    return r;
  }

  /** Sends one request and waits for the next response (or the close). */
  async roundTrip(request: Buffer, timeoutMs = 5000): Promise<Buffer | undefined> {
    const before = this.responses.length;
    await this.write(request);
    await this.waitFor(before + 1, timeoutMs);
    return this.responses[before];
  }

  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
