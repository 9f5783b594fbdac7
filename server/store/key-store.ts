// The key store: managed objects in SQLite, key material wrapped under the master key, every row
// sealed with an HMAC so that a modified owner, state or attribute is detected on load.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { decode } from '../kmip/decode.js';
import { encode } from '../kmip/encode.js';
import { integer, structure, textString, type Item } from '../kmip/item.js';
import { Enum, Tag } from '../kmip/tables.js';
import type { Attribute } from '../kmip/attribute-codec.js';
import { ErrorCodes, KeyhavenError, KmipError } from '../errors.js';
import type { Db } from './database.js';
import { LazySavepoints, type DeferredState } from './savepoints.js';
import { sameKey, type DerivedKeys } from './master-key.js';
import { StoreDigest } from './store-digest.js';
import { unwrapMaterial, wrapMaterial } from './wrap.js';

export interface StoredObject {
  seq: number;
  uid: string;
  objectType: number;
  owner: string;
  state: number;
  attributes: Attribute[];
  hasMaterial: boolean;
}

export interface NewObject {
  uid: string;
  objectType: number;
  owner: string;
  state: number;
  attributes: Attribute[];
  /** The object's KMIP value (e.g. its Key Block) as TTLV bytes, wrapped before it is stored. */
  material?: Buffer;
}

/** Attributes Locate can find through the index rather than by scanning. */
const INDEXED = new Set([
  'Name',
  'Object Group',
  'Alternative Name',
  'Application Specific Information',
  'Link',
  'Cryptographic Algorithm',
  'Cryptographic Length',
  'Contact Information',
]);
export const isIndexed = (name: string) => INDEXED.has(name) || name.startsWith('x-') || name.startsWith('y-');

/** The index key of an attribute value: its canonical TTLV encoding. */
export const indexKey = (value: Item) => encode(value);

interface Row {
  seq: number;
  uid: string;
  object_type: number;
  owner: string;
  state: number;
  attributes: Buffer;
  material: Buffer | null;
  mac: Buffer;
}

/** A row with mirroring's columns, read only where mirroring reads (Get and Locate read `Row`). */
interface MirrorRow extends Row {
  /**
   * Mirroring's replica of the object (server/mirror/replica-codec.ts), after a 32-byte HMAC that binds
   * it to its object: sealed apart from the row, so that Get neither reads nor checks it. Null on a
   * store that never mirrored.
   */
  replica: Buffer | null;
  change_seq: number | null;
  from_peer: string | null;
}

/** The columns of `Row`: what Get, Locate and updates read (not the replica, often larger than the rest). */
const ROW_COLUMNS = 'seq, uid, object_type, owner, state, attributes, material, mac';
const REPLICA_MAC_BYTES = 32;

/**
 * What mirroring adds to each write of this store (server/mirror/change-log.ts): the object's
 * replica and its place in the change log, computed inside the write's transaction.
 */
export interface ChangeRecorder {
  /** What its writes keep until the commit (the group digest). */
  readonly deferred: DeferredState;
  onInsert(o: NewObject): { replica: Buffer; changeSeq: number };
  onUpdate(before: MirroredRow, after: StoredObject, destroyMaterial: boolean): { replica: Buffer; changeSeq: number };
}

/** An object as mirroring reads it: the row, decoded and verified, and its material unwrapped on demand. */
export interface MirroredRow {
  uid: string;
  /** Whether it holds key material (object.hasMaterial, without decoding the attributes). */
  hasMaterial: boolean;
  object: StoredObject;
  replica: Buffer | null;
  changeSeq: number | null;
  fromPeer: string | null;
  material(): Buffer | undefined;
}

/** A peer's version of an object, merged by mirroring, written as it is (see KeyStore.applyMerged). */
export interface MergedObject {
  uid: string;
  objectType: number;
  owner: string;
  state: number;
  attributes: Attribute[];
  /** The plaintext material to wrap; null: none (destroyed); 'keep': the stored material stays. */
  material: Buffer | null | 'keep';
  replica: Buffer;
  changeSeq: number;
  fromPeer: string;
  /** The row as mirroring read it in this transaction (loadMirrored), or null: it read none. Saves reading it again. */
  known?: MirroredRow | null;
}

/** Attribute instances one object may hold, and their total encoded size (64 KiB). */
export const MAX_ATTRIBUTES_PER_OBJECT = 256;
export const MAX_OBJECT_ATTRIBUTE_BYTES = 64 * 1024;

/**
 * The stored form of an object's attributes. Refuses (Invalid Field) more than an object may hold,
 * whichever operation adds them: each value is bounded when parsed, this bounds their number.
 */
export function encodeAttributes(attrs: Attribute[]): Buffer {
  if (attrs.length > MAX_ATTRIBUTES_PER_OBJECT) {
    throw new KmipError(Enum.ResultReason.InvalidField, `an object holds at most ${MAX_ATTRIBUTES_PER_OBJECT} attribute instances; this change would make ${attrs.length}`);
  }
  const encoded = encodeAttributeList(attrs);
  if (encoded.length > MAX_OBJECT_ATTRIBUTE_BYTES) {
    throw new KmipError(Enum.ResultReason.InvalidField, `an object's attributes take at most ${MAX_OBJECT_ATTRIBUTE_BYTES} bytes; this change would make ${encoded.length}`);
  }
  return encoded;
}

function encodeAttributeList(attrs: Attribute[]): Buffer {
  return encode(
    structure(
      Tag.TemplateAttribute,
      attrs.map((a) =>
        structure(Tag.Attribute, [textString(Tag.AttributeName, a.name), integer(Tag.AttributeIndex, a.index), a.value]),
      ),
    ),
  );
}

export function decodeAttributes(buf: Buffer): Attribute[] {
  const s = decode(buf, { maxDepth: 8 });
  if (s.type !== 0x01) throw new Error('attributes are not a structure');
  return s.value.map((a) => {
    if (a.type !== 0x01 || a.value.length !== 3) throw new Error('malformed stored attribute');
    const [n, i, v] = a.value as [Item, Item, Item];
    if (n.type !== 0x07 || i.type !== 0x02) throw new Error('malformed stored attribute');
    return { name: n.value, index: i.value, value: v };
  });
}

/** How long to wait before retrying a scrub that another reader of the database held up. */
const SCRUB_RETRY_MS = 1000;

/**
 * The sealed fields in one buffer, each preceded by its byte length (4 bytes, big-endian): the same
 * bytes as updating the HMAC field by field, in one update.
 */
function lengthPrefixed(fields: readonly (string | Buffer)[]): Buffer {
  let size = 0;
  for (const f of fields) size += 4 + (typeof f === 'string' ? Buffer.byteLength(f, 'utf8') : f.length);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of fields) {
    const n = typeof f === 'string' ? out.write(f, at + 4, 'utf8') : f.copy(out, at + 4);
    out.writeUInt32BE(n, at);
    at += 4 + n;
  }
  return out;
}

const NO_MATERIAL = Buffer.alloc(0);

/**
 * One change to the stored objects. Every write of the store is one of these, applied by
 * KeyStore.apply: the single place where a change reaches the database, is recorded as a write of
 * the open transaction (so it is durable before it is acknowledged), and, next, where mirroring
 * will append its change record in the same transaction.
 */
export type StoreChange =
  | { kind: 'insert'; object: NewObject }
  | { kind: 'update'; object: StoredObject; destroyMaterial: boolean }
  | { kind: 'merge'; object: MergedObject };

/** A stored row as the object it holds (its seal checked by the caller). */
function objectOf(row: Row): StoredObject {
  return {
    seq: row.seq,
    uid: row.uid,
    objectType: row.object_type,
    owner: row.owner,
    state: row.state,
    attributes: decodeAttributes(row.attributes),
    hasMaterial: row.material !== null,
  };
}

export class KeyStore {
  private readonly stmts;
  private scrubScheduled = false;
  /** The raw rows behind the MirroredRow views handed out (mergeRow reuses them instead of reading again). */
  private readonly rawRows = new WeakMap<MirroredRow, MirrorRow>();
  private readonly savepoints: LazySavepoints;
  /** What the writes of the open transaction keep in memory until its commit (the store and group digests). */
  private readonly deferred: DeferredState;
  /** The row and wrap keys as KeyObjects: imported once rather than on every HMAC or decryption. */
  private readonly rowKey: KeyObject;
  private readonly wrapKey: KeyObject;
  /** The sealed sum over every row, updated with each write (store-digest.ts). */
  readonly digest: StoreDigest;
  private recorder: ChangeRecorder | undefined;
  /** Objects made here (not arrived by mirroring) since the start: strict mirroring waits for a peer after one. */
  localInserts = 0;

  constructor(
    readonly db: Db,
    private readonly keys: DerivedKeys,
  ) {
    this.checkMasterKey();
    const deferred: DeferredState = {
      mark: () => [this.digest.deferred.mark(), this.recorder?.deferred.mark()],
      restore: (mark) => {
        const [digest, recorder] = mark as [unknown, unknown];
        this.digest.deferred.restore(digest);
        this.recorder?.deferred.restore(recorder);
      },
      flush: () => {
        this.digest.deferred.flush();
        this.recorder?.deferred.flush();
      },
      discard: () => {
        this.digest.deferred.discard();
        this.recorder?.deferred.discard();
      },
    };
    this.deferred = deferred;
    this.savepoints = new LazySavepoints(db, deferred);
    this.rowKey = createSecretKey(keys.row);
    this.wrapKey = createSecretKey(keys.wrap);
    this.digest = new StoreDigest(db, keys);
    this.digest.initIfPristine();
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO objects (seq, uid, object_type, owner, state, attributes, material, mac, replica, change_seq, from_peer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      lastSeq: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'objects'").pluck(),
      byUid: db.prepare(`SELECT ${ROW_COLUMNS} FROM objects WHERE uid = ?`),
      bySeq: db.prepare(`SELECT ${ROW_COLUMNS} FROM objects WHERE seq = ?`),
      mirroredByUid: db.prepare('SELECT * FROM objects WHERE uid = ?'),
      mirroredBySeq: db.prepare('SELECT * FROM objects WHERE seq = ?'),
      update: db.prepare('UPDATE objects SET object_type = ?, owner = ?, state = ?, attributes = ?, material = ?, mac = ?, replica = ?, change_seq = ?, from_peer = ? WHERE seq = ?'),
      changedSince: db.prepare('SELECT * FROM objects WHERE change_seq > ? AND change_seq <= ? ORDER BY change_seq LIMIT ?'),
      changeRoutes: db.prepare('SELECT change_seq, from_peer FROM objects WHERE change_seq > ? AND change_seq <= ? ORDER BY change_seq LIMIT ?').raw(),
      mirroredByChange: db.prepare('SELECT * FROM objects WHERE change_seq = ?'),
      latestChanged: db.prepare('SELECT * FROM objects WHERE change_seq IS NOT NULL ORDER BY change_seq DESC LIMIT 1'),
      unmirrored: db.prepare('SELECT seq FROM objects WHERE seq > ? AND change_seq IS NULL ORDER BY seq LIMIT ?'),
      indexInsert: db.prepare('INSERT OR IGNORE INTO attribute_index (owner, name, value, seq) VALUES (?, ?, ?, ?)'),
      indexDelete: db.prepare('DELETE FROM attribute_index WHERE seq = ?'),
      indexLookup: db.prepare(
        'SELECT seq FROM attribute_index WHERE owner = ? AND name = ? AND value = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      indexLookupOldest: db.prepare(
        'SELECT seq FROM attribute_index WHERE owner = ? AND name = ? AND value = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      scanOwner: db.prepare(`SELECT ${ROW_COLUMNS} FROM objects WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?`),
      scanOwnerOldest: db.prepare(`SELECT ${ROW_COLUMNS} FROM objects WHERE owner = ? AND seq > ? ORDER BY seq LIMIT ?`),
      count: db.prepare('SELECT count(*) AS n FROM objects'),
      countLive: db.prepare('SELECT count(*) AS n FROM objects WHERE material IS NOT NULL'),
    };
  }

  /** The first start records the master key's check value; later starts refuse a different key. */
  private checkMasterKey(): void {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'master_key_check'").get() as { value: Buffer } | undefined;
    if (!row) {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('master_key_check', ?)").run(this.keys.check);
      return;
    }
    if (!sameKey(row.value, this.keys.check)) {
      throw new KeyhavenError(
        ErrorCodes.STORE_MASTER_KEY,
        'the master key does not match this key store: start with the master key file this store was created with',
      );
    }
  }

  /** Mirroring records each write from now on (the replica and the change log, in the write's transaction). */
  attachRecorder(recorder: ChangeRecorder): void {
    this.recorder = recorder;
  }

  private seal(r: Omit<Row, 'mac'>): Buffer {
    const fields = [`${r.seq}`, r.uid, `${r.object_type}`, r.owner, `${r.state}`, r.attributes, r.material ?? NO_MATERIAL];
    return createHmac('sha256', this.rowKey).update(lengthPrefixed(fields)).digest();
  }

  private replicaMac(uid: string, replica: Buffer): Buffer {
    return createHmac('sha256', this.rowKey).update(lengthPrefixed(['keyhaven-replica', uid, replica])).digest();
  }

  /** The stored form of a replica: its HMAC (bound to the object), then its bytes. */
  private sealReplica(uid: string, replica: Buffer | null): Buffer | null {
    return replica === null ? null : Buffer.concat([this.replicaMac(uid, replica), replica]);
  }

  /** The replica's bytes, once its HMAC is checked (an older replica put back is the group digest's to find). */
  private openReplica(uid: string, stored: Buffer | null): Buffer | null {
    if (stored === null) return null;
    const replica = stored.subarray(REPLICA_MAC_BYTES);
    if (stored.length < REPLICA_MAC_BYTES || !sameKey(stored.subarray(0, REPLICA_MAC_BYTES), this.replicaMac(uid, replica))) {
      throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `the mirroring state of object ${uid} failed its integrity check: the key store was modified outside Keyhaven`);
    }
    return replica;
  }

  insert(o: NewObject): StoredObject {
    const seq = this.apply({ kind: 'insert', object: o });
    return { seq, uid: o.uid, objectType: o.objectType, owner: o.owner, state: o.state, attributes: o.attributes, hasMaterial: !!o.material };
  }

  /**
   * Writes an object's changed state and attributes. With `destroyMaterial` the wrapped material
   * is removed (secure_delete zeroes the freed pages).
   */
  save(o: StoredObject, options: { destroyMaterial?: boolean } = {}): void {
    this.apply({ kind: 'update', object: o, destroyMaterial: options.destroyMaterial ?? false });
  }

  /**
   * The one write path: opens the pending savepoints (which also records the write, so the
   * transaction's commit is made durable before any response: savepoints.ts), writes the sealed
   * row, the store digest and Locate's index. Returns the row's seq.
   * Mirroring (next issue) appends the change record here, inside the same transaction.
   */
  private apply(change: StoreChange): number {
    this.savepoints.beforeWrite();
    const seq = change.kind === 'insert' ? this.insertRow(change.object) : change.kind === 'update' ? this.updateRow(change.object, change.destroyMaterial) : this.mergeRow(change.object);
    // Outside a transaction each statement commits by itself: nothing may wait for a commit.
    if (!this.db.inTransaction) this.deferred.flush();
    return seq;
  }

  /**
   * Stores what this transaction's writes deferred (the sealed store digest, mirroring's group
   * digest). Whoever commits a transaction that may hold a store write calls it just before COMMIT:
   * without it the digest would not match the rows, and the next start would report the store as
   * modified outside Keyhaven.
   */
  flushDeferred(): void {
    this.deferred.flush();
  }

  /** The transaction was rolled back: forgets what its writes deferred. */
  discardDeferred(): void {
    this.deferred.discard();
  }

  /** For a write outside the objects table that must be undone with the savepoint around it (mirroring's tables). */
  prepareWrite(): void {
    this.savepoints.beforeWrite();
  }

  /** Whether the open transaction holds a store write; resets the record. Call at its commit or rollback. */
  takeTransactionWrites(): boolean {
    return this.savepoints.takeTransactionWrites();
  }

  private insertRow(o: NewObject, mirrored?: { replica: Buffer; changeSeq: number; fromPeer: string | null }): number {
    const attributes = encodeAttributes(o.attributes);
    const material = o.material ? wrapMaterial(this.wrapKey, o.uid, o.objectType, o.material) : null;
    if (!mirrored) this.localInserts++;
    const m = mirrored ?? (this.recorder ? { ...this.recorder.onInsert(o), fromPeer: null } : undefined);
    const replica = this.sealReplica(o.uid, m?.replica ?? null);
    // The seal covers seq: the one AUTOINCREMENT would give (the greatest ever used, plus one; read
    // inside this write transaction), so that the row is sealed before it is inserted. Inserting a
    // placeholder and sealing after cost a second write of the whole row.
    const seq = ((this.stmts.lastSeq.get() as number | undefined) ?? 0) + 1;
    const row = { seq, uid: o.uid, object_type: o.objectType, owner: o.owner, state: o.state, attributes, material };
    const mac = this.seal(row);
    this.stmts.insert.run(seq, o.uid, o.objectType, o.owner, o.state, attributes, material, mac, replica, m?.changeSeq ?? null, m?.fromPeer ?? null);
    this.digest.update(seq, undefined, mac);
    this.index(seq, o.owner, o.attributes);
    return seq;
  }

  private index(seq: number, owner: string, attrs: Attribute[]): void {
    for (const a of attrs) if (isIndexed(a.name)) this.stmts.indexInsert.run(owner, a.name, indexKey(a.value), seq);
  }

  private verified(row: Row): Row {
    if (!sameKey(row.mac, this.seal(row))) {
      throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `object ${row.uid} failed its integrity check: the key store was modified outside Keyhaven`);
    }
    return row;
  }

  private fromRow(row: Row | undefined): StoredObject | undefined {
    if (!row) return undefined;
    return objectOf(this.verified(row));
  }

  load(uid: string): StoredObject | undefined {
    return this.fromRow(this.stmts.byUid.get(uid) as Row | undefined);
  }

  loadBySeq(seq: number): StoredObject | undefined {
    return this.fromRow(this.stmts.bySeq.get(seq) as Row | undefined);
  }

  /** The object and its unwrapped material (TTLV bytes; undefined once destroyed), in one read. */
  loadWithMaterial(uid: string): { object: StoredObject; material: Buffer | undefined } | undefined {
    const row = this.stmts.byUid.get(uid) as Row | undefined;
    const object = this.fromRow(row);
    if (!object || !row) return undefined;
    const material = row.material === null ? undefined : unwrapMaterial(this.wrapKey, row.uid, row.object_type, row.material);
    return { object, material };
  }

  /** `known`: the current row, when the caller has read it already (a merge). */
  private updateRow(o: StoredObject, destroyMaterial: boolean, mirrored?: { replica: Buffer; changeSeq: number; fromPeer: string | null; material?: Buffer | null }, known?: MirrorRow): number {
    // The recorder needs the current replica; without mirroring the replica column is not read.
    const current = known ?? ((this.recorder ? this.stmts.mirroredBySeq : this.stmts.bySeq).get(o.seq) as MirrorRow | undefined);
    if (!current) throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `object ${o.uid} vanished while being updated`);
    const attributes = encodeAttributes(o.attributes);
    const material = mirrored?.material !== undefined ? mirrored.material : destroyMaterial ? null : current.material;
    const m = mirrored ?? (this.recorder ? { ...this.recorder.onUpdate(this.mirroredRow(current), o, destroyMaterial), fromPeer: null } : undefined);
    const replica = this.sealReplica(o.uid, m?.replica ?? null);
    const row = { seq: o.seq, uid: o.uid, object_type: o.objectType, owner: o.owner, state: o.state, attributes, material };
    const mac = this.seal(row);
    this.stmts.update.run(o.objectType, o.owner, o.state, attributes, material, mac, replica, m?.changeSeq ?? null, m?.fromPeer ?? null, o.seq);
    this.digest.update(o.seq, current.mac, mac);
    this.stmts.indexDelete.run(o.seq);
    this.index(o.seq, o.owner, o.attributes);
    o.hasMaterial = material !== null;
    if (current.material !== null && material === null) this.scheduleScrub();
    return o.seq;
  }

  /** A secret of the store's own (e.g. mirroring's group key), wrapped under the master key for the meta table. */
  wrapSecret(label: string, plaintext: Buffer): Buffer {
    return wrapMaterial(this.wrapKey, `secret:${label}`, 0, plaintext);
  }

  unwrapSecret(label: string, envelope: Buffer): Buffer {
    return unwrapMaterial(this.wrapKey, `secret:${label}`, 0, envelope);
  }

  /** A peer's version of an object, already merged with ours by mirroring: written as given. */
  applyMerged(m: MergedObject): number {
    return this.apply({ kind: 'merge', object: m });
  }

  private mergeRow(m: MergedObject): number {
    // Read (and checked) by mirroring a moment ago, in this transaction: not read or checked again.
    if (m.known) void m.known.replica; // reading it checks the row, if mirroring did not already
    const current = m.known === null ? undefined : ((m.known && this.rawRows.get(m.known)) ?? (this.stmts.mirroredByUid.get(m.uid) as MirrorRow | undefined));
    if (current && current.uid !== m.uid) throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `a merge of ${m.uid} was given the row of ${current.uid}`);
    const mirrored = { replica: m.replica, changeSeq: m.changeSeq, fromPeer: m.fromPeer };
    if (!current) {
      if (m.material === 'keep') throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `object ${m.uid} has no stored material to keep`);
      const o: NewObject = { uid: m.uid, objectType: m.objectType, owner: m.owner, state: m.state, attributes: m.attributes };
      if (m.material) o.material = m.material;
      return this.insertRow(o, mirrored);
    }
    // The type and owner are the create's the merge kept: another server's earlier create of the same
    // identifier (a collision) replaces ours whole, and its material is wrapped for its type.
    if (m.material === 'keep' && m.objectType !== current.object_type) throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `object ${m.uid} keeps its material but changes its type`);
    const object: StoredObject = { seq: current.seq, uid: m.uid, objectType: m.objectType, owner: m.owner, state: m.state, attributes: m.attributes, hasMaterial: current.material !== null };
    const material = m.material === 'keep' ? current.material : m.material === null ? null : wrapMaterial(this.wrapKey, m.uid, m.objectType, m.material);
    return this.updateRow(object, material === null, { ...mirrored, material }, current);
  }

  /** The row checked (seal and replica HMAC); its attributes decoded only when asked for (a sender never does). */
  private mirroredRow(row: MirrorRow): MirroredRow {
    // Checked (row seal, replica HMAC) once, when its contents are first read: a sender skips many rows
    // by their routing fields alone (change_seq, from_peer), which decide only what is sent, not what.
    let replica: Buffer | null | undefined;
    const check = () => {
      if (replica === undefined) {
        this.verified(row);
        replica = this.openReplica(row.uid, row.replica);
      }
      return replica;
    };
    let object: StoredObject | undefined;
    const wrapKey = this.wrapKey;
    const mirrored: MirroredRow = {
      uid: row.uid,
      hasMaterial: row.material !== null,
      get object() {
        check();
        return (object ??= objectOf(row));
      },
      get replica() {
        return check();
      },
      changeSeq: row.change_seq,
      fromPeer: row.from_peer,
      material: () => {
        check();
        return row.material === null ? undefined : unwrapMaterial(wrapKey, row.uid, row.object_type, row.material);
      },
    };
    this.rawRows.set(mirrored, row);
    return mirrored;
  }

  /** The object as mirroring reads it (undefined: no such object here). */
  loadMirrored(uid: string): MirroredRow | undefined {
    const row = this.stmts.mirroredByUid.get(uid) as MirrorRow | undefined;
    return row ? this.mirroredRow(row) : undefined;
  }

  /** Objects whose latest version is in the change log after `after` and at most `upTo`, in log order. */
  changedSince(after: number, upTo: number, limit: number): MirroredRow[] {
    return (this.stmts.changedSince.all(after, upTo, limit) as MirrorRow[]).map((r) => this.mirroredRow(r));
  }

  /**
   * Where each change after `after` (and at most `upTo`) came from, in log order: [position, peer or
   * null]. A sender decides from these alone which versions to pass on, and reads only those rows
   * (reading whole rows to skip most of them was a tenth of a forwarding server's time).
   */
  changeRoutes(after: number, upTo: number, limit: number): [number, string | null][] {
    return this.stmts.changeRoutes.all(after, upTo, limit) as [number, string | null][];
  }

  /** The object whose latest version is at `changeSeq` in the change log (undefined: none is, any more). */
  loadChanged(changeSeq: number): MirroredRow | undefined {
    const row = this.stmts.mirroredByChange.get(changeSeq) as MirrorRow | undefined;
    return row ? this.mirroredRow(row) : undefined;
  }

  /** The object written last in the change log (it carries the greatest stamp this server issued or took in). */
  latestChanged(): MirroredRow | undefined {
    const row = this.stmts.latestChanged.get() as MirrorRow | undefined;
    return row ? this.mirroredRow(row) : undefined;
  }

  /** Objects written before this store mirrored (no place in the change log yet) after row `after`, a page at a time. */
  unmirroredSeqs(after: number, limit: number): number[] {
    return (this.stmts.unmirrored.all(after, limit) as { seq: number }[]).map((r) => r.seq);
  }

  /**
   * Destroyed material must not outlive its Destroy in any file. secure_delete zeroes the freed bytes
   * in the new page images, but the WAL still holds the older frames (with the wrapped material) until
   * a checkpoint copies the new pages over the database file and the WAL is truncated. Neither happens
   * on its own for a long time (SQLite checkpoints after 1000 pages), so once the transaction that
   * removed material has committed — the caller commits at the end of this turn of the event loop —
   * the store checkpoints and truncates the WAL. That also makes the commit durable (the checkpoint
   * syncs the WAL, then the database file), before the Destroy is acknowledged.
   */
  private scheduleScrub(delayMs = 0): void {
    if (this.scrubScheduled && delayMs === 0) return;
    this.scrubScheduled = true;
    const run = () => this.scrub();
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }

  private scrub(waited = 0): void {
    if (!this.db.open) return;
    if (this.db.inTransaction) {
      // The epoch holding the Destroy has not committed yet (or a new one began): after it.
      if (waited === 0) setImmediate(() => this.scrub(1));
      else setTimeout(() => this.scrub(waited + 1), 10).unref();
      return;
    }
    this.scrubScheduled = false;
    try {
      const r = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      // Another connection (e.g. `keyhaven audit tail`) kept an older snapshot: try again shortly.
      if (r[0]?.busy) this.scheduleScrub(SCRUB_RETRY_MS);
    } catch {
      this.scheduleScrub(SCRUB_RETRY_MS);
    }
  }

  /**
   * An owner's objects carrying an indexed attribute value, a page at a time: newest first below
   * `from`, or oldest first above it. Other owners' rows are never read.
   */
  findByAttribute(owner: string, name: string, value: Item, from: number, limit: number, order: 'newest' | 'oldest' = 'newest'): number[] {
    const stmt = order === 'newest' ? this.stmts.indexLookup : this.stmts.indexLookupOldest;
    return (stmt.all(owner, name, indexKey(value), from, limit) as { seq: number }[]).map((r) => r.seq);
  }

  /** An owner's objects, a page at a time, in the same order convention as findByAttribute. */
  scanOwner(owner: string, from: number, limit: number, order: 'newest' | 'oldest' = 'newest'): StoredObject[] {
    const stmt = order === 'newest' ? this.stmts.scanOwner : this.stmts.scanOwnerOldest;
    return (stmt.all(owner, from, limit) as Row[]).map((r) => this.fromRow(r)!);
  }

  /**
   * Savepoints make each batch item (and, for Undo, each batch) atomic inside the open transaction.
   * They are issued lazily (savepoints.ts): every write goes through apply().
   */
  savepoint(name: string): void {
    this.savepoints.open(name);
  }

  release(name: string): void {
    this.savepoints.release(name);
  }

  rollbackTo(name: string): void {
    this.savepoints.rollbackTo(name);
  }

  count(): { objects: number; withMaterial: number } {
    return {
      objects: (this.stmts.count.get() as { n: number }).n,
      withMaterial: (this.stmts.countLive.get() as { n: number }).n,
    };
  }
}
