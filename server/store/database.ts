// Opens the SQLite database (better-sqlite3) and brings its schema to the current version.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export type Db = Database.Database;
export type Statement = Database.Statement;

const SCHEMA_VERSION = 3;

/**
 * Locate's index: the encoded value of selected attributes, keyed by owner first so that one
 * identity's lookups never read (let alone decode) the rows of another (version 2; version 1 keyed
 * by name and value only, so a lookup walked every owner's matching rows).
 */
const ATTRIBUTE_INDEX_V2 = `
CREATE TABLE attribute_index (
  owner TEXT NOT NULL,
  name  TEXT NOT NULL,
  value BLOB NOT NULL,
  seq   INTEGER NOT NULL,
  PRIMARY KEY (owner, name, value, seq)
) WITHOUT ROWID;
CREATE INDEX attribute_index_by_seq ON attribute_index (seq);
`;

/** Version 1 → 2: the attribute index gains the owner of each row. */
const MIGRATE_V1_TO_V2 = `
ALTER TABLE attribute_index RENAME TO attribute_index_v1;
DROP INDEX attribute_index_by_seq;
${ATTRIBUTE_INDEX_V2}
INSERT INTO attribute_index (owner, name, value, seq)
  SELECT o.owner, a.name, a.value, a.seq FROM attribute_index_v1 a JOIN objects o ON o.seq = a.seq;
DROP TABLE attribute_index_v1;
`;

/**
 * Mirroring (version 3, server/mirror/): each object row carries its replica (what the merge rules
 * need: the stamps of its create, lifecycle and attribute slots, as JSON; NULL on a server that never
 * mirrored), the position of its latest version in this server's change log (change_seq: a peer is
 * sent every row above the position it has applied) and the peer that version came from (not sent
 * back to it). The other tables: the group's members, how far this server has applied each peer's
 * log, and the join tokens this server issued (only their SHA-256).
 */
const MIRROR_V3 = `
ALTER TABLE objects ADD COLUMN replica BLOB;
ALTER TABLE objects ADD COLUMN change_seq INTEGER;
ALTER TABLE objects ADD COLUMN from_peer TEXT;
CREATE INDEX objects_by_change ON objects (change_seq) WHERE change_seq IS NOT NULL;
CREATE TABLE mirror_members (
  node     TEXT PRIMARY KEY,
  address  TEXT NOT NULL,
  removed  INTEGER NOT NULL DEFAULT 0,
  stamp    TEXT NOT NULL
);
CREATE TABLE mirror_cursors (
  peer     TEXT PRIMARY KEY,
  log_id   TEXT NOT NULL,
  applied  INTEGER NOT NULL,
  updated  TEXT NOT NULL
);
CREATE TABLE mirror_tokens (
  hash     BLOB PRIMARY KEY,
  expires  INTEGER NOT NULL,
  used     INTEGER NOT NULL DEFAULT 0
);
`;

const SCHEMA = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
-- One row per managed object. attributes is the TTLV encoding of the object's attributes (no key
-- material); material is the key material wrapped under the master key (NULL once destroyed).
-- mac seals the row (see key-store.ts).
CREATE TABLE objects (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  uid         TEXT NOT NULL UNIQUE,
  object_type INTEGER NOT NULL,
  owner       TEXT NOT NULL,
  state       INTEGER NOT NULL,
  attributes  BLOB NOT NULL,
  material    BLOB,
  mac         BLOB NOT NULL
);
CREATE INDEX objects_by_owner ON objects (owner, seq);
${ATTRIBUTE_INDEX_V2}
-- The audit log: append-only, each record chained to the previous one by an HMAC.
CREATE TABLE audit (
  seq       INTEGER PRIMARY KEY,
  time      TEXT NOT NULL,
  identity  TEXT NOT NULL,
  address   TEXT NOT NULL,
  operation TEXT NOT NULL,
  object_id TEXT NOT NULL,
  result    TEXT NOT NULL,
  reason    TEXT NOT NULL,
  mac       BLOB NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END;
${MIRROR_V3}`;

/** A store that has never held an object (rows are never deleted, and AUTOINCREMENT remembers). */
export function neverHeldObjects(db: Db): boolean {
  const objects = db.prepare('SELECT 1 FROM objects LIMIT 1').get();
  const used = db.prepare("SELECT 1 FROM sqlite_sequence WHERE name = 'objects'").get();
  return !objects && !used;
}

export interface OpenedDb {
  db: Db;
  path: string;
  created: boolean;
}

/** Opens (creating if needed) the database in WAL mode. */
export function openDatabase(path: string, options: { create: boolean }): OpenedDb {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: !options.create });
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `cannot open the key store ${path}: ${(err as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    // Commits write the WAL without fsync; durability.ts fsyncs the WAL before any acknowledgement.
    db.pragma('synchronous = NORMAL');
    db.pragma('secure_delete = ON'); // freed pages (e.g. destroyed wrapped keys) are zeroed
    db.pragma('foreign_keys = ON');
    // 64 MiB of page cache (SQLite's default is 2 MiB). A mirrored object's row (its replica included)
    // nearly fills a 4 KiB page, so 2 MiB holds about 500 objects and every other read goes to the
    // OS. The appliance has 2 GiB. (Measured: no change in Get throughput over 1,000 keys.)
    db.pragma('cache_size = -65536');
    const integrity = db.pragma('quick_check', { simple: true });
    if (integrity !== 'ok') throw new Error(`integrity check failed: ${String(integrity)}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    let created = false;
    if (version === 0) {
      db.exec('BEGIN IMMEDIATE');
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
      created = true;
    } else if (version === 1 || version === 2) {
      db.exec('BEGIN IMMEDIATE');
      if (version === 1) db.exec(MIGRATE_V1_TO_V2);
      db.exec(MIRROR_V3);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
    } else if (version !== SCHEMA_VERSION) {
      throw new Error(`schema version ${version} is not supported by this Keyhaven (expects ${SCHEMA_VERSION})`);
    }
    // The wrapped keys and the audit log are nobody else's business, whatever the umask.
    for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    return { db, path, created };
  } catch (err) {
    db.close();
    if (err instanceof KeyhavenError) throw err;
    throw new KeyhavenError(ErrorCodes.STORE_CORRUPT, `the key store ${path} is unusable: ${(err as Error).message}`);
  }
}
