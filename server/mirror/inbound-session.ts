// The receiving half of mirroring, one per connected peer: applies the peer's batches in order,
// each inside the key service's transaction together with the position reached, and acknowledges
// a batch only once that commit is durable. A batch that cannot be applied is undone as a whole and
// the link refused, naming what was wrong; nothing of it is kept.
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { FramedSocket } from './framed-socket.js';
import type { MirrorContext } from './mirror-context.js';
import { agreeVersion, CURSORS_SINCE, type SenderMessage } from './protocol.js';
import { decodeReplica } from './replica-codec.js';

/** Batches received and not yet applied (the sender keeps at most 4 in flight). */
const MAX_QUEUED = 8;

export class InboundSession {
  private log: string | undefined;
  private version = 0;
  private applied = 0;
  private readonly queue: { items: Extract<SenderMessage, { t: 'changes' }>['items']; upTo: number }[] = [];
  private applying = false;

  constructor(
    readonly peer: string,
    readonly conn: FramedSocket<SenderMessage>,
    private readonly ctx: MirrorContext,
    private readonly address: string,
  ) {}

  /** The peer said hello and was welcomed: its changes reach us on this connection. */
  get established(): boolean {
    return this.log !== undefined && !this.conn.closed;
  }

  onMessage(msg: SenderMessage): void {
    if (msg.t !== 'hello' && this.log === undefined) return this.refuse('the first message must be hello');
    switch (msg.t) {
      case 'hello': {
        if (this.log !== undefined) return this.refuse('a second hello');
        const agreed = agreeVersion(msg.versions);
        if ('problem' in agreed) return this.refuse(agreed.problem);
        if (msg.group !== this.ctx.identity.group || msg.node !== this.peer) return this.refuse(`hello from ${msg.node} of ${msg.group} on a connection certified for ${this.peer}`);
        this.log = msg.log;
        this.version = agreed.version;
        const known = this.ctx.group.cursorOf(this.peer);
        this.applied = known?.log === msg.log ? known.applied : 0;
        // Another log than the one we applied (its store was restored from a backup: restore.ts), or
        // its log behind what we applied of it (restored by other means): take all of it again, and
        // send it everything, even the versions it sent us — its store may no longer hold them, and
        // the log alone would never bring them back.
        const restarted = (known !== undefined && known.applied > 0 && known.log !== msg.log) || this.applied > msg.head;
        if (this.applied > msg.head) this.applied = 0;
        this.conn.send({ t: 'welcome', version: agreed.version, node: this.ctx.identity.node, applied: this.applied, hears: this.ctx.hears() });
        if (restarted) {
          this.ctx.report('warn', 'Mirror Peer Restored', `${this.peer} (${this.address}) starts again from an older state (change log ${msg.log} at ${msg.head}; we had applied ${known?.log} up to ${known?.applied}): sending it everything`, this.peer);
          this.ctx.resendTo(this.peer);
        }
        return;
      }
      case 'changes':
        if (this.queue.length >= MAX_QUEUED) return this.refuse(`more than ${MAX_QUEUED} batches unacknowledged`);
        this.queue.push({ items: msg.items, upTo: msg.upTo });
        this.next();
        return;
      case 'members': {
        let changed = false;
        this.ctx.write(
          () => {
            for (const m of msg.members) if (this.ctx.group.mergeMember(m)) changed = true;
          },
          (err) => {
            if (err) this.refuse(`the member list could not be stored: ${err.message}`);
            else if (changed) this.ctx.membersChanged();
          },
        );
        return;
      }
      case 'pki':
        this.ctx.mergePki(msg.certificates, this.peer);
        return;
      case 'digest': {
        // Comparable only when each side has applied all the other has committed (then, merges
        // being joins, both hold the same objects): a different digest then is a divergence.
        const mine = this.ctx.digestView(this.peer);
        const comparable = this.applied === msg.head && msg.applied === mine.head && this.queue.length === 0 && !this.applying;
        // A partial sender left out versions of members we hear: a difference may be theirs, still on its way.
        const result = !comparable ? 'not-comparable' : mine.digest === msg.digest ? 'match' : msg.partial ? 'not-comparable' : 'differ';
        this.conn.send({ t: 'digest-result', result, digest: mine.digest, ...(this.version >= CURSORS_SINCE ? { cursors: this.ctx.heardCursors() } : {}) });
        if (result === 'differ') {
          this.ctx.report('error', 'Mirror Divergence', `${this.peer} (${this.address}) holds other objects than this server although both have applied each other's changes; each sends the other everything again to repair`, this.peer);
          this.ctx.resendTo(this.peer);
        }
        return;
      }
      case 'join':
        return this.refuse('join on a member connection');
    }
  }

  /** The peer's log and how far it is applied here, once the peer said hello. */
  cursor(): { log: string; applied: number } | undefined {
    return this.log === undefined || this.conn.closed ? undefined : { log: this.log, applied: this.applied };
  }

  private refuse(reason: string): void {
    this.conn.send({ t: 'refuse', code: ErrorCodes.MIRROR_PROTOCOL, reason });
    this.ctx.report('error', 'Mirror Link Refused', `refused ${this.peer} (${this.address}): ${reason}`, this.peer);
    this.conn.end(reason);
  }

  private next(): void {
    if (this.applying || this.conn.closed) return;
    const batch = this.queue.shift();
    if (!batch) return;
    this.applying = true;
    const log = this.log!;
    let changed = 0;
    let firstProblem: string | undefined;
    /** Wall times of the changes applied (their stamps): replication lag is measured once they are durable here. */
    const walls: number[] = [];
    this.ctx.write(
      () => {
        for (const it of batch.items) {
          let replica;
          const bytes = Buffer.from(it.r, 'utf8');
          // A version held already (another peer forwarded it first): nothing to merge or decode.
          const { held, row } = this.ctx.changes.known(it.u, bytes);
          if (held) continue;
          try {
            replica = decodeReplica(bytes);
          } catch (err) {
            throw new KeyhavenError(ErrorCodes.MIRROR_PROTOCOL, `change ${it.seq}: ${(err as Error).message}`);
          }
          if (replica.uid !== it.u) throw new KeyhavenError(ErrorCodes.MIRROR_PROTOCOL, `change ${it.seq} names object ${it.u} but carries ${replica.uid}`);
          const material = it.m === undefined ? undefined : Buffer.from(it.m, 'base64');
          const r = this.ctx.changes.applyRemote({ replica, bytes, row, ...(material ? { material } : {}) }, this.peer);
          material?.fill(0);
          if (r.changed) {
            changed++;
            if (replica.latest) walls.push(replica.latest.wall);
          }
          if (r.conflict && !firstProblem) firstProblem = r.conflict.problem;
          if (r.aheadMs) this.ctx.clockAhead(this.peer, r.aheadMs);
        }
        // Never backwards: a batch of an older connection from the same peer may finish late.
        if (batch.upTo > this.ctx.group.applied(this.peer, log)) this.ctx.group.setApplied(this.peer, log, batch.upTo);
        // Audited after the batch's savepoint (audit records are never inside one).
        return changed > 0 ? () => this.ctx.auditApplied(this.peer, this.address, changed, batch.items.length, batch.upTo) : undefined;
      },
      (err) => {
        this.applying = false;
        if (err) {
          this.refuse(`a batch could not be applied (nothing of it was kept): ${err.message}`);
          return;
        }
        this.applied = Math.max(this.applied, batch.upTo);
        this.ctx.recordLag(walls);
        if (firstProblem) this.ctx.report('error', 'Mirror Conflict', firstProblem, this.peer);
        this.conn.send({ t: 'ack', upTo: batch.upTo, hears: this.ctx.hears() });
        this.next();
      },
    );
  }
}
