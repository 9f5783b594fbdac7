// The RSA key pool without a network, with a stand-in generator whose calls the test completes: one
// generation at a time, pooled keys first, and at most MAX_RSA_GENERATIONS_PER_REQUEST generated for
// one request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KmipError } from '../../server/errors.js';
import { Enum } from '../../server/kmip/tables.js';
import { KeyGenerationNeeded, MAX_RSA_GENERATIONS_PER_REQUEST, RequestRsaKeys, RsaKeyPool, type RsaGenerator } from '../../server/ops/material/rsa-key-pool.js';

// One small real key, handed out as every "generated" key (the pool never looks inside).
const KEY: KeyObject = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;

/** A generator the test finishes by hand, recording how many generations run at once. */
function manualGenerator() {
  const running: ((err: Error | null, key?: KeyObject) => void)[] = [];
  let most = 0;
  const generate: RsaGenerator = (_bits, done) => {
    running.push(done);
    most = Math.max(most, running.length);
  };
  return {
    generate,
    get running() {
      return running.length;
    },
    get most() {
      return most;
    },
    finish(err: Error | null = null) {
      const done = running.shift();
      assert.ok(done, 'a generation is running');
      done(err, err ? undefined : KEY);
    },
  };
}
const settle = () => new Promise<void>((r) => setImmediate(r));

test('generations run one at a time, in the order asked for', async () => {
  const g = manualGenerator();
  const pool = new RsaKeyPool(0, g.generate);
  const order: number[] = [];
  const asked = [2048, 3072, 4096].map((bits) => pool.generate(bits).then(() => order.push(bits)));
  assert.equal(g.running, 1, 'only the first started');
  for (let i = 0; i < 3; i++) {
    g.finish();
    await settle();
  }
  await Promise.all(asked);
  assert.deepEqual(order, [2048, 3072, 4096]);
  assert.equal(g.most, 1);
});

test('a request takes a pooled key, else asks for one; a key generated for it is reserved for its next run', async () => {
  const g = manualGenerator();
  const pool = new RsaKeyPool(1, g.generate);
  pool.warm([2048]);
  g.finish();
  await settle();
  const keys = new RequestRsaKeys(pool);
  assert.equal(keys.take(2048), KEY, 'the pooled key');
  // The pool refills in the background (one generation running); the next take finds none.
  assert.throws(() => keys.take(2048), (e: unknown) => e instanceof KeyGenerationNeeded && e.bits === 2048);
  keys.rewind(); // the run that took the pooled key was rolled back: that key serves the next run
  assert.equal(keys.take(2048), KEY);
  keys.reserve(3072, KEY);
  assert.equal(keys.take(3072), KEY, 'a reserved key');
});

test(`at most ${MAX_RSA_GENERATIONS_PER_REQUEST} keys are generated for one request; then Illegal Operation`, () => {
  const pool = new RsaKeyPool(0, () => {}); // nothing is ever ready
  const keys = new RequestRsaKeys(pool);
  for (let i = 0; i < MAX_RSA_GENERATIONS_PER_REQUEST; i++) {
    assert.throws(() => keys.take(4096), KeyGenerationNeeded, `generation ${i + 1} is still allowed`);
    keys.reserve(4096, KEY);
    assert.equal(keys.take(4096), KEY);
  }
  assert.throws(
    () => keys.take(4096),
    (e: unknown) => e instanceof KmipError && e.reason === Enum.ResultReason.IllegalOperation && /at most 4 RSA key pairs generated for it/.test(e.message),
  );
});

test('a failed generation fails the operation that needed the key (General Failure), not the connection', () => {
  const keys = new RequestRsaKeys(new RsaKeyPool(0, () => {}));
  keys.fail(new Error('out of entropy'));
  assert.throws(() => keys.take(2048), (e: unknown) => e instanceof KmipError && e.reason === Enum.ResultReason.GeneralFailure && /out of entropy/.test(e.message));
});
