// What a server keeps of its mirror group in its own store: who it is (node id, group id, the id of
// its change log), the group key (wrapped under the master key), the members, how far it has applied
// each peer's log, and the join tokens it issued (their hash only).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { Db } from '../store/database.js';
import type { KeyStore } from '../store/key-store.js';
import type { Member } from './protocol.js';

export interface GroupIdentity {
  /** This server's id in the group (stamps, slot keys and certificates name it). */
  node: string;
  group: string;
  /** The id of this store's change log: a peer that applied another log of ours starts over. */
  log: string;
}

const IDENTITY_KEY = 'mirror_identity';
const GROUP_KEY = 'mirror_group_key';

export const newId = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

export class GroupState {
  /** Prepared once: a cursor is read and written with every batch applied. */
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly store: KeyStore,
  ) {
    this.stmts = {
      cursor: db.prepare('SELECT log_id, applied FROM mirror_cursors WHERE peer = ?'),
      cursors: db.prepare('SELECT peer, log_id, applied FROM mirror_cursors'),
      setCursor: db.prepare(
        'INSERT INTO mirror_cursors (peer, log_id, applied, updated) VALUES (?, ?, ?, ?) ON CONFLICT(peer) DO UPDATE SET log_id = excluded.log_id, applied = excluded.applied, updated = excluded.updated',
      ),
      members: db.prepare('SELECT node, address, removed, stamp FROM mirror_members ORDER BY node'),
    };
  }

  identity(): GroupIdentity | undefined {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = '${IDENTITY_KEY}'`).get() as { value: Buffer } | undefined;
    if (!row) return undefined;
    try {
      const j = JSON.parse(String(row.value)) as GroupIdentity;
      if (typeof j.node !== 'string' || typeof j.group !== 'string' || typeof j.log !== 'string') throw new Error('fields missing');
      return j;
    } catch (err) {
      throw new KeyhavenError(ErrorCodes.MIRROR_STATE, `the stored mirror identity is unreadable: ${(err as Error).message}`);
    }
  }

  groupKey(): Buffer {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = '${GROUP_KEY}'`).get() as { value: Buffer } | undefined;
    if (!row) throw new KeyhavenError(ErrorCodes.MIRROR_STATE, 'the mirror identity has no group key');
    return this.store.unwrapSecret(GROUP_KEY, row.value);
  }

  /** Records the identity and group key (a new group, or the one just joined), in one transaction. */
  establish(identity: GroupIdentity, groupKey: Buffer, members: Member[]): void {
    this.db.transaction(() => {
      const put = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      put.run(IDENTITY_KEY, Buffer.from(JSON.stringify(identity)));
      put.run(GROUP_KEY, this.store.wrapSecret(GROUP_KEY, groupKey));
      for (const m of members) this.mergeMember(m);
    })();
  }

  members(): Member[] {
    return (this.stmts.members.all() as { node: string; address: string; removed: number; stamp: string }[]).map(
      (r) => ({ node: r.node, address: r.address, removed: r.removed === 1, stamp: r.stamp }),
    );
  }

  /**
   * Merges one member record: the later stamp wins, and removal is final (a removed server is never
   * a member again, whatever arrives later). Returns whether anything changed.
   */
  mergeMember(m: Member): boolean {
    const cur = this.db.prepare('SELECT address, removed, stamp FROM mirror_members WHERE node = ?').get(m.node) as { address: string; removed: number; stamp: string } | undefined;
    if (cur) {
      const removed = cur.removed === 1 || m.removed;
      const later = m.stamp > cur.stamp;
      const address = later ? m.address : cur.address;
      const stamp = later ? m.stamp : cur.stamp;
      if (removed === (cur.removed === 1) && address === cur.address && stamp === cur.stamp) return false;
      this.db.prepare('UPDATE mirror_members SET address = ?, removed = ?, stamp = ? WHERE node = ?').run(address, removed ? 1 : 0, stamp, m.node);
      return true;
    }
    this.db.prepare('INSERT INTO mirror_members (node, address, removed, stamp) VALUES (?, ?, ?, ?)').run(m.node, m.address, m.removed ? 1 : 0, m.stamp);
    return true;
  }

  /** Which of `peer`'s logs this server applied, and how far (undefined: none yet). */
  cursorOf(peer: string): { log: string; applied: number } | undefined {
    const r = this.stmts.cursor.get(peer) as { log_id: string; applied: number } | undefined;
    return r && { log: r.log_id, applied: r.applied };
  }

  /** How far this server has applied `peer`'s log `log` (0: nothing, or another log of the peer's). */
  applied(peer: string, log: string): number {
    const r = this.stmts.cursor.get(peer) as { log_id: string; applied: number } | undefined;
    return r && r.log_id === log ? r.applied : 0;
  }

  /** Every peer's cursor (for the status and the digest comparison). */
  cursors(): Map<string, { log: string; applied: number }> {
    const rows = this.stmts.cursors.all() as { peer: string; log_id: string; applied: number }[];
    return new Map(rows.map((r) => [r.peer, { log: r.log_id, applied: r.applied }]));
  }

  /** Records, inside the transaction that applied them, how far `peer`'s log is applied. */
  setApplied(peer: string, log: string, applied: number): void {
    this.stmts.setCursor.run(peer, log, applied, new Date().toISOString());
  }

  /** A new join token's secret (returned once; only its hash is kept), valid for `ttlMs`. */
  issueToken(ttlMs: number, now = Date.now()): string {
    const secret = randomBytes(24).toString('base64url');
    this.db.prepare('DELETE FROM mirror_tokens WHERE expires < ?').run(now - 86_400_000);
    this.db.prepare('INSERT INTO mirror_tokens (hash, expires) VALUES (?, ?)').run(tokenHash(secret), now + ttlMs);
    return secret;
  }

  /** Takes a token (single use): true when it was issued here, unused and unexpired. Call inside the transaction that admits the member. */
  takeToken(secret: string, now = Date.now()): 'ok' | 'unknown' | 'used' | 'expired' {
    const hash = tokenHash(secret);
    const rows = this.db.prepare('SELECT hash, expires, used FROM mirror_tokens').all() as { hash: Buffer; expires: number; used: number }[];
    const row = rows.find((r) => r.hash.length === hash.length && timingSafeEqual(r.hash, hash));
    if (!row) return 'unknown';
    if (row.used) return 'used';
    if (row.expires < now) return 'expired';
    this.db.prepare('UPDATE mirror_tokens SET used = 1 WHERE hash = ?').run(row.hash);
    return 'ok';
  }

  /**
   * A store put back from a backup: it starts a new change log (a peer that applied more of the old
   * one than the copy holds would otherwise take new changes for ones it has), and forgets the join
   * tokens it had issued (one used after the backup was taken would be unused again). Call inside a
   * transaction. Returns the new log id (undefined: not in a group).
   */
  restarted(): string | undefined {
    const id = this.identity();
    this.db.prepare('DELETE FROM mirror_tokens').run();
    if (!id) return undefined;
    const next: GroupIdentity = { ...id, log: newId('l') };
    this.db.prepare(`UPDATE meta SET value = ? WHERE key = '${IDENTITY_KEY}'`).run(Buffer.from(JSON.stringify(next)));
    return next.log;
  }
}

const tokenHash = (secret: string) => createHash('sha256').update(`keyhaven-join-token:${secret}`).digest();
