// The wire form of the versions a server sends, shared by its links. Every peer is sent the same
// version of a row; reading it (its seal and replica checked, its material unwrapped) and writing it
// as JSON once per link was a third of a sending server's mirroring work, so the first link to send
// a version keeps its JSON for the others.
//
// A position names one version for good: a row written again gets a new position, and positions are
// read only once committed (peer-link.ts). The JSON holds the plaintext material (base64), so it is
// kept briefly: the links of a group send a commit's versions within milliseconds of each other, and
// the owner clears the cache every second; at most MAX_ITEMS are held meanwhile.
import type { KeyStore } from '../store/key-store.js';
import type { WireItem } from './protocol.js';

const MAX_ITEMS = 2048;

export class SentItems {
  private readonly items = new Map<number, string>();
  hits = 0;

  constructor(private readonly store: KeyStore) {}

  /** The JSON of the wire item for the version at `changeSeq` (undefined: no row is there any more). */
  json(changeSeq: number): string | undefined {
    const kept = this.items.get(changeSeq);
    if (kept !== undefined) {
      this.hits++;
      return kept;
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
    if (this.items.size >= MAX_ITEMS) this.items.delete(this.items.keys().next().value!);
    this.items.set(changeSeq, json);
    return json;
  }

  clear(): void {
    this.items.clear();
  }
}
