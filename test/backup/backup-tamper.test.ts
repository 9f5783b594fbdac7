// Tampering with a real backup file (made by createBackup from a serving store): every byte of it
// flipped in turn is refused by the decryption before any plaintext of the damaged part is used; a
// random sample (seed printed) of flips, truncations and insertions goes through the whole verify
// path (openBackup) and each is refused with KH_BACKUP_FILE_INVALID.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createBackup } from '../../server/backup/backup-create.js';
import { initBackupKey, loadBackupKey } from '../../server/backup/backup-key.js';
import { openBackup } from '../../server/backup/backup-open.js';
import { OpenStream } from '../../server/backup/sealed-stream.js';
import { parseConfig } from '../../server/config.js';
import { KeyhavenError } from '../../server/errors.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createAes } from '../support/requests.js';
import { send, uidOf } from '../store/helpers.js';

const seed = Number(process.env['KH_SEED'] ?? (Date.now() % 2147483647));
let rng = seed || 1;
const random = () => ((rng = (rng * 48271) % 2147483647) / 2147483647);

let ts: TestServer;
let file: string;
let bytes: Buffer;
let key: Buffer;
const work = mkdtempSync(join(tmpdir(), 'keyhaven-tamper-'));

before(async () => {
  ts = await startTestServer();
  const c = await ts.client();
  for (let i = 0; i < 20; i++) uidOf(await send(c, [createAes()]));
  c.close();
  await initBackupKey({ dataDir: ts.dir, masterKeyFile: join(ts.dir, 'master.key'), count: 3, threshold: 2, rekey: false });
  file = join(work, 'small.khbak');
  await createBackup({ config: parseConfig({ dataDir: ts.dir }, 'test'), out: file });
  bytes = readFileSync(file);
  key = loadBackupKey(ts.dir, join(ts.dir, 'master.key')).key;
});

after(async () => {
  await ts?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Decrypts `buf` to its end; resolves with the error, or undefined when it all authenticated. */
function decrypt(buf: Buffer): Promise<unknown> {
  return new Promise((resolve) => {
    const s = new OpenStream(() => key);
    s.on('data', () => {});
    s.on('end', () => resolve(undefined));
    s.on('error', resolve);
    Readable.from([buf]).pipe(s);
  });
}

test('every byte of a backup flipped in turn: refused', { timeout: 600_000 }, async (t) => {
  assert.equal(await decrypt(bytes), undefined, 'the intact file decrypts');
  const bad = Buffer.from(bytes);
  const t0 = Date.now();
  let refused = 0;
  for (let p = 0; p < bad.length; p++) {
    const bit = 1 << (p % 8);
    bad[p]! ^= bit;
    const err = await decrypt(bad);
    bad[p]! ^= bit;
    assert.ok(err instanceof KeyhavenError && err.code === 'KH_BACKUP_FILE_INVALID', `flipping bit ${p % 8} of byte ${p} was not refused: ${String(err)}`);
    refused++;
  }
  t.diagnostic(`${refused} of ${bytes.length} single-bit flips refused (one per byte), ${Date.now() - t0} ms`);
});

test('a random sample of damage through the whole verify path: refused, each as an invalid file', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${seed} (replay: KH_SEED=${seed})`);
  const kinds = { flip: 0, truncate: 0, insert: 0, swap: 0 };
  for (let i = 0; i < 60; i++) {
    const at = Math.floor(random() * bytes.length);
    let bad: Buffer;
    const kind = (['flip', 'truncate', 'insert', 'swap'] as const)[i % 4]!;
    if (kind === 'flip') {
      bad = Buffer.from(bytes);
      bad[at]! ^= 1 << Math.floor(random() * 8);
    } else if (kind === 'truncate') {
      bad = bytes.subarray(0, at);
    } else if (kind === 'insert') {
      bad = Buffer.concat([bytes.subarray(0, at), Buffer.of(Math.floor(random() * 256)), bytes.subarray(at)]);
    } else {
      // Two 64 KiB chunks exchanged (or, in a smaller file, its halves).
      const half = Math.floor(bytes.length / 2);
      bad = Buffer.concat([bytes.subarray(half), bytes.subarray(0, half)]);
    }
    kinds[kind]++;
    const f = join(work, `bad-${i}.khbak`);
    writeFileSync(f, bad);
    const staging = mkdtempSync(join(work, 'staging-'));
    await assert.rejects(openBackup(f, key, staging), (err: unknown) => err instanceof KeyhavenError && err.code === 'KH_BACKUP_FILE_INVALID', `${kind} at ${at}`);
    rmSync(staging, { recursive: true, force: true });
    rmSync(f);
  }
  // The intact file still opens, so the refusals were the damage's.
  const staging = mkdtempSync(join(work, 'staging-'));
  assert.equal((await openBackup(file, key, staging)).contents.objects, 20);
  t.diagnostic(`refused through openBackup: ${JSON.stringify(kinds)}`);
});
