// No key material in logs or errors. (1) The logger censors secret-named fields at any depth and
// never writes binary values. (2) End to end: a server run at log level debug handles a registered
// key with a known byte pattern, a Get, an Encrypt and a Decrypt, and a series of failures; neither
// its stdout/stderr, nor any file of its data directory, nor any KMIP error Result Message contains
// the key bytes, the plaintext or the ciphertext in any encoding.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../server/log.js';
import { byteString, enumeration, integer, structure, textString } from '../server/kmip/item.js';
import { encode } from '../server/kmip/encode.js';
import { Enum, Tag } from '../server/kmip/tables.js';
import { issueClient, pkiPaths } from '../server/pki/index.js';
import { KmipTestClient } from './support/kmip-client.js';
import { attribute, av, field, parseResponse, request, withUid, type ParsedResponse } from './support/requests.js';
import { prepareDataDir } from './support/server.js';
import {
  allText, destroyItem, filesUnder, findSecret, freePort, getItem, keyBytesOf, readFiles, registerAes, startServerProcess,
  uidOf, writeConfig,
} from './store/helpers.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger('trace', { write: (s: string) => void lines.push(s) });
  return { log, text: () => lines.join('') };
}

test('the logger censors secret-named fields at every depth, in arrays, whatever the case', () => {
  const { log, text } = capture();
  const S = 'S3CR3T-VALUE-5f1c';
  const input = {
    key: S, password: S, passphrase: S, secret: S, masterKey: S, privateKey: S, keyMaterial: S, material: S,
    request: S, response: S, payload: S, plaintext: S, KeyMaterial: S, PASSWORD: S,
    one: { key: S, material: S },
    two: { deeper: { password: S, list: [{ secret: S }, { keyBytes: S }] } },
    items: [{ key: S }, [{ material: S }]],
    err: { message: 'boom', key: S },
    fine: 'visible',
  };
  const copy = structuredClone(input);
  log.info(input, 'hello');
  log.debug({ deep: { a: { b: { c: { d: { privateKey: S } } } } } }, 'deep');
  log.error({ key: S }, 'at error level');
  const out = text();
  assert.ok(!out.includes(S), `a secret was written:\n${out}`);
  assert.ok(out.includes('[REDACTED]'));
  assert.ok(out.includes('"fine":"visible"'), 'other fields are kept');
  assert.ok(out.includes('hello') && out.includes('deep') && out.includes('at error level'));
  assert.deepEqual(input, copy, 'the caller\'s object is not modified');
});

test('binary values are never written, whatever their field name', () => {
  const { log, text } = capture();
  const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  log.info({ data: bytes, nested: { blob: new Uint8Array(bytes) }, list: [bytes] }, 'binary');
  const out = text();
  for (const n of ['00112233', bytes.toString('base64'), '"data":[', '"type":"Buffer"']) assert.ok(!out.includes(n), `${n} in ${out}`);
  assert.match(out, /\[BINARY 16 bytes\]/);
});

test('the censoring can fail: an innocuously named text field is written as is', () => {
  const { log, text } = capture();
  log.info({ note: 'visible-text-123' }, 'x');
  assert.ok(text().includes('visible-text-123'));
});

test('the search for key bytes finds them in any encoding at any offset (so the checks below can fail)', () => {
  const secret = randomBytes(32);
  for (let pad = 0; pad < 4; pad++) {
    const around = Buffer.concat([randomBytes(pad), secret, randomBytes(5)]);
    for (const enc of ['hex', 'base64', 'base64url'] as const) {
      const text = Buffer.from(`prefix ${around.toString(enc)} suffix`);
      assert.ok(findSecret(secret, [{ name: enc, data: text }]).length > 0, `${enc} at offset ${pad}`);
    }
    assert.ok(findSecret(secret, [{ name: 'upper', data: Buffer.from(around.toString('hex').toUpperCase()) }]).length > 0);
  }
  assert.ok(findSecret(secret, [{ name: 'piece', data: secret.subarray(10, 24) }]).length > 0, 'a 14-byte piece');
  assert.deepEqual(findSecret(secret, [{ name: 'other', data: randomBytes(4096) }]), []);
});

// --- end to end ---------------------------------------------------------------------------------

const errorTexts = (r: ParsedResponse) =>
  r.items.filter((i) => i.status !== Enum.ResultStatus.Success).flatMap((i) => [i.message ?? '', ...(i.payload ? allText(i.payload) : [])]);

test('end to end at log level debug: the key bytes appear in no log line, no file, no error message', { timeout: 60_000 }, async () => {
  const { dir, dev } = await prepareDataDir();
  const port = await freePort();
  const config = writeConfig(join(dir, 'config.json'), dir, port, { log: { level: 'debug' } });
  // A distinctive pattern: recognisable, yet random enough never to occur by chance.
  const key = Buffer.concat([Buffer.from('KEYHAVEN'), randomBytes(24)]);
  const other = Buffer.concat([Buffer.from('BADKEY!!'), randomBytes(23)]); // 31 bytes: an invalid AES key
  const plaintext = Buffer.concat([Buffer.from('PLAINTXT'), randomBytes(25)]); // 33 bytes: not whole blocks
  let ciphertext: Buffer = Buffer.alloc(0);
  const bobIssued = await issueClient(dir, { name: 'bob', bits: 2048 });
  const bob = { ca: pkiPaths(dir).caCert, cert: bobIssued.certPath, key: bobIssued.keyPath! };
  const server = await startServerProcess(config);
  // Whatever happens in the test, the subprocess does not outlive it.
  after(() => void server.child.kill('SIGKILL'));
  const errors: string[] = [];
  try {
    const c = await KmipTestClient.connect(port, dev);
    const sendP = async (m: Buffer) => parseResponse(await c.send(m));

    const reg = await sendP(request([registerAes(key)]));
    const uid = uidOf(reg);
    const got = await sendP(request([getItem(uid)]));
    assert.ok(keyBytesOf(got).equals(key), 'Get returns the key');
    // Encrypt and Decrypt (KMIP 1.4): neither the plaintext nor the ciphertext is logged, stored or echoed.
    assert.equal((await sendP(request([withUid(Enum.Operation.Activate, uid)]))).items[0]!.status, Enum.ResultStatus.Success);
    const enc = await sendP(request([{ operation: Enum.Operation.Encrypt, payload: [textString(Tag.UniqueIdentifier, uid), byteString(Tag.Data, plaintext)] }], { minor: 4 }));
    const sealed = { data: field<Buffer>(enc.items[0]!.payload, Tag.Data)!, iv: field<Buffer>(enc.items[0]!.payload, Tag.IVCounterNonce)!, tag: field<Buffer>(enc.items[0]!.payload, Tag.AuthenticatedEncryptionTag)! };
    ciphertext = sealed.data;
    const decryptWith = (tag: Buffer) => request([{ operation: Enum.Operation.Decrypt, payload: [textString(Tag.UniqueIdentifier, uid), byteString(Tag.Data, sealed.data), byteString(Tag.IVCounterNonce, sealed.iv), byteString(Tag.AuthenticatedEncryptionTag, tag)] }], { minor: 4 });
    assert.ok(field<Buffer>((await sendP(decryptWith(sealed.tag))).items[0]!.payload, Tag.Data)!.equals(plaintext), 'Decrypt returns the plaintext');

    // Failures, several of them on requests that carry key material.
    const failures: ParsedResponse[] = [];
    failures.push(await sendP(request([registerAes(other)]))); // invalid length
    failures.push(await sendP(request([registerAes(key, [attribute('Cryptographic Length', av.int(128))])]))); // contradicts the key
    failures.push(await sendP(request([registerAes(key, [attribute('No Such Attribute', av.int(1))])])));
    const corrupt = request([registerAes(key)]);
    corrupt[corrupt.length - 1] = 0x55; // non-zero padding: malformed TTLV carrying the key
    failures.push(await sendP(corrupt));
    failures.push(await sendP(request([registerAes(key)], { minor: 9 }))); // unsupported version
    failures.push(await sendP(request([{ operation: Enum.Operation.Decrypt, payload: [textString(Tag.UniqueIdentifier, uid), byteString(Tag.Data, ciphertext), byteString(Tag.IVCounterNonce, Buffer.alloc(12)), byteString(Tag.AuthenticatedEncryptionTag, Buffer.alloc(16))] }], { minor: 4 }))); // does not authenticate
    failures.push(await sendP(request([{ operation: Enum.Operation.Encrypt, payload: [textString(Tag.UniqueIdentifier, uid), byteString(Tag.Data, plaintext), structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.CBC)])] }]))); // not whole blocks
    // A Get in a request whose header is garbage, and a request naming an unknown operation.
    failures.push(await sendP(encode(structure(Tag.RequestMessage, [structure(Tag.RequestHeader, [integer(Tag.BatchCount, 1)]), structure(Tag.BatchItem, [enumeration(Tag.Operation, 0xff)])]))));
    const bobClient = await KmipTestClient.connect(port, bob);
    failures.push(parseResponse(await bobClient.send(request([getItem(uid)])))); // wrong owner
    bobClient.close();
    // Active since the Encrypt: revoked before it can be destroyed (KMIP 1.4 §4.21).
    await sendP(request([{ operation: Enum.Operation.Revoke, payload: [textString(Tag.UniqueIdentifier, uid), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CessationOfOperation)])] }]));
    failures.push(await sendP(request([destroyItem(uid)])));
    assert.equal(failures.at(-1)!.items[0]!.status, Enum.ResultStatus.Success, 'destroyed');
    failures.pop();
    failures.push(await sendP(request([getItem(uid)]))); // Get of a destroyed key
    for (const f of failures) {
      assert.ok(f.items.some((i) => i.status === Enum.ResultStatus.OperationFailed), `expected a failure: ${JSON.stringify(f.items)}`);
      errors.push(...errorTexts(f));
    }
    c.close();

    // A stream that cannot be framed: the key bytes themselves, raw, instead of a message.
    const raw = await KmipTestClient.connect(port, dev);
    const refused = new Promise<Buffer>((resolve, reject) => {
      raw.socket.once('data', (d: Buffer) => resolve(d));
      setTimeout(() => reject(new Error('no response to an unframeable stream')), 5000).unref();
    });
    raw.socket.write(Buffer.concat([key, key]));
    const resp = parseResponse(await refused);
    errors.push(...errorTexts(resp));
    raw.socket.destroy();

    assert.ok(errors.length >= 8, `${errors.length} error messages collected`);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  try {
    const logs = server.stdout() + server.stderr();
    assert.ok(logs.includes('"level":20') || logs.includes('key server started'), 'the log was captured');
    assert.equal(ciphertext.length, plaintext.length, 'Encrypt ran');
    for (const secret of [key, other, plaintext, ciphertext]) {
      assert.deepEqual(findSecret(secret, [{ name: 'stdout+stderr', data: Buffer.from(logs) }]), [], 'logs');
      assert.deepEqual(findSecret(secret, [{ name: 'KMIP error messages', data: Buffer.from(errors.join('\n')) }]), [], errors.join('\n'));
      assert.deepEqual(findSecret(secret, readFiles(filesUnder(dir))), [], 'files of the data directory');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
