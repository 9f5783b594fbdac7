// Custodians typing their shares (the menu's verify and restore, the first-boot wizard's restore):
// each line checked as typed against its check value, a share typed twice or of another split
// refused, and as many asked as the first one says rebuild the key. The helper and the worker check
// the shares again; a share is never shown.
import { parseShare } from '../../server/index.js';

export class ShareEntry {
  private readonly typed: ReturnType<typeof parseShare>[] = [];
  readonly lines: string[] = [];

  /** How many shares are needed: 2 until the first is typed, then its threshold. */
  get needed(): number {
    return this.typed[0]?.threshold ?? 2;
  }

  get complete(): boolean {
    return this.typed.length >= this.needed || this.typed.length >= 16;
  }

  /** The prompt of the next share: "Share 1 of M", "Share 2 of 2". */
  get prompt(): string {
    return `Share ${this.typed.length + 1} of ${this.typed.length === 0 ? 'M' : this.needed}`;
  }

  /** What is wrong with `line` as the next share, or true. */
  readonly check = (line: string): string | true => {
    let s;
    try {
      s = parseShare(line, 'this share');
    } catch (err) {
      return (err as Error).message;
    }
    if (this.typed.some((t) => t.number === s.number)) return `share ${s.number} was typed already: the next custodian types theirs`;
    const first = this.typed[0];
    if (first && (s.generation !== first.generation || s.threshold !== first.threshold || s.count !== first.count)) {
      return `this share is of generation ${s.generation} (${s.threshold} of ${s.count}); the first was of generation ${first.generation} (${first.threshold} of ${first.count})`;
    }
    return true;
  };

  /** Takes a line `check` accepted. */
  add(line: string): void {
    this.typed.push(parseShare(line, 'this share'));
    this.lines.push(line.trim());
  }
}
