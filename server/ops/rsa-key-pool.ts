// RSA key generation takes hundreds of milliseconds to seconds, and operations run on the event
// loop. Create Key Pair therefore draws RSA keys from a small pool that is refilled in the
// background on libuv's thread pool; only when the pool is empty does a request generate its own.
import { generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';

const POOL_SIZE = 1;
const pools = new Map<number, KeyObject[]>();
const filling = new Set<number>();

function refill(bits: number): void {
  if (filling.has(bits) || (pools.get(bits)?.length ?? 0) >= POOL_SIZE) return;
  filling.add(bits);
  generateKeyPair('rsa', { modulusLength: bits }, (err, _publicKey, privateKey) => {
    filling.delete(bits);
    if (err) return;
    const pool = pools.get(bits) ?? [];
    pool.push(privateKey);
    pools.set(bits, pool);
  });
}

/** An RSA private key of `bits`, pooled when one is ready; the pool is topped up afterwards. */
export function takeRsaKey(bits: number): KeyObject {
  const key = pools.get(bits)?.shift() ?? generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
  refill(bits);
  return key;
}

/** Starts filling the pool for the common sizes (called once at server start). */
export function warmRsaPool(sizes: readonly number[]): void {
  for (const bits of sizes) refill(bits);
}
