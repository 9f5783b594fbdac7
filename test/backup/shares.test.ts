// Custodian shares of the backup key (shares.ts): any M of N rebuild it, fewer do not; a share line
// written years ago still combines (known-answer shares, committed below: a change of the library's
// encoding would strand every custodian's paper); and what people get wrong — a typo, a share
// twice, shares of two generations or splits, too few — is refused, naming the line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { KeyhavenError } from '../../server/errors.js';
import { checkSplit, combineShares, formatShare, parseShare, splitSecret } from '../../server/backup/shares.js';
import { runParameters } from '../support/property.js';

// Made once by splitSecret (3 of 5, generation 7) from the secret 00 01 02 … 1f.
const KNOWN_SECRET = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const KNOWN = [
  'KHS1-7-3of5-1-c1f5f1ef6d22df8e62838138065470e5da29701e4dce6f4161def4bc384787e83c-79e0cc29',
  'KHS1-7-3of5-2-0fefb1e85519e162543dcb7675b38b81d574c653651c722dfc95c8b1011a04c91f-e615f3eb',
  'KHS1-7-3of5-3-c4724ac33583006f0a576fbfc1403465abcaababefdf25996a6430bbe121b55264-314c8732',
  'KHS1-7-3of5-4-9c3ceec2e1bc48d6e289cbf9e14a13d792819767872cdcc67823c9d87f3c874ddb-59267ca2',
  'KHS1-7-3of5-5-422bb33858d533607b6b8cf363df0128099cdd8d1abeb3b5a98626f54c1bff2749-451212c8',
];

function subsets<T>(xs: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (xs.length < k) return [];
  const [first, ...rest] = xs;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

async function refusedShares(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof KeyhavenError && err.code === 'KH_BACKUP_BAD_SHARES' && pattern.test(err.message));
}

test('known-answer shares: every 3 of the 5 committed lines rebuild the committed secret', async () => {
  for (const s of subsets(KNOWN, 3)) {
    const { secret, set } = await combineShares(s);
    assert.deepEqual(secret, KNOWN_SECRET);
    assert.deepEqual(set, { generation: 7, threshold: 3, count: 5 });
  }
});

test('any M of N rebuild the secret; the lines parse back to what was printed', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 99 }), async (count, extra, generation) => {
      const threshold = Math.max(2, count - extra);
      const secret = randomBytes(32);
      const lines = await splitSecret(secret, { generation, threshold, count });
      assert.equal(lines.length, count);
      for (const [i, l] of lines.entries()) {
        const p = parseShare(l, 'x');
        assert.deepEqual([p.generation, p.threshold, p.count, p.number], [generation, threshold, count, i + 1]);
        assert.equal(formatShare(p), l);
      }
      for (const s of subsets(lines, threshold)) assert.deepEqual((await combineShares(s)).secret, secret);
      // Typed in groups, in another case, with blank lines: the same.
      const typed = ['', lines[1]!.toLowerCase().replace(/(.{5})/g, '$1 '), '  ', lines[0]!];
      if (threshold === 2) assert.deepEqual((await combineShares(typed)).secret, secret);
    }),
    runParameters(t, 25),
  );
});

test('fewer than M shares are refused, saying how many are needed', async () => {
  await refusedShares(combineShares(KNOWN.slice(0, 2)), /2 shares given, 3 of 5 needed \(generation 7\)/);
  await refusedShares(combineShares([]), /no shares were given/);
  await refusedShares(combineShares(['', ' ']), /no shares were given/);
});

test('a mistyped line is refused by its check value, naming the line', async () => {
  const line = KNOWN[1]!;
  // One hex digit of the share changed: still well-formed, but not what was printed.
  const pos = line.indexOf('-', 15) + 5;
  const typo = line.slice(0, pos) + (line[pos] === 'a' ? 'b' : 'a') + line.slice(pos + 1);
  await refusedShares(combineShares([KNOWN[0]!, typo, KNOWN[2]!]), /share line 2 does not match its check value .* mistyped/);
  await refusedShares(combineShares([KNOWN[0]!, 'hello', KNOWN[2]!]), /share line 2 is not a backup-key share/);
  await refusedShares(combineShares([KNOWN[0]!, line.slice(0, -1), KNOWN[2]!]), /share line 2 is not a backup-key share/);
});

test('the same share twice, shares of two generations or two splits: refused', async () => {
  await refusedShares(combineShares([KNOWN[0]!, KNOWN[1]!, KNOWN[0]!]), /share 1 was given twice/);
  const other = await splitSecret(randomBytes(32), { generation: 8, threshold: 3, count: 5 });
  await refusedShares(combineShares([KNOWN[0]!, KNOWN[1]!, other[2]!]), /different backup-key generations \(7 and 8\)/);
  const otherSplit = await splitSecret(randomBytes(32), { generation: 7, threshold: 2, count: 3 });
  await refusedShares(combineShares([KNOWN[0]!, otherSplit[1]!]), /different splits \(3 of 5 and 2 of 3\)/);
});

test('a split that would let one share reveal the key, or absurd counts, is refused', () => {
  for (const [count, threshold] of [[3, 1], [1, 1], [2, 3], [17, 2], [3, 2.5]] as const) {
    assert.throws(() => checkSplit(count, threshold), (err: KeyhavenError) => err.code === 'KH_BACKUP_BAD_INPUT');
  }
  checkSplit(2, 2);
  checkSplit(16, 16);
});
