// Property and random tests run on fast-check: a failure reports the seed and path to replay it and
// the input shrunk to a small one. KH_SEED (and KH_PATH) replay a reported failure; without them each
// run draws a new seed, printed with the test's diagnostics, so that CI explores new inputs.
import type { TestContext } from 'node:test';
import fc from 'fast-check';

/** Run parameters: `numRuns`, and the seed and path from KH_SEED / KH_PATH when set. */
export function runParameters<T>(t: TestContext | undefined, numRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const seed = process.env['KH_SEED'] !== undefined ? Number(process.env['KH_SEED']) : (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const path = process.env['KH_PATH'];
  t?.diagnostic(`fast-check seed ${seed} (replay: KH_SEED=${seed}${path ? ` KH_PATH=${path}` : ''})`);
  return { numRuns, seed, ...(path ? { path } : {}), ...extra };
}

/**
 * The draws of a hand-written generator, made by fast-check: values drawn through it replay from the
 * seed and shrink (towards 0, false, the first element, fewer and smaller bytes). For generators whose
 * shape is easier to say as code than as arbitraries (fast-check's `gen`; replay with the seed and the
 * path up to its first ":").
 */
export interface Draw {
  /** Integer in [0, n). */
  int(n: number): number;
  /** Number in [0, 1), in steps of 2^-32. */
  float(): number;
  /** true with probability p. */
  bool(p?: number): boolean;
  pick<T>(xs: readonly T[]): T;
  bytes(n: number): Buffer;
  /** Unsigned 32-bit integer. */
  u32(): number;
}

// Uniform, without fast-check's bias towards small and extreme values: the generators weigh their
// choices themselves (a bias would pick the first of a weighted list far more often than its weight).
const uniformInt = (max: number) => fc.noBias(fc.integer({ min: 0, max }));
const uniformBytes = (length: number) => fc.noBias(fc.uint8Array({ minLength: length, maxLength: length }));

export function drawFrom(g: fc.GeneratorValue): Draw {
  const int = (n: number) => (n <= 1 ? 0 : g(uniformInt, n - 1));
  const float = () => g(uniformInt, 0xffffffff) / 0x100000000;
  return {
    int,
    float,
    bool: (p = 0.5) => float() < p,
    pick: <T>(xs: readonly T[]) => xs[int(xs.length)] as T,
    bytes: (n: number) => Buffer.from(g(uniformBytes, n)),
    u32: () => g(uniformInt, 0xffffffff),
  };
}
