import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publicRandomBytes } from '../../server/store/public-random.js';

test('public random bytes: each byte is handed out once, across refills of the pool', () => {
  // 12-byte nonces over several pools: any reuse of pool bytes would repeat a nonce.
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const n = publicRandomBytes(12);
    assert.equal(n.length, 12);
    const hex = n.toString('hex');
    assert.ok(!seen.has(hex), `nonce ${hex} repeated after ${i} draws`);
    seen.add(hex);
  }
  // Copies, not views: changing one leaves the next draws alone.
  const a = publicRandomBytes(16);
  a.fill(0);
  assert.notDeepEqual(publicRandomBytes(16), Buffer.alloc(16));
});

test('public random bytes refuses sizes outside 1 to 4096', () => {
  for (const n of [0, -1, 4097, 1.5]) assert.throws(() => publicRandomBytes(n), RangeError);
});
