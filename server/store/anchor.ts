// The rollback anchor: a small sealed record kept outside the database file, naming the newest state
// of the store Keyhaven knows to be on disk — the audit log's head (its sequence number and the MAC
// of that record) and the store generation (store-digest.ts). A copy of the database older than the
// anchor has a shorter (or different) audit log, or an older generation, so starting on it is
// refused (rollback-guard.ts). Everything inside the database can be rolled back with the file;
// the anchor lives elsewhere (store.anchorFile; on the appliance another directory).
//
// JSON, so an operator can read what it says; sealed with HMAC-SHA256 under a key derived from the
// master key, so it cannot be edited or made up without it. Replaced atomically: written to a
// temporary file, fsynced, renamed over the old one, and the directory fsynced (a crash leaves the
// old anchor or the new one, never a torn file).
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic, writeFileAtomicAsync } from '../../lib/atomic-file.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { sameKey } from './master-key.js';

export interface AnchorState {
  /** The store's identifier (hex; store-digest.ts). */
  storeId: string;
  auditSeq: number;
  /** MAC of audit record auditSeq (32 zero bytes for seq 0). */
  auditMac: Buffer;
  generation: number;
  /** When the anchor was written (ISO 8601 UTC). */
  time: string;
}

const FORMAT = 1;
/** Far larger than any anchor: a bigger file is not one. */
const MAX_BYTES = 4096;

export class AnchorFile {
  constructor(
    readonly path: string,
    private readonly key: Buffer,
  ) {}

  private seal(s: AnchorState): Buffer {
    const fields = [FORMAT, s.storeId, s.auditSeq, s.auditMac.toString('hex'), s.generation, s.time];
    return createHmac('sha256', this.key).update('keyhaven-anchor').update(JSON.stringify(fields)).digest();
  }

  private serialize(s: AnchorState): string {
    const doc = {
      format: FORMAT,
      store: s.storeId,
      auditSeq: s.auditSeq,
      auditMac: s.auditMac.toString('hex'),
      generation: s.generation,
      time: s.time,
      mac: this.seal(s).toString('hex'),
    };
    return `${JSON.stringify(doc, null, 2)}\n`;
  }

  /**
   * The anchor, or undefined when there is no file. An unreadable file is STORE_ANCHOR (fix the
   * file system); a file that is not an authentic anchor is STORE_ROLLBACK (someone edited it).
   */
  read(): AnchorState | undefined {
    let text: string;
    try {
      const buf = readFileSync(this.path);
      if (buf.length > MAX_BYTES) return this.invalid(`it holds ${buf.length} bytes`);
      text = buf.toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new KeyhavenError(ErrorCodes.STORE_ANCHOR, `cannot read the rollback anchor ${this.path}: ${(err as Error).message}`);
    }
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.invalid('it is not JSON');
    }
    const hex = (v: unknown, bytes: number) => typeof v === 'string' && v.length === bytes * 2 && /^[0-9a-f]*$/.test(v);
    const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (
      doc === null || typeof doc !== 'object' || doc.format !== FORMAT || !hex(doc.store, 16) || !count(doc.auditSeq) ||
      !hex(doc.auditMac, 32) || !count(doc.generation) || typeof doc.time !== 'string' || !hex(doc.mac, 32)
    ) {
      return this.invalid('its fields are not those of a format 1 anchor');
    }
    const state: AnchorState = {
      storeId: doc.store as string,
      auditSeq: doc.auditSeq as number,
      auditMac: Buffer.from(doc.auditMac as string, 'hex'),
      generation: doc.generation as number,
      time: doc.time as string,
    };
    if (!sameKey(Buffer.from(doc.mac as string, 'hex'), this.seal(state))) {
      return this.invalid('its seal does not verify (edited, or made with another master key)');
    }
    return state;
  }

  private invalid(why: string): never {
    throw new KeyhavenError(ErrorCodes.STORE_ROLLBACK, `the rollback anchor ${this.path} is not authentic: ${why}`);
  }

  /** Writes the anchor atomically, blocking (at start, at stop, from the command line). */
  writeSync(state: AnchorState): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      writeFileAtomic(this.path, this.serialize(state), 0o600);
    } catch (err) {
      throw this.writeError(err);
    }
  }

  /** The same on libuv's thread pool: the event loop never waits for the disk. */
  async write(state: AnchorState): Promise<void> {
    try {
      await writeFileAtomicAsync(this.path, this.serialize(state), 0o600);
    } catch (err) {
      throw this.writeError(err);
    }
  }

  private writeError(err: unknown): KeyhavenError {
    return new KeyhavenError(ErrorCodes.STORE_ANCHOR, `cannot write the rollback anchor ${this.path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The first 6 bytes of a MAC in hex: enough to tell heads apart in messages and for a SIEM. */
export const shortMac = (mac: Buffer): string => mac.subarray(0, 6).toString('hex');
