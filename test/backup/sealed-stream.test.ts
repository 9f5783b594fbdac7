// The backup file's streamed AES-256-GCM (sealed-stream.ts): round trips of any length, fed in any
// split; and every damage a file can suffer refused — a flipped byte anywhere, a cut at any chunk
// boundary or inside a chunk, bytes appended, an edited header, the wrong key, a newer format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { KeyhavenError } from '../../server/errors.js';
import { encodeHeader, newHeader, OpenStream, SealStream, FORMAT, MAGIC, type BackupHeader } from '../../server/backup/sealed-stream.js';
import { runParameters } from '../support/property.js';

const CHUNK = 1024; // the smallest a header may name: many chunks from little data

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** Feeds `parts` one by one (the split a reader sees) through `t`. */
function through(parts: Buffer[], t: NodeJS.ReadWriteStream): Promise<Buffer> {
  Readable.from(parts).pipe(t as unknown as NodeJS.WritableStream);
  return collect(t);
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(buf.subarray(from, p));
    from = p;
  }
  parts.push(buf.subarray(from));
  return parts.filter((p) => p.length > 0);
}

const seal = (key: Buffer, plain: Buffer, header: BackupHeader = newHeader({ generation: 1, keyCheck: '0'.repeat(16), chunkBytes: CHUNK })) =>
  through([plain], new SealStream(key, header));
const open = (key: Buffer, file: Buffer, parts?: Buffer[]) => through(parts ?? [file], new OpenStream(() => key));

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KeyhavenError, `not a KeyhavenError: ${String(err)}`);
    assert.equal(err.code, 'KH_BACKUP_FILE_INVALID');
    assert.match(err.message, pattern);
    return true;
  });
}

test('round trip: any length (0, chunk multiples, in between), the file fed in any split', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.integer({ min: 0, max: 5 * CHUNK + 3 }), fc.constantFrom(0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK)),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (length, writeCuts, readCuts) => {
        const key = randomBytes(32);
        const plain = randomBytes(length);
        const file = await through(splitAt(plain, writeCuts), new SealStream(key, newHeader({ generation: 3, keyCheck: 'a'.repeat(16), chunkBytes: CHUNK })));
        // Ciphertext is the plaintext plus one tag per chunk (a last, possibly empty, chunk always).
        const chunks = Math.floor(length / CHUNK) + (length % CHUNK === 0 && length > 0 ? 0 : 1);
        const headerBytes = file.readUInt32BE(MAGIC.length + 1) + MAGIC.length + 5;
        assert.equal(file.length, headerBytes + length + 16 * Math.max(chunks, 1));
        assert.deepEqual(await open(key, file, splitAt(file, readCuts)), plain);
      },
    ),
    runParameters(t, 60),
  );
});

test('a file cut at any chunk boundary is refused as truncated; cut anywhere else, refused', async () => {
  const key = randomBytes(32);
  const file = await seal(key, randomBytes(4 * CHUNK + 100));
  const headerBytes = file.readUInt32BE(MAGIC.length + 1) + MAGIC.length + 5;
  for (let i = 1; i <= 4; i++) await refused(open(key, file.subarray(0, headerBytes + i * (CHUNK + 16))), /truncated: it ends after part/);
  for (const at of [0, 5, headerBytes - 1, headerBytes, headerBytes + 10, headerBytes + CHUNK + 16 + 3, file.length - 1]) {
    await refused(open(key, file.subarray(0, at)), /empty|truncated|failed authentication/);
  }
});

test('a flipped bit anywhere, appended bytes, the wrong key: refused, and no plaintext of a bad chunk comes out', async (t) => {
  const key = randomBytes(32);
  const plain = randomBytes(3 * CHUNK + 7);
  const file = await seal(key, plain);
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: file.length - 1 }), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      const bad = Buffer.from(file);
      bad[at]! ^= 1 << bit;
      const out: Buffer[] = [];
      const s = new OpenStream(() => key);
      s.on('data', (c: Buffer) => out.push(c));
      Readable.from([bad]).pipe(s);
      await assert.rejects(new Promise((ok, fail) => { s.on('end', ok); s.on('error', fail); }), (err: KeyhavenError) => err.code === 'KH_BACKUP_FILE_INVALID');
      // What came out before the damage is exactly a prefix of whole, authentic chunks.
      const got = Buffer.concat(out);
      assert.equal(got.length % CHUNK, 0);
      assert.deepEqual(got, plain.subarray(0, got.length));
    }),
    runParameters(t, 150),
  );
  await refused(open(key, Buffer.concat([file, Buffer.of(0)])), /failed authentication/);
  await refused(open(randomBytes(32), file), /failed authentication/);
});

test('an edited header fails the first chunk; other formats and files are refused by what they are', async () => {
  const key = randomBytes(32);
  const header = newHeader({ generation: 2, keyCheck: 'b'.repeat(16), chunkBytes: CHUNK });
  const file = await seal(key, randomBytes(100), header);
  const rest = file.subarray(encodeHeader(header).length);
  // Same length, another generation: authenticated as associated data.
  const edited = Buffer.concat([encodeHeader({ ...header, generation: 9 }), rest]);
  await refused(open(key, edited), /part 1 of the backup file failed authentication/);
  const newer = Buffer.from(file);
  newer[MAGIC.length] = FORMAT + 1;
  await refused(open(key, newer), new RegExp(`format ${FORMAT + 1}, made by a newer Keyhaven`));
  await refused(open(key, Buffer.from('PK\x03\x04 a zip file, not a backup')), /not a Keyhaven backup file/);
  await refused(open(key, Buffer.alloc(0)), /empty/);
  const hugeHeader = Buffer.from(file);
  hugeHeader.writeUInt32BE(1 << 30, MAGIC.length + 1);
  await refused(open(key, hugeHeader), /claims \d+ bytes/);
  const notJson = Buffer.concat([MAGIC, Buffer.of(1), Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
  await refused(open(key, notJson), /header is not readable/);
});

test('the key is asked for once the header is read, and may refuse', async () => {
  const key = randomBytes(32);
  const file = await seal(key, randomBytes(10), newHeader({ generation: 4, keyCheck: 'c'.repeat(16), chunkBytes: CHUNK }));
  let asked: BackupHeader | undefined;
  const s = new OpenStream((h) => {
    asked = h;
    throw new KeyhavenError('KH_BACKUP_BAD_SHARES', `needs generation ${h.generation}`);
  });
  await assert.rejects(through([file], s), /needs generation 4/);
  assert.equal(asked?.generation, 4);
  assert.equal(asked?.keyCheck, 'c'.repeat(16));
});
