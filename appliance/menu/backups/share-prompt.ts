// Typing the custodians' shares: each hidden as it is typed (a share is a secret), checked against its
// own check value at once (a mistyped line is asked again, naming the problem), and as many asked as
// the first one says rebuild the key. The helper and the worker check them again.
import { parseShare } from '../../../server/index.js';
import type { Ui } from '../ui.js';

export async function askShares(ui: Ui, purpose: string): Promise<string[]> {
  ui.print(`\n${purpose} needs the backup key: each custodian types their share (KHS1-…). It is not shown as it is typed.`);
  const shares: string[] = [];
  const numbers = new Set<number>();
  let needed = 2;
  for (let i = 1; i <= needed && i <= 16; i++) {
    const line = await ui.password(`Share ${i} of ${i === 1 ? 'M' : needed}`, (v) => {
      try {
        const s = parseShare(v, 'this share');
        if (numbers.has(s.number)) return `share ${s.number} was typed already: the next custodian types theirs`;
        if (shares.length > 0) {
          const first = parseShare(shares[0]!, 'share 1');
          if (s.generation !== first.generation || s.threshold !== first.threshold || s.count !== first.count) {
            return `this share is of generation ${s.generation} (${s.threshold} of ${s.count}); the first was of generation ${first.generation} (${first.threshold} of ${first.count})`;
          }
        }
        return true;
      } catch (err) {
        return (err as Error).message;
      }
    });
    const s = parseShare(line, 'this share');
    numbers.add(s.number);
    needed = s.threshold;
    shares.push(line.trim());
  }
  return shares;
}
