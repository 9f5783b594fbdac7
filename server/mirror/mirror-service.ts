// Mirroring on one server: its identity in the group, the change log attached to the store, the
// 6002 listener (peers' inbound sessions and joins), a link to every other member, the status file
// `keyhaven mirror status` reads, and the reports (log and audit) of what happens.
import { createSecretKey, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { KmipService } from '../kmip-service.js';
import { ensureNodeCertificate, mirrorNodeOf, NODE_RENEW_BEFORE_DAYS } from '../pki/mirror-node.js';
import { issuedCertificates, mergeIssued } from '../pki/issued-merge.js';
import type { IssuedCertificate } from '../pki/store.js';
import { pkiPaths, readCrlInfo } from '../pki/index.js';
import type { Db } from '../store/database.js';
import type { KeyStore } from '../store/key-store.js';
import { ChangeLog } from './change-log.js';
import { FramedSocket } from './framed-socket.js';
import { GroupState, newId, type GroupIdentity } from './group-state.js';
import { formatHlc, MAX_AHEAD_MS } from './hlc.js';
import { InboundSession } from './inbound-session.js';
import { acceptJoin } from './join.js';
import { joinAddress } from './join-token.js';
import type { MirrorContext, NodeTls } from './mirror-context.js';
import { PeerLink, type LinkStatus } from './peer-link.js';
import { senderMessage, type Member } from './protocol.js';
import { decodeReplica } from './replica-codec.js';
import { SentItems } from './sent-items.js';
import { mirrorStatusPath, writeStatusFile, type MirrorStatus } from './status-file.js';

export interface MirrorOptions {
  host: string;
  port: number;
  /** Strict mirroring (config mirror.acknowledge 'peer'): see kmip-service.ts PeerAcknowledgement. */
  peerAcknowledgement?: { timeoutMs: number; whenNoPeer: 'refuse' | 'acknowledge' };
  /** The address peers reach this server at (default host:port). */
  advertise?: string;
  dataDir: string;
  db: Db;
  store: KeyStore;
  service: KmipService;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const MAX_INBOUND = 64;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const STATUS_EVERY_MS = 1000;
const LAG_WINDOW_MS = 60_000;
/** How often the member list and the PKI index are checked for changes made outside the server (the CLI, the menu). */
const WATCH_EVERY_MS = 2000;
/** How often the node certificate's remaining validity is checked (renewNodeCertificate). */
const RENEW_CHECK_EVERY_MS = 3_600_000;
const LAG_SAMPLES = 200_000;

export class MirrorService implements MirrorContext {
  readonly identity: GroupIdentity;
  readonly group: GroupState;
  readonly changes: ChangeLog;
  private readonly links = new Map<string, PeerLink>();
  private readonly sessions = new Map<string, InboundSession>();
  private server: tls.Server | undefined;
  private durable: number;
  private nodeTls: NodeTls;
  private statusTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private membersSeen = '';
  private indexSeen = 0;
  private crlSeen = 0;
  private readonly aheadOf = new Map<string, number>();
  /** Lag samples (ms) and when each was taken, the last LAG_WINDOW_MS, at most LAG_SAMPLES. */
  private lags: { at: number; ms: number }[] = [];
  /** The furthest any peer acknowledged our log, and who waits for a peer to reach a position. */
  private peerReached = 0;
  private removedHere = false;
  private readonly headStmt;
  private readonly sentItems: SentItems;
  private peerWaiters: { seq: number; done: (err?: Error) => void; timer: NodeJS.Timeout }[] = [];
  readonly address: string;
  private bound: { host: string; port: number } | undefined;

  private constructor(
    private readonly o: MirrorOptions,
    identity: GroupIdentity,
    group: GroupState,
    groupKey: Buffer,
    nodeTls: NodeTls,
  ) {
    this.identity = identity;
    this.group = group;
    this.address = o.advertise ?? joinAddress(o.host, o.port);
    this.changes = new ChangeLog(o.db, o.store, identity.node, createSecretKey(groupKey));
    groupKey.fill(0);
    this.nodeTls = nodeTls;
    this.durable = this.changes.head;
    this.headStmt = o.db.prepare('SELECT max(change_seq) AS n FROM objects WHERE change_seq IS NOT NULL');
    this.sentItems = new SentItems(o.store);
    this.changes.created = (changeSeq, uid, replica, material) => this.sentItems.remember(changeSeq, uid, replica, material);
  }

  sentItem(changeSeq: number): string | undefined {
    return this.sentItems.json(changeSeq);
  }

  /**
   * Starts mirroring: founds a group on first start (unless the store was given one by a join),
   * attaches the change log to the store, listens, and connects to every member.
   */
  static async start(o: MirrorOptions): Promise<MirrorService> {
    const group = new GroupState(o.db, o.store);
    let identity = group.identity();
    const address = o.advertise ?? joinAddress(o.host, o.port);
    if (!identity) {
      identity = { node: newId('n'), group: newId('g'), log: newId('l') };
      group.establish(identity, randomBytes(32), [{ node: identity.node, address, removed: false, stamp: formatHlc({ wall: Date.now(), logical: 0, node: identity.node }) }]);
      o.log('info', 'founded a new mirror group', { group: identity.group, node: identity.node });
    }
    const self = group.members().find((m) => m.node === identity!.node);
    if (self?.removed) throw new KeyhavenError(ErrorCodes.MIRROR_STATE, `this server (${identity.node}) was removed from its mirror group; it cannot mirror again: deploy a fresh one and join it`);
    const certs = await ensureNodeCertificate(o.dataDir, identity.group, identity.node);
    const p = pkiPaths(o.dataDir);
    const nodeTls: NodeTls = {
      ca: fs.readFileSync(p.caCert),
      cert: Buffer.concat([fs.readFileSync(certs.cert), fs.readFileSync(p.caCert)]),
      key: fs.readFileSync(certs.key),
      crl: fs.readFileSync(p.crl),
    };
    const svc = new MirrorService(o, identity, group, group.groupKey(), nodeTls);
    if (!self || self.address !== address) {
      // Our own record says where peers reach us: a new address is news for the whole group.
      group.mergeMember({ node: identity.node, address, removed: false, stamp: formatHlc(svc.changes.clock.now()) });
    }
    o.store.attachRecorder(svc.changes);
    o.service.setDurableChangesHook({ mark: () => svc.changes.head, durable: (mark) => svc.onDurable(mark) });
    if (o.peerAcknowledgement) {
      const strict = o.peerAcknowledgement;
      o.service.setPeerAcknowledgement({ head: () => svc.changes.head, wait: (seq, done) => svc.waitForPeer(seq, strict, done) });
    }
    await svc.adopt();
    await svc.listen();
    svc.refreshLinks();
    svc.statusTimer = setInterval(() => svc.writeStatus(), STATUS_EVERY_MS);
    svc.statusTimer.unref();
    svc.watch();
    svc.watchTimer = setInterval(() => svc.watch(), WATCH_EVERY_MS);
    svc.watchTimer.unref();
    svc.renewTimer = setInterval(() => void svc.renewNodeCertificate(), RENEW_CHECK_EVERY_MS);
    svc.renewTimer.unref();
    svc.writeStatus();
    return svc;
  }

  /** Objects written before mirroring was on get their replica and a place in the log, before any client is served. */
  private async adopt(): Promise<void> {
    let total = 0;
    // A thousand at a time, each batch its own commit: a store of a million keys is not one transaction.
    for (;;) {
      const n = await new Promise<number>((resolve, reject) => {
        let adopted = 0;
        this.write(
          () => {
            adopted = this.changes.adoptUnmirrored(1000);
          },
          (err) => (err ? reject(err) : resolve(adopted)),
        );
      });
      total += n;
      if (n === 0) break;
    }
    if (total > 0) this.report('info', 'Mirror Adopt', `${total} objects written before mirroring are now in the change log`);
  }

  get listening(): { host: string; port: number } {
    return this.bound ?? { host: this.o.host, port: this.o.port };
  }

  private listen(): Promise<void> {
    const server = tls.createServer({
      ca: this.nodeTls.ca,
      cert: this.nodeTls.cert,
      key: this.nodeTls.key,
      crl: this.nodeTls.crl,
      requestCert: true,
      // Checked here: a server without a certificate may only join; any other refused certificate
      // ends the connection before a byte of it is read.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    server.on('secureConnection', (socket) => this.admit(socket));
    server.on('tlsClientError', () => {});
    server.maxConnections = MAX_INBOUND;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(new KeyhavenError(ErrorCodes.NET_LISTEN_FAILED, `mirroring cannot listen on ${this.o.host}:${this.o.port}: ${err.message}`)));
      server.listen(this.o.port, this.o.host, () => {
        const a = server.address() as net.AddressInfo;
        this.bound = { host: a.address, port: a.port };
        resolve();
      });
    });
  }

  private admit(socket: TLSSocket): void {
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    const cert = socket.getPeerX509Certificate() as X509Certificate | undefined;
    socket.on('error', () => {});
    if (!cert) {
      // No certificate: a server joining with a token; one message, then the connection ends.
      const conn = new FramedSocket(socket, senderMessage, HANDSHAKE_TIMEOUT_MS);
      conn.start(
        (msg) => {
          if (msg.t !== 'join') {
            conn.send({ t: 'refuse', code: ErrorCodes.MIRROR_PROTOCOL, reason: 'a connection without a certificate may only join' });
            conn.end('not a join');
            return;
          }
          acceptJoin(this, conn, msg, address);
        },
        () => {},
      );
      return;
    }
    const peer = mirrorNodeOf(cert);
    const member = peer ? this.group.members().find((m) => m.node === peer.node) : undefined;
    const refusal = !socket.authorized
      ? `its certificate is refused (${String(socket.authorizationError)})`
      : !peer
        ? `its certificate (${cert.subject.replace(/\n/g, ', ')}) is not a mirror node's: a client certificate has no business on 6002`
        : peer.group !== this.identity.group
          ? `it belongs to another mirror group (${peer.group})`
          : !member || member.removed
            ? `${peer.node} is ${member ? 'removed from' : 'not a member of'} this group`
            : undefined;
    if (refusal) {
      socket.destroy();
      this.report('warn', 'Mirror Connection Refused', `${address}: ${refusal}`);
      return;
    }
    const conn = new FramedSocket(socket, senderMessage, 30_000);
    const session = new InboundSession(peer!.node, conn, this, address);
    this.sessions.get(peer!.node)?.conn.end('replaced by a newer connection from the same peer');
    this.sessions.set(peer!.node, session);
    // The peer is up (it just reached us): our link to it need not wait out its backoff.
    this.links.get(peer!.node)?.retryNow();
    conn.start(
      (msg) => session.onMessage(msg),
      () => {
        if (this.sessions.get(peer!.node) === session) this.sessions.delete(peer!.node);
      },
    );
  }

  /** A link to every member but us and the removed; links of removed members stop. */
  private refreshLinks(): void {
    const members = this.group.members();
    for (const m of members) {
      if (m.node === this.identity.node) continue;
      const link = this.links.get(m.node);
      if (m.removed) {
        link?.stop();
        this.links.delete(m.node);
        this.sessions.get(m.node)?.conn.end('removed from the group');
        continue;
      }
      if (link) link.update(m);
      else {
        const l = new PeerLink(m, this);
        this.links.set(m.node, l);
        l.start();
      }
    }
  }

  /**
   * Changes made outside this process: a member removed or added by `keyhaven mirror` (or the menu),
   * a certificate issued or revoked by `keyhaven pki`, a CRL re-signed. Each goes to the peers; a new
   * CRL also takes effect on 6002 (the KMIP listener watches it itself).
   */
  private watch(): void {
    try {
      if (!this.o.db.inTransaction) {
        const members = JSON.stringify(this.group.members());
        if (members !== this.membersSeen) {
          const first = this.membersSeen === '';
          this.membersSeen = members;
          if (!first) this.membersChanged();
        }
      }
      const p = pkiPaths(this.o.dataDir);
      const indexAt = fs.statSync(p.index).mtimeMs;
      if (indexAt !== this.indexSeen) {
        const first = this.indexSeen === 0;
        this.indexSeen = indexAt;
        if (!first) {
          const certs = issuedCertificates(this.o.dataDir);
          for (const l of this.links.values()) l.sendPki(certs);
        }
      }
      const crlAt = fs.statSync(p.crl).mtimeMs;
      if (crlAt !== this.crlSeen) {
        const first = this.crlSeen === 0;
        this.crlSeen = crlAt;
        if (!first) this.reloadCrl();
      }
    } catch (err) {
      this.o.log('warn', `checking the member list and PKI for changes failed: ${(err as Error).message}`);
    }
  }

  /**
   * Replaces the node certificate before it expires (ensureNodeCertificate decides): new handshakes,
   * ours and to peers, present the new one; open connections keep theirs.
   */
  async renewNodeCertificate(now = Date.now()): Promise<boolean> {
    try {
      const certs = await ensureNodeCertificate(this.o.dataDir, this.identity.group, this.identity.node, now);
      if (!certs.issued) return false;
      const p = pkiPaths(this.o.dataDir);
      this.nodeTls = { ...this.nodeTls, cert: Buffer.concat([fs.readFileSync(certs.cert), fs.readFileSync(p.caCert)]), key: fs.readFileSync(certs.key) };
      this.server?.setSecureContext({ ca: this.nodeTls.ca, cert: this.nodeTls.cert, key: this.nodeTls.key, crl: this.nodeTls.crl });
      this.report('info', 'Mirror Certificate Renewed', `this server's node certificate was close to its end (${NODE_RENEW_BEFORE_DAYS} days or less) and was replaced`);
      return true;
    } catch (err) {
      this.report('error', 'Mirror Certificate Renewal Failed', `renewing this server's node certificate failed: ${(err as Error).message}; it is tried again within the hour`);
      return false;
    }
  }

  /** A new CRL: new handshakes on 6002 (ours and to peers) check against it; open sessions of now-revoked peers end. */
  private reloadCrl(): void {
    const p = pkiPaths(this.o.dataDir);
    this.crlSeen = fs.statSync(p.crl).mtimeMs;
    const crl = fs.readFileSync(p.crl);
    this.nodeTls = { ...this.nodeTls, crl };
    this.server?.setSecureContext({ ca: this.nodeTls.ca, cert: this.nodeTls.cert, key: this.nodeTls.key, crl });
    const revoked = new Set(readCrlInfo(crl.toString('utf8')).serials);
    for (const s of this.sessions.values()) {
      const serial = (s.conn.socket.getPeerX509Certificate() as X509Certificate | undefined)?.serialNumber.toLowerCase();
      if (serial && revoked.has(serial)) s.conn.end('its certificate was revoked');
    }
  }

  issuedCertificates(): IssuedCertificate[] {
    return issuedCertificates(this.o.dataDir);
  }

  mergePki(certificates: IssuedCertificate[], peer: string): void {
    mergeIssued(this.o.dataDir, certificates).then(
      (r) => {
        if (r.revoked.length > 0) {
          this.report('info', 'Mirror Revocation', `${peer} revoked ${r.revoked.map((c) => `${c.subject} (serial ${c.serial})`).join(', ')}: refused here too from now on`, peer);
          this.reloadCrl();
        }
        // Our index changed: mark it seen so it is not sent back as news.
        if (r.added > 0 || r.revoked.length > 0) this.indexSeen = fs.statSync(pkiPaths(this.o.dataDir).index).mtimeMs;
      },
      (err: Error) => this.report('error', 'Mirror Revocation', `the certificates ${peer} issued could not be merged: ${err.message}`, peer),
    );
  }

  peerAcked(upTo: number): void {
    if (upTo <= this.peerReached) return;
    this.peerReached = upTo;
    const ready = this.peerWaiters.filter((w) => w.seq <= upTo);
    if (ready.length === 0) return;
    this.peerWaiters = this.peerWaiters.filter((w) => w.seq > upTo);
    for (const w of ready) {
      clearTimeout(w.timer);
      w.done();
    }
  }

  /** Strict mirroring: `done` once a peer durably holds our log up to `seq`, or the configured outcome after the timeout. */
  private waitForPeer(seq: number, o: { timeoutMs: number; whenNoPeer: 'refuse' | 'acknowledge' }, done: (err?: Error) => void): void {
    if (seq <= this.peerReached) return done();
    const timer = setTimeout(() => {
      this.peerWaiters = this.peerWaiters.filter((w) => w.timer !== timer);
      const what = `no peer confirmed change ${seq} within ${o.timeoutMs} ms (it is durable here and will be mirrored when a peer answers)`;
      if (o.whenNoPeer === 'acknowledge') {
        this.report('warn', 'Mirror Acknowledgement', `${what}: acknowledged anyway (whenNoPeer: acknowledge)`);
        done();
      } else {
        this.report('error', 'Mirror Acknowledgement', `${what}: not acknowledged to the client (whenNoPeer: refuse)`);
        done(new KeyhavenError(ErrorCodes.MIRROR_NO_PEER, `${what}; the request is not acknowledged`));
      }
    }, o.timeoutMs);
    timer.unref();
    this.peerWaiters.push({ seq, done, timer });
  }

  private onDurable(mark: number): void {
    if (mark <= this.durable) return;
    this.durable = mark;
    for (const l of this.links.values()) l.notify();
  }

  // MirrorContext

  get store(): KeyStore {
    return this.o.store;
  }

  tls(): NodeTls {
    return this.nodeTls;
  }

  pkiDataDir(): string {
    return this.o.dataDir;
  }

  durableHead(): number {
    return this.durable;
  }

  private committedHead(): number {
    // The WHERE lets SQLite read the end of the partial index objects_by_change: without it, max() scans
    // every row (1.5 s on a million keys, measured), and this runs every second.
    const r = this.headStmt.get() as { n: number | null };
    return r.n ?? 0;
  }

  digestView(peer: string): { digest: string; head: number; applied: number } {
    return { digest: this.changes.digest(), head: this.committedHead(), applied: this.group.cursors().get(peer)?.applied ?? 0 };
  }

  write(fn: () => void | (() => void), done: (err?: Error) => void): void {
    this.o.service.runWrite(fn, done);
  }

  whenNoTransaction(fn: () => void): void {
    this.o.service.whenNoTransaction(fn);
  }

  report(level: 'info' | 'warn' | 'error', operation: string, detail: string, peer?: string): void {
    this.o.log(level, `${operation}: ${detail}`, peer ? { peer } : {});
    this.o.service.auditEvent({ identity: `mirror:${this.identity.node}`, address: peer ?? '-' }, operation, detail, level === 'info' ? 'success' : 'failure');
  }

  recordLag(walls: number[]): void {
    const now = Date.now();
    for (const w of walls) this.lags.push({ at: now, ms: Math.max(0, now - w) });
    if (this.lags.length > LAG_SAMPLES) this.lags = this.lags.slice(this.lags.length - LAG_SAMPLES);
  }

  private applyLag(): MirrorStatus['applyLag'] {
    const since = Date.now() - LAG_WINDOW_MS;
    this.lags = this.lags.filter((l) => l.at >= since);
    const ms = this.lags.map((l) => l.ms).sort((x, y) => x - y);
    const at = (q: number) => (ms.length === 0 ? null : ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!);
    return { changes: ms.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: ms.length === 0 ? null : ms[ms.length - 1]! };
  }

  hears(): string[] {
    return [...this.sessions].filter(([, s]) => s.established).map(([node]) => node);
  }

  heardCursors(): { node: string; log: string; applied: number }[] {
    const cursors: { node: string; log: string; applied: number }[] = [];
    for (const [node, s] of this.sessions) {
      const c = s.cursor();
      if (c) cursors.push({ node, ...c });
    }
    return cursors;
  }

  auditApplied(peer: string, address: string, changed: number, received: number, upTo: number): void {
    this.o.service.auditEvent({ identity: `mirror:${peer}`, address }, 'Mirror Apply', `${changed} of ${received} objects changed here, from ${peer}'s log up to ${upTo}`, 'success');
  }

  membersChanged(): void {
    const members = this.group.members();
    if (members.find((m) => m.node === this.identity.node)?.removed && !this.removedHere) {
      // Another member removed us: stop mirroring (our certificate is revoked; keys stay as they are here).
      this.removedHere = true;
      this.report('error', 'Mirror Removed', `this server (${this.identity.node}) was removed from group ${this.identity.group}: it no longer mirrors; decommission it, or deploy a fresh one and join it`);
      for (const l of this.links.values()) l.stop();
      this.links.clear();
      for (const s of this.sessions.values()) s.conn.end('this server was removed from the group');
      return;
    }
    if (this.removedHere) return;
    this.refreshLinks();
    for (const l of this.links.values()) l.sendMembers(members);
  }

  resendTo(peer: string): void {
    this.links.get(peer)?.resendAll();
  }

  clockAhead(peer: string, aheadMs: number): void {
    const before = this.aheadOf.get(peer);
    this.aheadOf.set(peer, aheadMs);
    if (before === undefined) this.report('warn', 'Mirror Clock Ahead', `${peer}'s clock is ${Math.round(aheadMs / 1000)} s ahead of this server's: its stamps are taken as if made ${MAX_AHEAD_MS / 1000} s ahead at most; check NTP on both`, peer);
  }

  /** The object count: rows are never deleted and their seq is AUTOINCREMENT (rolled back with a rolled-back insert), so the greatest seq is the count, read from the table's b-tree end. */
  private objectCount(): number {
    return (this.o.db.prepare('SELECT max(seq) AS n FROM objects').get() as { n: number | null }).n ?? 0;
  }

  status(): MirrorStatus {
    const count = this.objectCount();
    const head = this.committedHead();
    const peers = this.group
      .members()
      .filter((m) => m.node !== this.identity.node)
      .map((m) => this.peerStatus(m, this.links.get(m.node)?.status, head));
    return {
      node: this.identity.node,
      group: this.identity.group,
      address: this.address,
      listening: joinAddress(this.listening.host, this.listening.port),
      pid: process.pid,
      running: true,
      digest: this.changes.digest(),
      head,
      objects: count,
      applyLag: this.applyLag(),
      peers,
      updatedAt: new Date().toISOString(),
    };
  }

  private peerStatus(m: Member, s: LinkStatus | undefined, head: number): MirrorStatus['peers'][number] {
    const acked = s?.acked ?? 0;
    // Log positions the peer has not acknowledged (changes, give or take positions of rolled-back
    // writes): exact at zero, which is what matters, and free to compute on a million-key store.
    const queueDepth = Math.max(0, head - acked);
    let lagSeconds: number | null = null;
    if (queueDepth > 0) {
      // The oldest position it lacks: its stamp says when that change was made.
      const oldest = this.o.store.changedSince(acked, head, 1)[0];
      const wall = oldest?.replica ? decodeReplica(oldest.replica).latest?.wall : undefined;
      lagSeconds = wall === undefined ? null : Math.max(0, (Date.now() - wall) / 1000);
    } else lagSeconds = 0;
    const ahead = this.aheadOf.get(m.node);
    return {
      node: m.node,
      address: m.address,
      removed: m.removed,
      connected: s?.connected ?? false,
      ...(s?.since ? { since: s.since } : {}),
      inbound: this.sessions.has(m.node),
      queueDepth,
      lagSeconds,
      ...(s?.lastError ? { lastError: s.lastError } : {}),
      ...(s?.lastDigestCheck ? { lastDigestCheck: s.lastDigestCheck } : {}),
      ...(ahead ? { clockAheadMs: ahead } : {}),
      ...(s ? { sentObjects: s.sentObjects, notPassedOn: s.notPassedOn } : {}),
    };
  }

  private writeStatus(): void {
    this.sentItems.clear(); // every second: what the links shared is not kept longer (it holds material)
    if (this.o.db.inTransaction) return; // next time: a status of committed state only
    try {
      const file = mirrorStatusPath(this.o.dataDir);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeStatusFile(file, this.status());
    } catch (err) {
      this.o.log('warn', `could not write the mirroring status file: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.o.service.setPeerAcknowledgement(undefined);
    for (const w of this.peerWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.done(new KeyhavenError(ErrorCodes.MIRROR_NO_PEER, 'the server is stopping before a peer confirmed the change'));
    }
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.sentItems.clear();
    if (this.watchTimer) clearInterval(this.watchTimer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (const l of this.links.values()) l.stop();
    for (const s of this.sessions.values()) s.conn.end('server stopping');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    try {
      const file = mirrorStatusPath(this.o.dataDir);
      writeStatusFile(file, { ...this.status(), running: false });
    } catch {
      /* best effort: the status file says running with a pid that is gone */
    }
  }
}
