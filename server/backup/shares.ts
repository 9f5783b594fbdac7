// The backup key split into M-of-N custodian shares (Shamir's secret sharing over GF(2^8), from the
// audited shamir-secret-sharing package) and the text form a custodian writes down and types back.
//
// A share line: KHS1-<generation>-<threshold>of<count>-<number>-<share hex>-<check>
//   number  which of the count it is (for people: "share 2 of 3"; the x coordinate is in the bytes)
//   check   the first 4 bytes of SHA-256 over everything before it, hex: a mistyped line is refused
//           as that line, before any share is combined (Shamir itself would rebuild a wrong key).
// Whitespace and case are ignored when reading, so a line may be typed in groups.
import { createHash } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { ErrorCodes, KeyhavenError } from '../errors.js';

const PREFIX = 'KHS1';
export const MAX_SHARES = 16;

export interface ShareSet {
  generation: number;
  threshold: number;
  count: number;
}

export interface ParsedShare extends ShareSet {
  number: number;
  bytes: Buffer;
}

function badShares(message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.BACKUP_BAD_SHARES, message);
}

/** Refuses a split no custodian scheme should use: at least 2 of 2, at most MAX_SHARES shares. */
export function checkSplit(count: number, threshold: number): void {
  if (!Number.isInteger(count) || count < 2 || count > MAX_SHARES) {
    throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `--shares ${count}: give a whole number from 2 to ${MAX_SHARES}`);
  }
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > count) {
    throw new KeyhavenError(ErrorCodes.BACKUP_BAD_INPUT, `--threshold ${threshold}: give a whole number from 2 to the number of shares (${count}); one share alone must never reveal the key`);
  }
}

const checkOf = (body: string) => createHash('sha256').update(body).digest().subarray(0, 4).toString('hex');

export function formatShare(s: ParsedShare): string {
  const body = `${PREFIX}-${s.generation}-${s.threshold}of${s.count}-${s.number}-${s.bytes.toString('hex')}`;
  return `${body}-${checkOf(body)}`;
}

/** Splits `secret` into `count` share lines, any `threshold` of which rebuild it. */
export async function splitSecret(secret: Buffer, set: ShareSet): Promise<string[]> {
  checkSplit(set.count, set.threshold);
  const parts = await split(new Uint8Array(secret), set.count, set.threshold);
  return parts.map((p, i) => formatShare({ ...set, number: i + 1, bytes: Buffer.from(p) }));
}

/** One typed line; `label` names it in errors ("share 2", "line 3"). */
export function parseShare(line: string, label: string): ParsedShare {
  const text = line.replace(/\s+/g, '').toLowerCase();
  const m = /^khs1-(\d{1,6})-(\d{1,2})of(\d{1,2})-(\d{1,2})-([0-9a-f]+)-([0-9a-f]{8})$/.exec(text);
  if (!m) throw badShares(`${label} is not a backup-key share (expected KHS1-<generation>-<M>of<N>-<number>-<hex>-<check>, as it was printed)`);
  const body = `${PREFIX}-${m[1]}-${m[2]}of${m[3]}-${m[4]}-${m[5]}`;
  if (checkOf(body) !== m[6]) throw badShares(`${label} does not match its check value ${m[6]}: it was mistyped; compare it with the printed share`);
  const [generation, threshold, count, number] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (m[5]!.length % 2 !== 0 || m[5]!.length < 4) throw badShares(`${label} has a share of odd or too short length`);
  if (threshold < 2 || threshold > count || count > MAX_SHARES || number < 1 || number > count) throw badShares(`${label} names an impossible split (${threshold} of ${count}, share ${number})`);
  return { generation, threshold, count, number, bytes: Buffer.from(m[5]!, 'hex') };
}

/**
 * Rebuilds a secret from typed lines (blank lines ignored). Refuses, naming the line: a malformed or
 * mistyped share, shares of different generations or splits, the same share twice, too few.
 */
export async function combineShares(lines: string[]): Promise<{ secret: Buffer; set: ShareSet; used: number }> {
  const shares: ParsedShare[] = [];
  lines.forEach((line, i) => {
    if (line.trim() !== '') shares.push(parseShare(line, `share line ${i + 1}`));
  });
  if (shares.length === 0) throw badShares('no shares were given: type (or pipe) the custodians\' shares, one per line');
  const first = shares[0]!;
  for (const s of shares) {
    if (s.generation !== first.generation) throw badShares(`the shares are of different backup-key generations (${first.generation} and ${s.generation}): give shares of one generation`);
    if (s.threshold !== first.threshold || s.count !== first.count) throw badShares(`the shares come from different splits (${first.threshold} of ${first.count} and ${s.threshold} of ${s.count})`);
    if (s.bytes.length !== first.bytes.length) throw badShares(`share ${s.number} is of another length than share ${first.number}`);
  }
  const numbers = new Set<number>();
  const xs = new Set<number>();
  for (const s of shares) {
    if (numbers.has(s.number)) throw badShares(`share ${s.number} was given twice: each custodian's share counts once`);
    numbers.add(s.number);
    xs.add(s.bytes[s.bytes.length - 1]!);
  }
  if (xs.size !== shares.length) throw badShares('two shares carry the same coordinate: they are not of one split');
  if (shares.length < first.threshold) {
    throw badShares(`${shares.length} share${shares.length === 1 ? '' : 's'} given, ${first.threshold} of ${first.count} needed (generation ${first.generation})`);
  }
  // Exactly the threshold: more add nothing, and a wrong extra one would only spoil the result.
  const used = shares.slice(0, first.threshold);
  const secret = Buffer.from(await combine(used.map((s) => new Uint8Array(s.bytes))));
  return { secret, set: { generation: first.generation, threshold: first.threshold, count: first.count }, used: used.length };
}
