// The wire form of the versions a server sends, shared by its links. Every peer is sent the same
// version of a row; reading it (its seal and replica checked, its material unwrapped) and writing it
// as JSON once per link was a third of a sending server's mirroring work, so the first link to send
// a version keeps its JSON for the others.
//
// A position names one version for good: a row written again gets a new position, and positions are
// read only once committed (peer-link.ts). The JSON holds the plaintext material (base64), so it is
// kept briefly: the links of a group send a commit's versions within milliseconds of each other, and
// the owner clears the cache every second; at most MAX_ITEMS are held meanwhile.
//
// A version this server creates is remembered as it is written (remember): the links then need not
// read back, check and unwrap the row just written, which was a quarter of a mirrored Create's cost
// here. A position names one version for good in a process (the log never reuses a position, not
// even a rolled-back write's), and links read only committed positions, so what is remembered for a
// position is that position's row, or is never asked for (its write was rolled back).
import type { KeyStore } from '../store/key-store.js';
import type { WireItem } from './protocol.js';

const MAX_ITEMS = 2048;

export class SentItems {
  private readonly items = new Map<number, string | WireItem>();
  hits = 0;

  constructor(private readonly store: KeyStore) {}

  /** The version at `changeSeq`, as just written here: `material` is the plaintext (copied, as base64). */
  remember(changeSeq: number, uid: string, replica: Buffer, material: Buffer | undefined): void {
    const item: WireItem = { seq: changeSeq, u: uid, r: replica.toString('utf8') };
    if (material) item.m = material.toString('base64');
    this.keep(changeSeq, item);
  }

  /** The JSON of the wire item for the version at `changeSeq` (undefined: no row is there any more). */
  json(changeSeq: number): string | undefined {
    const kept = this.items.get(changeSeq);
    if (typeof kept === 'string') {
      this.hits++;
      return kept;
    }
    if (kept) {
      const json = JSON.stringify(kept);
      this.items.set(changeSeq, json);
      return json;
    }
    const row = this.store.loadChanged(changeSeq);
    if (!row) return undefined;
    const item: WireItem = { seq: changeSeq, u: row.uid, r: row.replica!.toString('utf8') };
    const material = row.material();
    if (material) {
      item.m = material.toString('base64');
      material.fill(0);
    }
    const json = JSON.stringify(item);
    this.keep(changeSeq, json);
    return json;
  }

  private keep(changeSeq: number, item: string | WireItem): void {
    if (this.items.size >= MAX_ITEMS) this.items.delete(this.items.keys().next().value!);
    this.items.set(changeSeq, item);
  }

  clear(): void {
    this.items.clear();
  }
}
