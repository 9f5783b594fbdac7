// The sending half of mirroring to one peer: connects to it (with this server's node certificate),
// learns how far it has applied our log, and pushes the rest in order, a few batches in flight,
// each acknowledged once the peer has made it durable. Reconnects with backoff for as long as the
// peer is a member. Nothing is lost when the connection drops: the queue is the store's change log
// from the last acknowledged position (change-log.ts), so it survives kill -9 and reboots.
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { FramedSocket } from './framed-socket.js';
import { splitAddress } from './join-token.js';
import { mirrorNodeOf } from '../pki/mirror-node.js';
import { PROTOCOL, receiverMessage, type Member, type ReceiverMessage } from './protocol.js';
import { membersToResend } from './skipped-resend.js';
import type { MirrorContext } from './mirror-context.js';
import type { IssuedCertificate } from '../pki/store.js';

/** Batches sent and not yet acknowledged. */
const WINDOW = 4;
/** Objects per batch, and their bytes (material included) at most. */
const BATCH_OBJECTS = 512;
const BATCH_BYTES = 4 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5000;
/** An unacknowledged batch or digest this old means the peer is gone (a partition is silence). */
const ANSWER_TIMEOUT_MS = 10_000;
const DIGEST_EVERY_MS = 3000;
const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5000;

export interface LinkStatus {
  node: string;
  address: string;
  connected: boolean;
  /** When the current connection was made, or when the last one ended. */
  since?: string;
  /** The last position of our log the peer acknowledged (this run). */
  acked: number;
  lastError?: string;
  lastDigestCheck?: { at: string; result: 'match' | 'differ' | 'not-comparable' };
  /** Object versions sent to it, and versions of other members not passed on because it hears them (this run). */
  sentObjects: number;
  notPassedOn: number;
}

export class PeerLink {
  private conn: FramedSocket<ReceiverMessage> | undefined;
  private ready = false;
  /** The last position sent, and acknowledged, on the current connection. */
  private sent = 0;
  private acked = 0;
  private readonly inFlight: { upTo: number; at: number }[] = [];
  private digestAsked: number | undefined;
  private lastDigestAt = 0;
  private backoff = BACKOFF_MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  /** The pending reconnection while backing off. */
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private pumping = false;
  /** A pump waits for the open transaction to end (whenNoTransaction). */
  private pumpWaiting = false;
  /** While a full resend runs (up to this position), versions that came from the peer are sent too. */
  private resendUpTo = 0;
  /** The members whose changes reach the peer directly (it said so in its last welcome or ack). */
  private peerHears = new Set<string>();
  /**
   * For each member whose versions were not passed on because the peer hears it, the first position
   * skipped so. Should the peer stop hearing that member before a digest match shows it holds all we
   * hold, sending starts again from there: a member cut off from the peer (or lost for good) still
   * reaches it through us.
   */
  private readonly skippedFrom = new Map<string, number>();
  /** Up to this position, versions from members the peer hears are passed on all the same (sendSkipped). */
  private forwardUpTo = 0;
  /** Our last position when the pending digest comparison was asked, and whether we had skipped versions then. */
  private digestHead = 0;
  private digestPartial = false;
  /** How far the peer had applied each skipped member's log at its last digest answer (this connection). */
  private readonly peerCursors = new Map<string, number>();
  readonly status: LinkStatus;

  constructor(
    private member: Member,
    private readonly ctx: MirrorContext,
  ) {
    this.status = { node: member.node, address: member.address, connected: false, acked: 0, sentObjects: 0, notPassedOn: 0 };
  }

  get node(): string {
    return this.member.node;
  }

  /** The peer's address changed (the member list said so): reconnect there. */
  update(member: Member): void {
    const moved = member.address !== this.member.address;
    this.member = member;
    this.status.address = member.address;
    if (moved) this.conn?.end('the peer moved to a new address');
  }

  start(): void {
    this.connect();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.conn?.end('mirroring stopped');
  }

  /** Our log grew (a durable commit): send what the peer lacks. */
  notify(): void {
    this.pump();
  }

  /** Sends the whole log again (after a digest disagreed): the peer's merge keeps what it has. */
  resendAll(): void {
    this.sent = 0;
    // Everything, even the versions the peer sent us itself: a divergence is not explained by the log.
    this.resendUpTo = this.ctx.durableHead();
    if (this.ready) this.pump();
  }

  private connect(): void {
    if (this.stopped) return;
    let host: string;
    let port: number;
    try {
      ({ host, port } = splitAddress(this.member.address));
    } catch (err) {
      this.failed((err as Error).message);
      return;
    }
    const m = this.ctx.tls();
    const socket = tls.connect({
      host,
      port,
      ca: m.ca,
      crl: m.crl, // a revoked peer is not talked to either
      cert: m.cert,
      key: m.key,
      minVersion: 'TLSv1.3', // key material crosses only inside TLS 1.3
      // The peer is identified by the URI in its node certificate, not by a host name.
      checkServerIdentity: () => undefined,
      timeout: CONNECT_TIMEOUT_MS,
    });
    const conn = new FramedSocket(socket, receiverMessage, ANSWER_TIMEOUT_MS * 3);
    this.conn = conn;
    const connectTimer = setTimeout(() => conn.end(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`), CONNECT_TIMEOUT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(connectTimer);
      const peer = mirrorNodeOf(socket.getPeerX509Certificate() as X509Certificate | undefined);
      if (!peer || peer.group !== this.ctx.identity.group || peer.node !== this.member.node) {
        conn.end(`the server at ${this.member.address} is not ${this.member.node} of this group (its certificate names ${peer ? `${peer.node} of ${peer.group}` : 'no mirror node'})`);
        return;
      }
      const id = this.ctx.identity;
      conn.send({ t: 'hello', versions: [PROTOCOL.min, PROTOCOL.max], node: id.node, group: id.group, log: id.log, head: this.ctx.durableHead() });
    });
    conn.start(
      (msg) => this.onMessage(conn, msg),
      (reason) => {
        clearTimeout(connectTimer);
        if (this.conn === conn) this.failed(reason);
      },
    );
  }

  private failed(reason: string): void {
    const wasConnected = this.ready;
    this.conn = undefined;
    this.ready = false;
    this.inFlight.length = 0;
    this.digestAsked = undefined;
    this.peerCursors.clear();
    this.status.connected = false;
    this.status.lastError = reason;
    this.status.since = new Date().toISOString();
    if (wasConnected) this.ctx.report('warn', 'Mirror Link Down', `${this.member.node} (${this.member.address}): ${reason}`, this.member.node);
    if (this.stopped) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect();
    }, delay * (0.75 + Math.random() / 2));
    this.retry.unref();
  }

  /** Connects now if the link is waiting out a backoff (the peer was heard from: it is back). */
  retryNow(): void {
    if (!this.retry || this.stopped) return;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.backoff = BACKOFF_MIN_MS;
    this.connect();
  }

  private onMessage(conn: FramedSocket<ReceiverMessage>, msg: ReceiverMessage): void {
    switch (msg.t) {
      case 'welcome':
        if (this.ready) return conn.end('a second welcome');
        this.ready = true;
        this.backoff = BACKOFF_MIN_MS;
        this.sent = this.acked = msg.applied;
        this.heard(msg.hears);
        this.status.connected = true;
        this.status.acked = msg.applied;
        this.status.since = new Date().toISOString();
        delete this.status.lastError;
        this.ctx.report('info', 'Mirror Link Up', `${this.member.node} (${this.member.address}), protocol ${msg.version}, it has applied our log up to ${msg.applied}`, this.member.node);
        conn.send({ t: 'members', members: this.ctx.group.members() });
        conn.send({ t: 'pki', certificates: this.ctx.issuedCertificates() });
        this.pump();
        return;
      case 'refuse':
        this.ctx.report('error', 'Mirror Link Refused', `${this.member.node} refused: ${msg.reason}`, this.member.node);
        return conn.end(`refused by the peer: ${msg.reason}`);
      case 'ack': {
        const first = this.inFlight.shift();
        if (!first || first.upTo !== msg.upTo) return conn.end(`an acknowledgement of ${msg.upTo} that was not expected`);
        this.acked = Math.max(this.acked, msg.upTo);
        this.status.acked = this.acked;
        this.heard(msg.hears);
        this.ctx.peerAcked(msg.upTo);
        this.pump();
        return;
      }
      case 'digest-result':
        this.digestAsked = undefined;
        this.status.lastDigestCheck = { at: new Date().toISOString(), result: msg.result };
        // The peer holds all we held when asking: nothing skipped up to then needs sending again.
        if (msg.result === 'match') for (const [origin, first] of this.skippedFrom) if (first <= this.digestHead) this.skippedFrom.delete(origin);
        // Not the same although both sides had applied each other's logs: what we skipped may not have
        // reached it (a member slow or gone). Send it, so that the next comparison is a full one.
        // Unless the peer is still taking a member's versions from that member itself (skipped-resend.ts).
        if (msg.result === 'not-comparable' && this.digestPartial && this.inFlight.length === 0) {
          const theirs = msg.cursors && new Map(msg.cursors.map((c) => [c.node, c]));
          const resend = membersToResend(this.skippedFrom.keys(), theirs, this.ctx.group.cursors(), this.peerCursors);
          if (resend.length > 0) this.sendSkipped(resend);
        }
        if (msg.result === 'differ') {
          this.ctx.report('error', 'Mirror Divergence', `${this.member.node} holds other objects than this server although both have applied each other's changes (its digest ${msg.digest.slice(0, 16)}…); sending it everything again to repair`, this.member.node);
          this.resendAll();
        }
        return;
      case 'joined':
        return conn.end('an unexpected joined message');
    }
  }

  /** The peer's latest `hears`: a member it no longer hears gets what we skipped of it sent after all. */
  private heard(hears: string[] | undefined): void {
    this.peerHears = new Set(hears ?? []);
    const gone = [...this.skippedFrom.keys()].filter((origin) => !this.peerHears.has(origin));
    if (gone.length > 0) this.sendSkipped(gone);
  }

  /** Sends again from the first position skipped for `origins` (all by default); the peer's merge keeps what it has. */
  private sendSkipped(origins: string[] = [...this.skippedFrom.keys()]): void {
    let from = Infinity;
    for (const origin of origins) {
      from = Math.min(from, this.skippedFrom.get(origin) ?? Infinity);
      this.skippedFrom.delete(origin);
    }
    if (from === Infinity) return;
    // Everything from there to our present head is passed on, whoever the peer hears.
    this.forwardUpTo = Math.max(this.forwardUpTo, this.ctx.durableHead());
    if (from <= this.sent) this.sent = from - 1;
    this.pump();
  }

  private pump(): void {
    const conn = this.conn;
    if (!conn || !this.ready || this.pumping) return;
    // Read only between transactions: inside one, rows of an uncommitted write would be seen.
    if (this.ctx.store.db.inTransaction) {
      if (this.pumpWaiting) return;
      this.pumpWaiting = true;
      this.ctx.whenNoTransaction(() => {
        this.pumpWaiting = false;
        this.pump();
      });
      return;
    }
    this.pumping = true;
    try {
      const upTo = this.ctx.durableHead();
      while (this.inFlight.length < WINDOW && this.sent < upTo && conn.queuedBytes < BATCH_BYTES * 2) {
        const routes = this.ctx.store.changeRoutes(this.sent, upTo, BATCH_OBJECTS);
        const items: string[] = [];
        let bytes = 0;
        // No rows left below upTo (positions of rolled-back writes, or rows written again since): the
        // peer is told it is at upTo all the same, so its position matches ours for the digest check.
        let last = routes.length === 0 ? upTo : this.sent;
        let processed = 0;
        for (const [changeSeq, fromPeer] of routes) {
          processed++;
          last = changeSeq;
          // A version the peer itself sent us (and nothing of ours merged in) goes back to nobody but others;
          // one from a member the peer hears reaches it from that member (not passed on: see skippedFrom).
          if (fromPeer && last > this.resendUpTo) {
            if (fromPeer === this.member.node) continue;
            if (this.peerHears.has(fromPeer) && last > this.forwardUpTo) {
              if (!this.skippedFrom.has(fromPeer)) this.skippedFrom.set(fromPeer, last);
              this.status.notPassedOn++;
              continue;
            }
          }
          // Read in the same turn as its route (no write in between): it is there.
          const item = this.ctx.sentItem(changeSeq)!;
          items.push(item);
          bytes += item.length;
          if (bytes >= BATCH_BYTES) break;
        }
        if (processed === routes.length && routes.length < BATCH_OBJECTS) last = upTo;
        if (items.length === 0) {
          // Nothing for the peer (all of it came from the peer or from members it hears): the bare
          // advance waits for the next batch, or for tick() once the link is idle. Sent at once it
          // cost the peer a transaction, an fsync and an acknowledgement per batch we applied.
          this.sent = last;
          continue;
        }
        // The message `{ t: 'changes', items, upTo }`, its items already JSON (shared with the other links).
        conn.sendJson(`{"t":"changes","items":[${items.join(',')}],"upTo":${last}}`);
        this.status.sentObjects += items.length;
        this.inFlight.push({ upTo: last, at: Date.now() });
        this.sent = last;
      }
    } catch (err) {
      conn.end(`reading the change log failed: ${(err as Error).message}`);
    } finally {
      this.pumping = false;
    }
  }

  private tick(): void {
    const conn = this.conn;
    if (!conn || !this.ready) return;
    const now = Date.now();
    const oldest = this.inFlight[0];
    if (oldest && now - oldest.at > ANSWER_TIMEOUT_MS) return conn.end(`no acknowledgement for ${ANSWER_TIMEOUT_MS / 1000} s`);
    // Idle with positions passed over (pump): the peer learns it is at our head (its digest comparison needs that).
    if (this.inFlight.length === 0 && this.sent > this.acked) {
      conn.send({ t: 'changes', items: [], upTo: this.sent });
      this.inFlight.push({ upTo: this.sent, at: now });
    }
    if (this.digestAsked !== undefined && now - this.digestAsked > ANSWER_TIMEOUT_MS) return conn.end(`no digest answer for ${ANSWER_TIMEOUT_MS / 1000} s`);
    // Compare digests when idle (everything sent is acknowledged); it also tells a silent peer from a live one.
    if (this.digestAsked === undefined && this.inFlight.length === 0 && now - this.lastDigestAt >= DIGEST_EVERY_MS) {
      if (this.ctx.store.db.inTransaction) return;
      this.lastDigestAt = now;
      this.digestAsked = now;
      const view = this.ctx.digestView(this.member.node);
      this.digestHead = view.head;
      this.digestPartial = this.skippedFrom.size > 0;
      conn.send({ t: 'digest', digest: view.digest, head: view.head, applied: view.applied, ...(this.digestPartial ? { partial: true } : {}) });
    }
    this.pump();
  }

  /** Sends our issued certificates (they changed: one was issued or revoked). */
  sendPki(certificates: IssuedCertificate[]): void {
    if (this.ready) this.conn?.send({ t: 'pki', certificates });
  }

  /** Sends the member list (it changed). */
  sendMembers(members: Member[]): void {
    if (this.ready) this.conn?.send({ t: 'members', members });
  }
}
