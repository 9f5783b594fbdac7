// Byte comparisons of TTLV for tests: on a difference the failure shows both sides item by item
// (server/kmip/ttlv-print.ts) and where the bytes part, not two long hex strings.
import assert from 'node:assert/strict';
import { printTtlv } from '../../server/kmip/ttlv-print.js';

/** The bytes printed as TTLV, or (when they are not valid TTLV) why not and their hex. */
export function showTtlv(buf: Buffer): string {
  try {
    return printTtlv(buf);
  } catch (e) {
    return `(not valid TTLV: ${(e as Error).message})\n${buf.toString('hex')}`;
  }
}

/** Fails unless `actual` and `expected` are the same bytes, printing both as TTLV. */
export function assertSameTtlv(actual: Buffer, expected: Buffer, message = 'TTLV bytes differ'): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  assert.fail(`${message}: first difference at byte ${at} (lengths ${actual.length} and ${expected.length})\nactual:\n${showTtlv(actual)}\nexpected:\n${showTtlv(expected)}`);
}
