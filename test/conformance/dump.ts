// Writes every response of a conformance run as text, one item per line, so that two runs (before
// and after a refactoring) can be compared with diff. Generated identifiers (UUIDs) are numbered in
// order of appearance per case and Date-Times near the case's start are written relative to it;
// everything else (byte strings included) is written as received.
import { relative } from 'node:path';
import type { Item } from '../../server/kmip/item.js';
import { TAG_NAMES } from '../../server/kmip/tables.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** Date-Times within this distance of the case's start are the server's clock, not recorded dates. */
const NEAR = 10 * 365 * 86400;

export class ResponseDump {
  private readonly lines: string[] = [];
  private file = '';
  private uids = new Map<string, string>();

  constructor(private readonly base: string) {}

  response(file: string, exchange: number, start: number, item: Item): void {
    if (file !== this.file) {
      this.file = file;
      this.uids = new Map();
      this.lines.push(`# ${relative(this.base, file)}`);
    }
    this.lines.push(`> exchange ${exchange}`);
    this.item(item, start, 1);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }

  private item(it: Item, start: number, depth: number): void {
    const name = TAG_NAMES.get(it.tag) ?? `0x${it.tag.toString(16)}`;
    const pad = '  '.repeat(depth);
    if (it.type === 0x01) {
      this.lines.push(`${pad}${name}`);
      for (const c of it.value) this.item(c, start, depth + 1);
      return;
    }
    this.lines.push(`${pad}${name} ${it.type}: ${this.value(it, start)}`);
  }

  private value(it: Item, start: number): string {
    switch (it.type) {
      case 0x07:
        return JSON.stringify(it.value.replace(UUID, (u) => this.uid(u)));
      case 0x08:
        return it.value.toString('hex');
      case 0x09: {
        const d = it.value - start;
        return Math.abs(d) < NEAR ? `start${d >= 0 ? '+' : ''}${d}` : String(it.value);
      }
      case 0x03:
      case 0x04:
        return it.value.toString();
      default:
        return String(it.value);
    }
  }

  private uid(u: string): string {
    let n = this.uids.get(u);
    if (!n) this.uids.set(u, (n = `$UID_${this.uids.size}`));
    return n;
  }
}
