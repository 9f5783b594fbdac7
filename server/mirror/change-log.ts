// The change log mirroring ships: every object write of the store is given a replica (the merge
// rules' view of the object, replica-codec.ts) and the next position in this server's log, in the
// write's own transaction (KeyStore.apply calls onInsert / onUpdate). A peer has received everything
// up to a position; everything after it is its queue — durable because it is the store itself, and
// compacted: an object changed ten times while a peer was away is sent once, as it is now.
//
// A peer's version of an object is merged here (applyRemote) and, when the merge changed anything,
// written with a new position of this log: so it is forwarded to the other peers (a server that
// hears only some of the group still passes everything on), but not back to the peer it came from.
//
// The group digest is a sum over objects of SHA-256 of each object's replica as stored (its encoding
// is canonical: replica-codec.ts), updated with each write; two servers that applied the same changes
// hold the same sum, whatever the order. Like the store digest it is summed in memory during a
// transaction and written once, before the commit (the DeferredState half of this class).
import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { Db, Statement } from '../store/database.js';
import type { ChangeRecorder, KeyStore, MirroredRow, NewObject, StoredObject } from '../store/key-store.js';
import { addInto, subtractFrom } from '../store/store-digest.js';
import { TransactionValue } from '../store/transaction-value.js';
import { materialize, replicaAfterLocalWrite, replicaOfUnmirrored } from './attribute-slots.js';
import { HybridClock, type Hlc } from './hlc.js';
import { emptyReplica, mergeReplicas, type MergeConflict, type ObjectReplica } from './merge-rules.js';
import { decodeReplica, encodeReplica } from './replica-codec.js';

const DIGEST_KEY = 'mirror_digest';

/** A peer's object as it arrives: its replica and, unless destroyed, its plaintext material. */
export interface IncomingObject {
  replica: ObjectReplica;
  /** The replica's bytes as received (saves encoding it again when they are canonical). */
  bytes?: Buffer;
  material?: Buffer;
  /** Our row of the object as just read in this transaction (null: we have none), when the caller read it (known). */
  row?: MirroredRow | null;
}

export interface ApplyResult {
  changed: boolean;
  conflict?: MergeConflict;
  /** How far ahead of ours the peer's clock was, when too far (hlc.ts). */
  aheadMs?: number;
}

export class ChangeLog implements ChangeRecorder {
  readonly clock: HybridClock;
  private last: number;
  /** The row adoption has reached (adoptUnmirrored). */
  private adoptedUpTo = 0;
  private readonly readDigest: Statement;
  private readonly writeDigest: Statement;
  /** The group digest as the open transaction's writes left it (stored once, before the commit). */
  readonly deferred = new TransactionValue<Buffer>(
    () => this.storedDigest(),
    (d) => this.writeDigest.run(d),
    (d) => Buffer.from(d),
  );
  /** Told of each object created here, as written (sent-items.ts remembers it for the links). */
  created?: (changeSeq: number, uid: string, replica: Buffer, material: Buffer | undefined) => void;

  constructor(
    private readonly db: Db,
    private readonly store: KeyStore,
    readonly node: string,
    private readonly groupKey: KeyObject,
    physical: () => number = Date.now,
  ) {
    this.readDigest = db.prepare(`SELECT value FROM meta WHERE key = '${DIGEST_KEY}'`);
    this.writeDigest = db.prepare(`INSERT INTO meta (key, value) VALUES ('${DIGEST_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`);
    const newest = store.latestChanged();
    this.last = newest?.changeSeq ?? 0;
    // The newest row carries the greatest stamp this server issued or took in: resume above it.
    const latest = newest?.replica ? decodeReplica(newest.replica).latest : undefined;
    this.clock = new HybridClock(node, physical, latest);
  }

  /** The last position of the log (some positions may be gaps: a rolled-back write's). */
  get head(): number {
    return this.last;
  }

  /** The group digest: equal on two servers exactly when they hold the same objects (hex). */
  digest(): string {
    return this.deferred.current().toString('hex');
  }

  private storedDigest(): Buffer {
    const row = this.readDigest.get() as { value: Buffer } | undefined;
    return Buffer.isBuffer(row?.value) && row.value.length === 32 ? Buffer.from(row.value) : Buffer.alloc(32);
  }

  /** Replaces an object's contribution: `before` and `after` are its stored (canonical) replica bytes. */
  private replaceInDigest(before: Buffer | null | undefined, after: Buffer): void {
    const d = this.deferred.edit();
    if (before) subtractFrom(d, contribution(before));
    addInto(d, contribution(after));
  }

  /** The material's fingerprint in a replica: an HMAC under the group key (reveals nothing of a weak secret). */
  fingerprint(material: Buffer | undefined): string | undefined {
    return material ? createHmac('sha256', this.groupKey).update(material).digest('base64url') : undefined;
  }

  onInsert(o: NewObject): { replica: Buffer; changeSeq: number } {
    const bytes = encodeReplica(replicaAfterLocalWrite(undefined, o, this.clock.now(), this.fingerprint(o.material)));
    this.replaceInDigest(undefined, bytes);
    const changeSeq = ++this.last;
    this.created?.(changeSeq, o.uid, bytes, o.material);
    return { replica: bytes, changeSeq };
  }

  onUpdate(before: MirroredRow, after: StoredObject): { replica: Buffer; changeSeq: number } {
    const bytes = encodeReplica(replicaAfterLocalWrite(this.replicaOf(before), after, this.clock.now()));
    this.replaceInDigest(before.replica, bytes);
    return { replica: bytes, changeSeq: ++this.last };
  }

  /** The replica of a stored object (one written before mirroring gets one stamped at time zero). */
  replicaOf(row: MirroredRow): ObjectReplica {
    return row.replica ? decodeReplica(row.replica) : replicaOfUnmirrored(row.object, this.node, this.fingerprint(row.material()));
  }

  /**
   * Gives objects written before mirroring was on their replica and a place in the log (at most
   * `limit` of them: the caller commits between calls), so a server that starts a group with keys
   * already in it ships them. Returns how many it adopted (0: none left).
   */
  adoptUnmirrored(limit = 1000): number {
    // From where the last call stopped: one pass over the table, not one per page.
    const seqs = this.store.unmirroredSeqs(this.adoptedUpTo, limit);
    if (seqs.length > 0) this.adoptedUpTo = seqs[seqs.length - 1]!;
    for (const seq of seqs) {
      const row = this.store.loadMirrored(this.store.loadBySeq(seq)!.uid)!;
      const replica = this.replicaOf(row);
      this.write(replica, encodeReplica(replica), undefined, row, '');
    }
    return seqs.length;
  }

  /**
   * Our row of `uid` (null: none) and whether it holds exactly `bytes` as its replica already: then
   * merging them changes nothing, and the peer's version (a copy another peer forwarded too) need not
   * be decoded. The row is what applyRemote needs next (one lookup, not two).
   */
  known(uid: string, bytes: Buffer): { held: boolean; row: MirroredRow | null } {
    const row = this.store.loadMirrored(uid) ?? null;
    return { held: !!row?.replica && row.replica.equals(bytes), row };
  }

  /**
   * Merges a peer's version of an object into ours. Refuses (KH_MIRROR_PROTOCOL) what no honest peer
   * sends: an object without its create, or material that does not match its fingerprint.
   */
  applyRemote(incoming: IncomingObject, fromPeer: string): ApplyResult {
    const { replica: theirs, material } = incoming;
    const uid = theirs.uid;
    if (!theirs.created) throw protocol(`object ${uid} arrived without its create`);
    if (theirs.created.material !== undefined && this.fingerprint(material) !== theirs.created.material) {
      throw protocol(`the key material of object ${uid} does not match its fingerprint`);
    }
    if (theirs.created.material === undefined && material) throw protocol(`object ${uid} arrived with material it does not have`);
    // A row given by the caller is checked against the uid where it is written (KeyStore.mergeRow).
    const row = incoming.row !== undefined ? incoming.row : this.store.loadMirrored(uid);
    const ours = row ? this.replicaOf(row) : emptyReplica(uid);
    const { replica: merged, conflict } = mergeReplicas(ours, theirs);
    const received = theirs.latest ? this.clock.receive(theirs.latest) : undefined;
    const aheadMs = received?.aheadMs;
    const mergedBytes = encodeReplica(merged);
    const unchanged = row?.replica && mergedBytes.equals(row.replica);
    if (unchanged) return { changed: false, ...(conflict ? { conflict } : {}), ...(aheadMs ? { aheadMs } : {}) };
    // The material: none once destroyed; ours when the create kept is the one we hold; else theirs.
    const keepOurs = row?.hasMaterial && ours.created?.material !== undefined && merged.created?.material === ours.created.material;
    const write = merged.created?.material === undefined ? null : keepOurs ? 'keep' : material!;
    // Not sent back to the peer only when it holds all of it already (what we had is in theirs):
    // otherwise our part would never reach it.
    const onlyTheirs = mergedBytes.equals(incoming.bytes ?? encodeReplica(theirs));
    this.write(merged, mergedBytes, write, row ?? null, onlyTheirs ? fromPeer : '');
    return { changed: true, ...(conflict ? { conflict } : {}), ...(aheadMs ? { aheadMs } : {}) };
  }

  /** `row`: the object's row as read in this transaction (null: there is none). */
  private write(replica: ObjectReplica, bytes: Buffer, material: Buffer | null | 'keep' | undefined, row: MirroredRow | null, fromPeer: string): void {
    const c = replica.created!;
    const { state, attributes } = materialize(replica);
    this.replaceInDigest(row?.replica, bytes);
    this.store.applyMerged({
      uid: replica.uid,
      objectType: c.objectType,
      owner: c.owner,
      state,
      attributes,
      material: material === undefined ? (row?.hasMaterial && c.material !== undefined ? 'keep' : null) : material,
      replica: bytes,
      changeSeq: ++this.last,
      fromPeer,
      known: row,
    });
  }
}

function contribution(replicaBytes: Buffer): Buffer {
  return createHash('sha256').update(replicaBytes).digest();
}

function protocol(message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.MIRROR_PROTOCOL, message);
}

export type { Hlc };
