// A minimal KMIP-over-TLS client for tests and benchmarks: sends encoded Request Messages and
// resolves with each framed Response Message, in order.
import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { TtlvFramer } from '../../server/kmip/framer.js';
import { Tag } from '../../server/kmip/tables.js';

export interface ClientFiles {
  ca: string;
  cert: string;
  key: string;
}

export class KmipTestClient {
  private readonly waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private readonly framer = new TtlvFramer({ maxMessageSize: 64 * 1024 * 1024, expectTag: Tag.ResponseMessage });
  closed: Promise<void>;
  /**
   * The server's certificate, read when the handshake completed: with TLS 1.3, Node's
   * getPeerX509Certificate() reads undefined once the server's session tickets have arrived.
   */
  readonly serverCertificate: X509Certificate | undefined;

  private constructor(readonly socket: tls.TLSSocket) {
    this.serverCertificate = socket.getPeerX509Certificate();
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk, (m) => this.waiting.shift()?.resolve(m));
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error('connection closed before a response'));
    });
    socket.on('error', () => {});
  }

  static connect(port: number, files: ClientFiles, options: tls.ConnectionOptions = {}): Promise<KmipTestClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: readFileSync(files.ca),
        cert: readFileSync(files.cert),
        key: readFileSync(files.key),
        ...options,
      });
      socket.once('secureConnect', () => resolve(new KmipTestClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one request; resolves with its response bytes. */
  send(request: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.end();
  }
}
