// Random bytes for values that are public once used (GCM nonces, salts), drawn from a pool filled
// 4 KiB at a time: each randomBytes call is a system call (about 10 µs here), several per write.
// Every byte is handed out once. Never for secrets: the pool sits in memory until it is used.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/** `n` (at most 4096) fresh random bytes, copied out of the pool. */
export function publicRandomBytes(n: number): Buffer {
  if (!Number.isInteger(n) || n < 1 || n > POOL_BYTES) throw new RangeError(`publicRandomBytes takes 1 to ${POOL_BYTES} bytes, not ${n}`);
  if (used + n > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + n));
  used += n;
  return out;
}
