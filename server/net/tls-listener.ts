// The KMIP listener: TLS 1.2/1.3 with strong suites only, and a client certificate that chains to
// our CA, is not revoked and carries the clientAuth extended key usage — all checked before any
// byte of KMIP is read. The CRL file is watched: a revocation takes effect without a restart and
// closes the revoked client's open connections.
import { watchFile, unwatchFile } from 'node:fs';
import tls, { type TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { clientIdentity, loadTlsMaterial, pkiPaths, readCrlInfo } from '../pki/index.js';
import type { KmipService } from '../kmip-service.js';
import { KmipConnection, type ConnectionLimits } from './connection.js';

/** TLS 1.2 suites: forward secret AEAD only (TLS 1.3's are all AEAD and forward secret). */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

export interface ListenerOptions {
  host: string;
  port: number;
  /** Directory holding pki/. */
  pkiDataDir: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  handshakeTimeoutMs: number;
  maxConnections: number;
  limits: ConnectionLimits;
  service: KmipService;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** Certificate serials as the CRL reader renders them: lower-case hex without leading zero octets. */
export const normaliseSerial = (hex: string) => hex.toLowerCase().replace(/^(00)+(?=..)/, '');

/**
 * A short reason for a failed handshake, for the audit log. Node checks the client certificate
 * when OpenSSL's handshake is done and then just drops the socket, so the error it reports is a
 * bare "socket hang up"; the certificate's verdict (CERT_REVOKED, CERT_HAS_EXPIRED,
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, INVALID_PURPOSE…) is on the socket. Otherwise OpenSSL's own
 * reason ("no shared cipher", "unsupported protocol") without its file and line noise.
 */
export function handshakeFailure(err: Error & { reason?: unknown }, socket: TLSSocket): string {
  const verdict = (socket as { authorizationError?: unknown }).authorizationError;
  if (verdict) return `client certificate not accepted: ${String(verdict)}`;
  if (typeof err.reason === 'string' && err.reason) return err.reason;
  return err.message.split('\n')[0]!.trim();
}

export class KmipListener {
  private server: tls.Server;
  private readonly connections = new Set<KmipConnection>();
  private revoked = new Set<string>();
  private readonly crlPath: string;
  /** Failed handshakes are audited, at most this many per minute (then counted). */
  private refusedThisMinute = 0;
  private refusedSuppressed = 0;
  private readonly minuteTimer: NodeJS.Timeout;

  constructor(private readonly o: ListenerOptions) {
    this.crlPath = pkiPaths(o.pkiDataDir).crl;
    this.server = tls.createServer(this.contextOptions(), (socket) => this.accept(socket));
    this.server.maxConnections = o.maxConnections;
    this.server.on('tlsClientError', (err, socket) => {
      this.refused(socket.remoteAddress ?? '-', handshakeFailure(err, socket));
      // Node leaves the socket open after a handshake timeout (it only emits this event): without
      // this, a client that never sends a ClientHello holds a connection slot forever.
      socket.destroy();
    });
    this.server.on('drop', (d) => this.refused(d?.remoteAddress ?? '-', `the connection limit (${o.maxConnections}) is reached`));
    this.server.on('error', (err) => o.log('error', 'listener error', { err: err.message }));
    watchFile(this.crlPath, { interval: 2000, persistent: false }, () => this.reloadPki());
    this.minuteTimer = setInterval(() => {
      if (this.refusedSuppressed > 0) {
        this.o.service.auditEvent({ identity: '-', address: '-' }, 'Handshake', `${this.refusedSuppressed} further refused handshakes not recorded individually`);
      }
      this.refusedThisMinute = 0;
      this.refusedSuppressed = 0;
    }, 60_000);
    this.minuteTimer.unref();
  }

  private contextOptions(): tls.TlsOptions {
    const m = loadTlsMaterial(this.o.pkiDataDir);
    this.revoked = new Set(readCrlInfo(m.crl.toString('utf8')).serials.map(normaliseSerial));
    return {
      ...m,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: this.o.minVersion,
      ciphers: TLS12_CIPHERS,
      honorCipherOrder: true,
      ecdhCurve: 'X25519:P-256:P-384',
      handshakeTimeout: this.o.handshakeTimeoutMs,
      // Fresh ticket keys per start; rotated when the CRL changes so no revoked session resumes.
      ticketKeys: randomBytes(48),
    };
  }

  /** Picks up a changed CRL (or renewed server certificate) and drops revoked clients. */
  reloadPki(): void {
    try {
      this.server.setSecureContext(this.contextOptions());
      this.server.setTicketKeys(randomBytes(48));
    } catch (err) {
      this.o.log('error', 'could not reload the PKI files; keeping the previous ones', { err: (err as Error).message });
      return;
    }
    for (const c of this.connections) {
      if (this.revoked.has(c.certSerial)) {
        this.o.service.auditEvent(c.session, 'Connection', 'client certificate revoked while connected');
        c.abort('client certificate revoked');
      }
    }
    this.o.log('info', 'PKI files reloaded', { revoked: this.revoked.size });
  }

  private refused(address: string, reason: string): void {
    if (this.refusedThisMinute++ < 60) {
      this.o.service.auditEvent({ identity: '-', address }, 'Handshake', `refused: ${reason}`);
    } else {
      this.refusedSuppressed++;
    }
  }

  private accept(socket: TLSSocket): void {
    const address = socket.remoteAddress ?? '-';
    const cert = socket.getPeerX509Certificate();
    let identity: string;
    try {
      identity = clientIdentity(cert);
      const serial = normaliseSerial(cert!.serialNumber);
      // A resumed TLS session skips chain and CRL checks: check revocation here too.
      if (this.revoked.has(serial)) throw new KeyhavenError(ErrorCodes.PKI_CLIENT_REJECTED, 'the client certificate is revoked');
      const conn = new KmipConnection(socket, { identity, address }, serial, this.o.service, this.o.limits, {
        onClose: () => this.connections.delete(conn),
        onLog: (msg, fields) => this.o.log('info', msg, fields),
      });
      this.connections.add(conn);
    } catch (err) {
      this.refused(address, (err as Error).message);
      socket.destroy();
    }
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new KeyhavenError(ErrorCodes.NET_LISTEN_FAILED, `cannot listen on ${this.o.host}:${this.o.port}: ${err.code ?? err.message}`));
      this.server.once('error', onError);
      this.server.listen(this.o.port, this.o.host, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: this.o.host, port: this.o.port });
      });
    });
  }

  /** Stops accepting, then closes open connections once their in-flight request is answered. */
  close(): Promise<void> {
    unwatchFile(this.crlPath);
    clearInterval(this.minuteTimer);
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.connections) c.socket.end();
      setTimeout(() => {
        for (const c of this.connections) c.socket.destroy();
      }, 2000).unref();
    });
  }
}

