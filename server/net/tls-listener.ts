// The KMIP listener: TLS 1.2/1.3 with strong suites only, and a client certificate that chains to
// our CA, is not revoked and carries the clientAuth extended key usage — all checked before any
// byte of KMIP is read. The CRL file is watched: a revocation takes effect without a restart and
// closes the revoked client's open connections.
//
// A connection is admitted in two stages, so that connections which never complete a handshake —
// from one address or from many — cannot keep authenticated clients out:
// - pending: from the TCP accept until the handshake is done. Pending connections are capped in
//   total (maxPendingHandshakes: when full, the oldest — preferably one that has sent nothing — is
//   closed to admit the new one) and per client address (maxPendingHandshakesPerSource: beyond, new
//   ones are refused). A pending connection must send its first bytes (the ClientHello) within
//   helloTimeoutMs and finish the handshake within handshakeTimeoutMs, both counted from the accept.
// - authenticated: certificate accepted; at most maxConnections of them.
// TCP sockets are accepted by a plain net.Server and handed to the tls.Server only once their first
// bytes arrived (server.emit('connection', socket), Node's documented way to inject a connection;
// the bytes already read are fed to TLS first), so a silent connection holds no TLS state.
// Renegotiation is refused (TLS 1.2 only; TLS 1.3 has none, RFC 8446 §4.1.2): KMIP needs none, and
// each renegotiation costs the server a full handshake.
// The server certificate and key are reloaded (reloadPki: SIGHUP, or server.crt changing) without
// closing any connection: open ones keep the context they were made with, new handshakes get the new
// one (tls.Server#setSecureContext). A pair that does not fit is refused and the old one kept.
// The client certificate's verdict is checked here rather than by Node (rejectUnauthorized: false):
// Node drops a refused socket before its certificate can be read, and the audit record of the
// refusal names the certificate's subject and serial.
import type { X509Certificate } from 'node:crypto';
import { watchFile, unwatchFile } from 'node:fs';
import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { clientIdentity, loadTlsMaterial, pkiPaths, readCrlInfo, subjectFromX509 } from '../pki/index.js';
import type { KmipService } from '../kmip-service.js';
import type { PortPolicy } from '../ops/pipeline/port-roles.js';
import { KmipConnection, type ConnectionLimits } from './connection.js';
import { formatIpValue, parseIpValue } from '../../lib/ip-value.js';
import { checkServerPair } from './server-certificate.js';

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
  /** Deadline for the whole TLS handshake, from the TCP accept. */
  handshakeTimeoutMs: number;
  /** Deadline for a new connection's first bytes (its ClientHello), from the TCP accept. */
  helloTimeoutMs: number;
  /** Authenticated connections (handshake done, certificate accepted). */
  maxConnections: number;
  /** Connections in the TLS handshake, all addresses together. */
  maxPendingHandshakes: number;
  /** Connections in the TLS handshake from one client address. */
  maxPendingHandshakesPerSource: number;
  limits: ConnectionLimits;
  service: KmipService;
  /** What this port serves (port-roles.ts); absent: every operation. */
  policy?: PortPolicy;
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
  // (The listener checks the verdict itself, see accept(); kept for sockets that fail otherwise.)
  const verdict = (socket as { authorizationError?: unknown }).authorizationError;
  if (verdict) return `client certificate not accepted: ${String(verdict)}`;
  if (typeof err.reason === 'string' && err.reason) return err.reason;
  return err.message.split('\n')[0]!.trim();
}

/** The client end of a connection, as captured at the TCP accept (a failed TLS socket forgets it). */
interface Peer {
  address: string;
  port: number | undefined;
}

/**
 * The key that maxPendingHandshakesPerSource counts by: the client address, with an IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d, as a dual-stack listener reports IPv4 clients) taken as its IPv4.
 */
export function sourceOf(address: string): string {
  const ip = parseIpValue(address);
  if (!ip) return address;
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return formatIpValue({ family: 4, value: ip.value & 0xffffffffn });
  return formatIpValue(ip);
}

/** A TCP connection not yet through its TLS handshake. */
interface Pending {
  readonly raw: net.Socket;
  readonly peer: Peer;
  readonly source: string;
  /** Its first bytes arrived and it was handed to TLS. */
  hello: boolean;
  /** Closed (and audited) by the listener: Node's "socket hang up" that follows is not recorded again. */
  closed: boolean;
  helloTimer: NodeJS.Timeout | undefined;
  handshakeTimer: NodeJS.Timeout | undefined;
}

/** Errors Node raises on a TLS 1.2 renegotiation attempt (after disableRenegotiation(), or beyond its own limit). */
const RENEGOTIATION_ERRORS = new Set(['ERR_TLS_RENEGOTIATION_DISABLED', 'ERR_TLS_SESSION_ATTACK']);

/** Failed handshakes are audited individually up to this many per minute, then counted. */
const REFUSALS_AUDITED_PER_MINUTE = 60;

const first = <T>(set: Set<T>): T | undefined => set.values().next().value;

/**
 * What a refusal record says about the certificate a client presented: its subject (unless the
 * reason already names it) and serial.
 */
export function presentedCertificate(cert: X509Certificate, reason = ''): string {
  let subject: string;
  try {
    subject = subjectFromX509(cert);
  } catch {
    subject = cert.subject.replace(/\n/g, ',');
  }
  if (subject.length > 256) subject = `${subject.slice(0, 256)}…`;
  const serial = `serial ${normaliseSerial(cert.serialNumber)}`;
  return reason.includes(subject) ? `certificate ${serial}` : `certificate subject "${subject}" ${serial}`;
}

/** The TLS options and revocation list read from the PKI files, and the certificate presented. */
interface LoadedPki {
  options: tls.SecureContextOptions;
  revoked: Set<string>;
  certificate: X509Certificate;
  /** The files' contents, hashed: a reload of the same files (SIGHUP and the file watch both fire on a renewal) changes nothing. */
  digest: string;
}

export class KmipListener {
  /** Accepts the TCP connections; they reach `tlsServer` once they have sent their first bytes. */
  private readonly tcp: net.Server;
  private readonly tlsServer: tls.Server;
  /** Authenticated connections. */
  private readonly connections = new Set<KmipConnection>();
  /** Pending connections that have sent nothing yet, oldest first. */
  private readonly silent = new Set<Pending>();
  /** Pending connections handed to TLS, in the order their first bytes came. */
  private readonly handshaking = new Set<Pending>();
  private readonly pendingPerSource = new Map<string, number>();
  /** Pending state by TCP socket, also after it is settled, for TLS events that come later. */
  private readonly pendingOf = new WeakMap<net.Socket, Pending>();
  private revoked = new Set<string>();
  private current: X509Certificate;
  private loadedDigest: string;
  private readonly crlPath: string;
  private readonly certPath: string;
  private refusedThisMinute = 0;
  /** Refusals beyond the per-minute budget, by client address (at most 1000 addresses kept). */
  private readonly suppressed = new Map<string, number>();
  private suppressedTotal = 0;
  private readonly minuteTimer: NodeJS.Timeout;

  constructor(private readonly o: ListenerOptions) {
    this.crlPath = pkiPaths(o.pkiDataDir).crl;
    this.certPath = pkiPaths(o.pkiDataDir).serverCert;
    const loaded = this.loadPki();
    this.revoked = loaded.revoked;
    this.current = loaded.certificate;
    this.loadedDigest = loaded.digest;
    this.tlsServer = tls.createServer(
      {
        ...loaded.options,
        requestCert: true,
        rejectUnauthorized: false, // checked in accept(), see the top of this file
        // Node's own handshake timer (idle time since the first bytes) is a backstop: the listener's
        // deadline, counted from the accept, comes first.
        handshakeTimeout: o.handshakeTimeoutMs,
      },
      (socket) => this.accept(socket),
    );
    this.tlsServer.on('tlsClientError', (err, socket) => this.handshakeFailed(err, socket));
    this.tlsServer.on('error', (err) => o.log('error', 'listener error', { err: err.message }));
    this.tcp = net.createServer({ pauseOnConnect: true }, (raw) => this.admit(raw));
    this.tcp.on('error', (err) => o.log('error', 'listener error', { err: err.message }));
    watchFile(this.crlPath, { interval: 2000, persistent: false }, () => this.reloadPki());
    // issueServer writes server.key first and server.crt last: the certificate is the one to watch.
    watchFile(this.certPath, { interval: 2000, persistent: false }, () => this.reloadPki());
    this.minuteTimer = setInterval(() => this.reportSuppressed(), 60_000);
    this.minuteTimer.unref();
  }

  /** Reads and checks the PKI files; changes nothing (a refused reload keeps what is in use). */
  private loadPki(): LoadedPki {
    const m = loadTlsMaterial(this.o.pkiDataDir);
    const certificate = checkServerPair(m);
    const revoked = new Set(readCrlInfo(m.crl.toString('utf8')).serials.map(normaliseSerial));
    const options: tls.SecureContextOptions = {
      ...m,
      minVersion: this.o.minVersion,
      ciphers: TLS12_CIPHERS,
      honorCipherOrder: true,
      ecdhCurve: 'X25519:P-256:P-384',
      // Fresh ticket keys per start; rotated on every reload so no revoked session resumes.
      ticketKeys: randomBytes(48),
    };
    const hash = createHash('sha256');
    for (const part of [m.ca, m.cert, m.key, m.crl]) hash.update(`${part.length}:`).update(part);
    return { options, revoked, certificate, digest: hash.digest('hex') };
  }

  /** The server certificate new handshakes get. */
  get serverCertificate(): X509Certificate {
    return this.current;
  }

  /**
   * Picks up a changed CRL or a renewed server certificate and drops revoked clients. Open
   * connections keep the certificate they were made with. Files that do not fit together are
   * refused: the previous certificate, key and CRL stay in use. Returns whether it reloaded.
   */
  reloadPki(): boolean {
    let loaded: LoadedPki;
    try {
      loaded = this.loadPki();
      if (loaded.digest === this.loadedDigest) {
        this.o.log('info', 'PKI files unchanged: nothing to reload');
        return true;
      }
      this.tlsServer.setSecureContext(loaded.options);
    } catch (err) {
      const why = (err as Error).message;
      this.o.log('error', 'could not reload the PKI files; keeping the previous ones', { err: why });
      this.o.service.auditEvent({ identity: 'keyhaven', address: '-' }, 'Reload Certificates', `refused, the previous server certificate (serial ${normaliseSerial(this.current.serialNumber)}) and CRL stay in use: ${why}`);
      return false;
    }
    this.revoked = loaded.revoked;
    this.loadedDigest = loaded.digest;
    const previous = this.current;
    this.current = loaded.certificate;
    if (previous.fingerprint256 !== loaded.certificate.fingerprint256) {
      const c = loaded.certificate;
      const detail = `now presenting the server certificate ${subjectFromX509(c)} serial ${normaliseSerial(c.serialNumber)} (SHA-256 ${c.fingerprint256}), valid until ${new Date(c.validTo).toISOString()}; replaces serial ${normaliseSerial(previous.serialNumber)}`;
      this.o.service.auditEvent({ identity: 'keyhaven', address: '-' }, 'Reload Certificates', detail, 'success');
      this.o.log('info', 'server certificate reloaded', { serial: normaliseSerial(c.serialNumber), fingerprint: c.fingerprint256, notAfter: c.validTo });
    }
    for (const c of this.connections) {
      if (this.revoked.has(c.certSerial)) {
        this.o.service.auditEvent(c.session, 'Connection', 'client certificate revoked while connected');
        c.abort('client certificate revoked');
      }
    }
    this.o.log('info', 'PKI files reloaded', { revoked: this.revoked.size });
    return true;
  }

  /**
   * Audits a refused connection with the client's address and port, and the certificate it
   * presented if any, within the per-minute budget.
   */
  private refused(peer: Peer, reason: string, cert?: X509Certificate): void {
    if (this.refusedThisMinute++ < REFUSALS_AUDITED_PER_MINUTE) {
      const port = peer.port === undefined ? '' : `; source port ${peer.port}`;
      const presented = cert ? `; ${presentedCertificate(cert, reason)}` : '';
      this.o.service.auditEvent({ identity: '-', address: peer.address }, 'Handshake', `refused: ${reason}${presented}${port}`);
    } else {
      this.suppressedTotal++;
      if (this.suppressed.has(peer.address) || this.suppressed.size < 1000) {
        this.suppressed.set(peer.address, (this.suppressed.get(peer.address) ?? 0) + 1);
      }
    }
  }

  /** One record a minute for the refusals beyond the budget, naming the addresses that caused most. */
  private reportSuppressed(): void {
    if (this.suppressedTotal > 0) {
      const top = [...this.suppressed].sort((a, b) => b[1] - a[1]);
      const named = top.slice(0, 5).map(([a, n]) => `${a} (${n})`).join(', ');
      const more = top.length > 5 ? ` and ${top.length - 5}${this.suppressed.size >= 1000 ? '+' : ''} more addresses` : '';
      this.o.service.auditEvent(
        { identity: '-', address: top.length === 1 ? top[0]![0] : '-' },
        'Handshake',
        `${this.suppressedTotal} further refused connections not recorded individually, from ${named}${more}`,
      );
    }
    this.refusedThisMinute = 0;
    this.suppressedTotal = 0;
    this.suppressed.clear();
  }

  /** A new TCP connection: admitted to the pending pool, or refused. */
  private admit(raw: net.Socket): void {
    raw.on('error', () => {}); // resets are normal; 'close' follows
    if (raw.remoteAddress === undefined) {
      raw.destroy(); // gone before we saw it
      return;
    }
    const peer: Peer = { address: raw.remoteAddress, port: raw.remotePort };
    const o = this.o;
    if (this.connections.size >= o.maxConnections) {
      // Refused before any TLS work: no slot could take it even if its handshake succeeded.
      this.refused(peer, `the connection limit (${o.maxConnections}) is reached`);
      raw.destroy();
      return;
    }
    const source = sourceOf(peer.address);
    const fromSource = this.pendingPerSource.get(source) ?? 0;
    if (fromSource >= o.maxPendingHandshakesPerSource) {
      this.refused(peer, `${o.maxPendingHandshakesPerSource} connections from this address are already in the TLS handshake (limits.maxPendingHandshakesPerSource)`);
      raw.destroy();
      return;
    }
    if (this.silent.size + this.handshaking.size >= o.maxPendingHandshakes) {
      const oldest = first(this.silent) ?? first(this.handshaking)!;
      this.closePending(oldest, `closed to admit a new connection: ${o.maxPendingHandshakes} connections are in the TLS handshake (limits.maxPendingHandshakes)`);
    }
    const p: Pending = { raw, peer, source, hello: false, closed: false, helloTimer: undefined, handshakeTimer: undefined };
    this.silent.add(p);
    this.pendingPerSource.set(source, fromSource + 1);
    this.pendingOf.set(raw, p);
    p.handshakeTimer = setTimeout(() => this.closePending(p, 'TLS handshake timeout'), o.handshakeTimeoutMs);
    if (o.helloTimeoutMs < o.handshakeTimeoutMs) {
      p.helloTimer = setTimeout(() => this.closePending(p, `no ClientHello within ${o.helloTimeoutMs} ms`), o.helloTimeoutMs);
    }
    raw.once('close', () => this.settle(p));
    const onReadable = () => {
      raw.off('readable', onReadable);
      if (raw.readableLength === 0) {
        // 'readable' with nothing to read: the client closed the connection.
        this.closePending(p, 'closed by the client before sending a ClientHello');
        return;
      }
      clearTimeout(p.helloTimer);
      p.hello = true;
      this.silent.delete(p);
      this.handshaking.add(p);
      this.tlsServer.emit('connection', raw);
    };
    raw.on('readable', onReadable);
  }

  /** The pending connection behind a TLS socket the tls.Server reports. */
  private pendingFor(socket: TLSSocket): Pending | undefined {
    // Node keeps the wrapped socket as `_parent` (lib/_tls_wrap.js, TLSSocket.prototype._init);
    // failing that, the peer address and port identify it while the socket is open.
    const parent = (socket as unknown as { _parent?: unknown })._parent;
    if (parent instanceof net.Socket) {
      const p = this.pendingOf.get(parent);
      if (p) return p;
    }
    for (const p of this.handshaking) {
      if (p.peer.address === socket.remoteAddress && p.peer.port === socket.remotePort) return p;
    }
    return undefined;
  }

  /** Leaves the pending pool (handshake done, or connection closed). */
  private settle(p: Pending): void {
    clearTimeout(p.helloTimer);
    clearTimeout(p.handshakeTimer);
    if (this.silent.delete(p) || this.handshaking.delete(p)) {
      const n = (this.pendingPerSource.get(p.source) ?? 1) - 1;
      if (n > 0) this.pendingPerSource.set(p.source, n);
      else this.pendingPerSource.delete(p.source);
    }
  }

  /** Closes a pending connection, audited once. */
  private closePending(p: Pending, reason: string): void {
    if (p.closed) return;
    p.closed = true;
    this.settle(p);
    this.refused(p.peer, reason);
    p.raw.destroy(); // also destroys the TLS socket wrapping it, if any
  }

  private handshakeFailed(err: Error, socket: TLSSocket): void {
    const p = this.pendingFor(socket);
    if (p) {
      if (!p.closed) {
        p.closed = true;
        this.settle(p);
        this.refused(p.peer, handshakeFailure(err, socket));
      }
    } else {
      this.refused({ address: socket.remoteAddress ?? '-', port: socket.remotePort }, handshakeFailure(err, socket));
    }
    // Node leaves the socket open after a handshake timeout (it only emits this event).
    socket.destroy();
  }

  /** The handshake is done and the certificate chains to our CA. */
  private accept(socket: TLSSocket): void {
    const p = this.pendingFor(socket);
    if (p) this.settle(p);
    if (p?.closed) {
      socket.destroy();
      return;
    }
    const peer = p?.peer ?? { address: socket.remoteAddress ?? '-', port: socket.remotePort };
    const cert = socket.getPeerX509Certificate();
    // The chain to our CA, validity and CRL (OpenSSL's verdict, as Node's rejectUnauthorized would).
    if (!socket.authorized) {
      this.refused(peer, cert ? `client certificate not accepted: ${String(socket.authorizationError)}` : 'the client did not return a certificate', cert);
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.o.maxConnections) {
      this.refused(peer, `the connection limit (${this.o.maxConnections}) is reached`, cert);
      socket.destroy();
      return;
    }
    // Before any KMIP byte is read: a renegotiation attempt is an error, and closes the connection.
    socket.disableRenegotiation();
    let identity: string;
    try {
      identity = clientIdentity(cert);
      const serial = normaliseSerial(cert!.serialNumber);
      // A resumed TLS session skips chain and CRL checks: check revocation here too.
      if (this.revoked.has(serial)) throw new KeyhavenError(ErrorCodes.PKI_CLIENT_REJECTED, 'the client certificate is revoked');
      const conn = new KmipConnection(socket, { identity, address: peer.address, ...(this.o.policy ? { port: this.o.policy } : {}) }, serial, this.o.service, this.o.limits, {
        onClose: () => this.connections.delete(conn),
        onLog: (msg, fields) => this.o.log('info', msg, fields),
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === undefined || !RENEGOTIATION_ERRORS.has(err.code) || socket.destroyed) return;
        this.o.service.auditEvent(conn.session, 'Connection', 'refused: renegotiation');
        conn.abort('TLS renegotiation refused');
      });
      this.connections.add(conn);
    } catch (err) {
      this.refused(peer, (err as Error).message, cert);
      socket.destroy();
    }
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new KeyhavenError(ErrorCodes.NET_LISTEN_FAILED, `cannot listen on ${this.o.host}:${this.o.port}: ${err.code ?? err.message}`));
      this.tcp.once('error', onError);
      this.tcp.listen(this.o.port, this.o.host, () => {
        this.tcp.off('error', onError);
        const a = this.tcp.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: this.o.host, port: this.o.port });
      });
    });
  }

  /** Stops accepting, then closes open connections once their in-flight request is answered. */
  close(): Promise<void> {
    unwatchFile(this.crlPath);
    unwatchFile(this.certPath);
    clearInterval(this.minuteTimer);
    return new Promise((resolve) => {
      this.tcp.close(() => resolve());
      for (const p of [...this.silent, ...this.handshaking]) {
        p.closed = true;
        this.settle(p);
        p.raw.destroy();
      }
      for (const c of this.connections) c.socket.end();
      setTimeout(() => {
        for (const c of this.connections) c.socket.destroy();
      }, 2000).unref();
    });
  }
}
