// The store digest: what makes splicing rows detectable. Each object row is sealed on its own
// (key-store.ts), so an older sealed version of a row put back into the current file — the Active
// version of a key revoked since — still verifies. The digest covers the set of rows:
//
//   D = Σ over rows of HMAC-SHA256(k_digest, seq ‖ row mac)  mod 2^256
//
// kept with the row count and a store generation G (incremented on every object write) in the meta
// table, and updated in the same transaction as each insert or update (subtract the row's old
// contribution, add the new one). Within a transaction the updates are summed in memory and the
// meta row is sealed and written once, just before the commit (KeyStore.flushDeferred): sealing took
// about 28 µs per write, an eighth of what applying a mirrored change cost. A rolled-back savepoint (a batch item, an Undo
// batch, a failed message) restores the sum as it was when the savepoint was issued (savepoints.ts),
// and a rolled-back transaction forgets it: the row read next is the committed one.
//
// The triple is stored encrypted: with D in the clear, the difference between two copies of the
// file would give away per-row contributions, and an attacker holding many old row versions could
// search (generalised birthday) for a set of substitutions whose contributions cancel. Each write
// seals it under a fresh subkey (HMAC of a random salt) with AES-256-GCM: one GCM key with random
// 96-bit nonces is good for 2^32 messages only (NIST SP 800-38D §8.3), and a busy store reaches that.
// G is what the anchor file (anchor.ts) pins: rows and digest rolled back together are older than
// the anchored generation.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { neverHeldObjects, type Db, type Statement } from './database.js';
import { publicRandomBytes } from './public-random.js';
import { TransactionValue } from './transaction-value.js';

export const DIGEST_META_KEY = 'store_digest';
export const STORE_ID_META_KEY = 'store_id';

export interface DigestState {
  /** Object writes (inserts and updates) the store has committed since it was created. */
  generation: number;
  rows: number;
  /** The sum, 32 bytes big-endian. */
  digest: Buffer;
}

const FORMAT = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PLAIN_BYTES = 8 + 8 + 32;
const BLOB_BYTES = 1 + SALT_BYTES + NONCE_BYTES + TAG_BYTES + PLAIN_BYTES;
const SUBKEY_LABEL = Buffer.from('keyhaven/store-digest/v1');

/** acc += x (mod 2^256), both 32-byte big-endian. */
export function addInto(acc: Buffer, x: Buffer): void {
  let carry = 0;
  for (let i = 28; i >= 0; i -= 4) {
    const s = acc.readUInt32BE(i) + x.readUInt32BE(i) + carry;
    acc.writeUInt32BE(s >>> 0, i);
    carry = s > 0xffffffff ? 1 : 0;
  }
}

/** acc -= x (mod 2^256). */
export function subtractFrom(acc: Buffer, x: Buffer): void {
  let borrow = 0;
  for (let i = 28; i >= 0; i -= 4) {
    let d = acc.readUInt32BE(i) - x.readUInt32BE(i) - borrow;
    borrow = d < 0 ? 1 : 0;
    if (d < 0) d += 0x100000000;
    acc.writeUInt32BE(d, i);
  }
}

const copyState = (s: DigestState): DigestState => ({ ...s, digest: Buffer.from(s.digest) });

/** A value read from the database as bytes, whatever SQLite type someone stored there. */
const asBytes = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)));

export class StoreDigest {
  private readonly contributionKey: KeyObject;
  private readonly sealKey: KeyObject;
  private readonly readStmt: Statement;
  private readonly writeStmt: Statement;
  /** seq (8 bytes) ‖ row mac (32 bytes): the HMAC input of a contribution. */
  private readonly input = Buffer.alloc(40);
  /** The last blob read or written and what it holds: saves a decryption on consecutive writes. */
  private cache: { blob: Buffer; state: DigestState } | undefined;
  private storeIdCache: Buffer | undefined;
  /** The open transaction's state: sealed and written once, just before it commits (KeyStore.flushDeferred). */
  readonly deferred: TransactionValue<DigestState>;

  constructor(
    private readonly db: Db,
    keys: { digest: Buffer; digestSeal: Buffer },
  ) {
    this.contributionKey = createSecretKey(keys.digest);
    this.sealKey = createSecretKey(keys.digestSeal);
    this.readStmt = db.prepare(`SELECT value FROM meta WHERE key = '${DIGEST_META_KEY}'`);
    this.writeStmt = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('${DIGEST_META_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
    );
    this.deferred = new TransactionValue(() => this.read(), (s) => this.write(s), copyState);
  }

  /** Gives a brand-new store its identifier and an empty digest; anything else is left to the checks. */
  initIfPristine(): void {
    if (this.exists() || !neverHeldObjects(this.db)) return;
    this.reset({ generation: 0, rows: 0, digest: Buffer.alloc(32) });
  }

  exists(): boolean {
    return this.readStmt.get() !== undefined;
  }

  /** Random identifier of this store, made with its digest; bound into the digest and the anchor. */
  storeId(): Buffer | undefined {
    if (this.storeIdCache) return this.storeIdCache;
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = '${STORE_ID_META_KEY}'`).get() as { value: unknown } | undefined;
    if (row && Buffer.isBuffer(row.value) && row.value.length === 16) this.storeIdCache = row.value;
    return this.storeIdCache;
  }

  /** A row's contribution to the sum. */
  contribution(seq: number, mac: unknown): Buffer {
    const m = asBytes(mac);
    const input = this.input;
    input.writeUInt32BE(Math.floor(seq / 0x100000000), 0);
    input.writeUInt32BE(seq >>> 0, 4);
    // One update for the usual 32-byte seal (this runs once per row at every start).
    if (m.length === 32) {
      m.copy(input, 8);
      return createHmac('sha256', this.contributionKey).update(input).digest();
    }
    return createHmac('sha256', this.contributionKey).update(input.subarray(0, 8)).update(m).digest();
  }

  /**
   * Accounts for one object write: a new row (`oldMac` undefined) or a row whose seal changed from
   * `oldMac` to `newMac`. Runs inside the writer's savepoint (the caller has issued it).
   */
  update(seq: number, oldMac: unknown, newMac: Buffer): void {
    const s = this.deferred.edit();
    if (oldMac === undefined) s.rows++;
    else subtractFrom(s.digest, this.contribution(seq, oldMac));
    addInto(s.digest, this.contribution(seq, newMac));
    s.generation++;
  }

  /** The stored state (what is committed, or written in this transaction); refuses a missing or inauthentic digest (STORE_ROLLBACK: only edits do that). */
  read(): DigestState {
    const row = this.readStmt.get() as { value: unknown } | undefined;
    if (!row) {
      throw new KeyhavenError(
        ErrorCodes.STORE_ROLLBACK,
        'the sealed store digest is missing from the database: it was removed outside Keyhaven, or the store was last run by a Keyhaven without rollback detection',
      );
    }
    const blob = asBytes(row.value);
    if (this.cache && this.cache.blob.equals(blob)) return copyState(this.cache.state);
    const state = this.open(blob);
    if (!state) throw new KeyhavenError(ErrorCodes.STORE_ROLLBACK, 'the sealed store digest is not authentic: it was edited outside Keyhaven');
    this.cache = { blob, state: copyState(state) };
    return state;
  }

  /** Σ over the rows as they are in the file now (one pass over seq and mac). */
  recompute(): { rows: number; digest: Buffer } {
    // Eight 32-bit lanes summed as doubles without carries (exact below 2^53), carried every 2^20 rows.
    const lanes = new Float64Array(8);
    const carry = () => {
      for (let i = 7; i > 0; i--) {
        const over = Math.floor(lanes[i]! / 0x100000000);
        lanes[i]! -= over * 0x100000000;
        lanes[i - 1]! += over;
      }
      lanes[0] = lanes[0]! % 0x100000000;
    };
    let rows = 0;
    const it = this.db.prepare('SELECT seq, mac FROM objects').raw().iterate() as IterableIterator<[number, unknown]>;
    for (const [seq, mac] of it) {
      const c = this.contribution(seq, mac);
      for (let i = 0; i < 8; i++) lanes[i]! += c.readUInt32BE(i * 4);
      if ((++rows & 0xfffff) === 0) carry();
    }
    carry();
    const digest = Buffer.alloc(32);
    for (let i = 0; i < 8; i++) digest.writeUInt32BE(lanes[i]!, i * 4);
    return { rows, digest };
  }

  /** Replaces the stored state (a new store; `keyhaven store accept-rollback`). Makes the store id if missing. */
  reset(state: DigestState): void {
    this.deferred.discard();
    if (!this.storeId()) {
      const id = randomBytes(16);
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('${STORE_ID_META_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(id);
      this.storeIdCache = id;
    }
    this.write(state);
  }

  private subkey(salt: Buffer): Buffer {
    return createHmac('sha256', this.sealKey).update(SUBKEY_LABEL).update(salt).digest();
  }

  private aad(): Buffer {
    const id = this.storeId();
    if (!id) throw new KeyhavenError(ErrorCodes.STORE_ROLLBACK, 'the store identifier is missing from the database: it was removed outside Keyhaven');
    return Buffer.concat([Buffer.from([FORMAT]), id]);
  }

  private write(s: DigestState): void {
    const plain = Buffer.alloc(PLAIN_BYTES);
    plain.writeBigUInt64BE(BigInt(s.generation), 0);
    plain.writeBigUInt64BE(BigInt(s.rows), 8);
    s.digest.copy(plain, 16);
    const fresh = publicRandomBytes(SALT_BYTES + NONCE_BYTES);
    const salt = fresh.subarray(0, SALT_BYTES);
    const nonce = fresh.subarray(SALT_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.subkey(salt), nonce);
    cipher.setAAD(this.aad());
    const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
    const blob = Buffer.concat([Buffer.from([FORMAT]), salt, nonce, cipher.getAuthTag(), ct]);
    this.writeStmt.run(blob);
    this.cache = { blob, state: copyState(s) };
  }

  private open(blob: Buffer): DigestState | undefined {
    if (blob.length !== BLOB_BYTES || blob[0] !== FORMAT) return undefined;
    let at = 1;
    const take = (n: number) => blob.subarray(at, (at += n));
    const salt = take(SALT_BYTES);
    const nonce = take(NONCE_BYTES);
    const tag = take(TAG_BYTES);
    const ct = take(PLAIN_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.subkey(salt), nonce);
      decipher.setAAD(this.aad());
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(ct), decipher.final()]);
      return { generation: Number(plain.readBigUInt64BE(0)), rows: Number(plain.readBigUInt64BE(8)), digest: Buffer.from(plain.subarray(16)) };
    } catch {
      return undefined;
    }
  }
}
