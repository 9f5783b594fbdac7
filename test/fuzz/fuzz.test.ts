// Fuzzing the key server over real TLS connections. The server runs as its own process
// (`keyhaven serve --config FILE`) so that a crash is visible as an exit. fast-check draws build
// valid requests for every implemented operation (server/ops/pipeline/registry.ts) and mutates them
// — bit flips, truncations, length fields, tags and types, duplicated / removed / re-typed fields,
// deep nesting, splices, random bytes — bounded by count and time. Checks: the process stays up;
// every framed request gets exactly one answer and every answer is a well-formed Response Message;
// no request hangs; no request makes the server fail internally (General Failure from an unexpected
// exception); afterwards a fresh Create/Get/Destroy works, the server stops cleanly and
// `keyhaven audit verify` passes.
//
// Each connection is a fast-check property run (seed FUZZ_SEED + its number): an input that breaks a
// rule fails it, and fast-check shrinks the input against the live server and reports it with the
// seed. The candidates shrinking tries are not part of the run: they count and record nothing, and
// the count and findings bounds do not cut them short (only the time bound, plus SHRINK_SECONDS);
// the input shrinking ends on is recorded once. FUZZ_SEED=n replays a run's inputs (the interleaving
// of the connections, and so the pool of identifiers, may differ); FUZZ_COUNT and FUZZ_SECONDS bound
// it (default 20,000 messages or 30 s, whichever comes first); FUZZ_REPORT=FILE writes every finding
// (input hex included) as JSON.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { randomInt } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { decode } from '../../server/kmip/decode.js';
import { encode } from '../../server/kmip/encode.js';
import {
  bigInteger, boolean, byteString, dateTime, enumeration, integer, interval, longInteger, structure, textString,
  type Item, type StructureItem,
} from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { OPERATIONS } from '../../server/ops/pipeline/registry.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { RawConnection } from '../support/raw-connection.js';
import { attribute, av, createAes, field, parseResponse, request, withUid, type BatchItemSpec } from '../support/requests.js';
import { drawFrom, type Draw as Rng } from '../support/property.js';
import { prepareDataDir } from '../support/server.js';
import { assertHealthy, sleep } from '../net/helpers.js';
import { registerSecret } from '../store/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'appliance/bin/keyhaven.js');
const COUNT = Number(process.env['FUZZ_COUNT'] ?? 20_000);
const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 30);
const SEED = Number(process.env['FUZZ_SEED'] ?? randomInt(2 ** 31));
const CONNECTIONS = 8;
const READ_TIMEOUT = 200;
const MAX_MESSAGE = 64 * 1024;
/** A framed request unanswered for this long is a hang. */
const HANG_MS = 5000;
/** How long past the time bound a connection may go on shrinking the input that failed on it. */
const SHRINK_SECONDS = 20;

// ---------------------------------------------------------------------------------------------
// Valid requests for every implemented operation

const Op = Enum.Operation;
const KNOWN_TAGS = Object.values(Tag) as number[];

interface Pool {
  uids: string[];
}


/**
 * One valid request per implemented operation. In this order, run once on a fresh AES key, every
 * one of them succeeds (checked before fuzzing): Activate before the operations that need an Active
 * object, Revoke before Destroy.
 */
const BUILDERS: ReadonlyMap<number, (r: Rng, p: Pool) => BatchItemSpec> = new Map<number, (r: Rng, p: Pool) => BatchItemSpec>([
  [Op.Create, (r) => createAes(r.pick([128, 192, 256]), r.bool() ? [attribute('Name', av.name(`fuzz-${r.int(1e6)}`))] : [])],
  // EC only: RSA generation blocks the server for long (see the report on Create Key Pair)
  [Op.CreateKeyPair, (r) => ({
    operation: Op.CreateKeyPair,
    payload: [structure(Tag.CommonTemplateAttribute, [
      attribute('Cryptographic Algorithm', av.enum(r.pick([Enum.CryptographicAlgorithm.EC, Enum.CryptographicAlgorithm.ECDSA]))),
      attribute('Cryptographic Length', av.int(256)),
    ])],
  })],
  [Op.Register, (r) => registerSecret(r.bytes(1 + r.int(64)))],
  [Op.Locate, (r) => ({
    operation: Op.Locate,
    payload: [integer(Tag.MaximumItems, 1 + r.int(5)), attribute('Object Type', av.enum(r.pick([Enum.ObjectType.SymmetricKey, Enum.ObjectType.SecretData])))],
  })],
  [Op.Get, (r, p) => withUid(Op.Get, r.pick(p.uids))],
  [Op.GetAttributes, (r, p) => withUid(Op.GetAttributes, r.pick(p.uids), [textString(Tag.AttributeName, 'State'), textString(Tag.AttributeName, 'Name')])],
  [Op.GetAttributeList, (r, p) => withUid(Op.GetAttributeList, r.pick(p.uids))],
  [Op.AddAttribute, (r, p) => withUid(Op.AddAttribute, r.pick(p.uids), [attribute('x-fuzz', av.text(`v${r.int(100)}`))])],
  [Op.ModifyAttribute, (r, p) => withUid(Op.ModifyAttribute, r.pick(p.uids), [attribute('x-fuzz', av.text(`m${r.int(100)}`), 0)])],
  [Op.DeleteAttribute, (r, p) => withUid(Op.DeleteAttribute, r.pick(p.uids), [textString(Tag.AttributeName, 'x-fuzz'), integer(Tag.AttributeIndex, 0)])],
  [Op.Activate, (r, p) => withUid(Op.Activate, r.pick(p.uids))],
  [Op.Check, (r, p) => withUid(Op.Check, r.pick(p.uids), [integer(Tag.CryptographicUsageMask, r.pick([4, 8, 12]))])],
  // Before Revoke and Destroy (the corpus runs in this order on one key): whole blocks, so every mode takes them.
  [Op.Encrypt, (r, p) => withUid(Op.Encrypt, r.pick(p.uids), [
    structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, r.pick([Enum.BlockCipherMode.GCM, Enum.BlockCipherMode.CBC, Enum.BlockCipherMode.ECB, Enum.BlockCipherMode.CTR]))]),
    byteString(Tag.Data, r.bytes(16 * (1 + r.int(4)))),
  ])],
  [Op.Decrypt, (r, p) => withUid(Op.Decrypt, r.pick(p.uids), r.bool()
    ? [structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.ECB)]), byteString(Tag.Data, r.bytes(16 * (1 + r.int(4))))]
    : [structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.CTR)]), byteString(Tag.Data, r.bytes(1 + r.int(64))), byteString(Tag.IVCounterNonce, r.bytes(16))])],
  [Op.ObtainLease, (r, p) => withUid(Op.ObtainLease, r.pick(p.uids))],
  [Op.GetUsageAllocation, (r, p) => withUid(Op.GetUsageAllocation, r.pick(p.uids), r.bool() ? [longInteger(Tag.UsageLimitsCount, BigInt(1 + r.int(10)))] : [])],
  [Op.ReKey, (r, p) => withUid(Op.ReKey, r.pick(p.uids), r.bool(0.3) ? [interval(Tag.Offset, r.int(1000))] : [])],
  [Op.Archive, (r, p) => withUid(Op.Archive, r.pick(p.uids))],
  [Op.Recover, (r, p) => withUid(Op.Recover, r.pick(p.uids))],
  [Op.Revoke, (r, p) => {
    const compromise = r.bool();
    return withUid(Op.Revoke, r.pick(p.uids), [
      structure(Tag.RevocationReason, [
        enumeration(Tag.RevocationReasonCode, compromise ? Enum.RevocationReasonCode.KeyCompromise : Enum.RevocationReasonCode.CessationOfOperation),
        textString(Tag.RevocationMessage, 'fuzz'),
      ]),
      ...(compromise ? [dateTime(Tag.CompromiseOccurrenceDate, Math.floor(Date.now() / 1000) - 60)] : []),
    ]);
  }],
  [Op.Destroy, (r, p) => withUid(Op.Destroy, r.pick(p.uids))],
  [Op.Query, (r) => ({ operation: Op.Query, payload: [1, 2, 3].filter(() => r.bool(0.7)).map((f) => enumeration(Tag.QueryFunction, f)) })],
  [Op.DiscoverVersions, (r) => ({
    operation: Op.DiscoverVersions,
    payload: [4, 2, 0].filter(() => r.bool(0.6)).map((m) => structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, 1), integer(Tag.ProtocolVersionMinor, m)])),
  })],
]);

/** A valid Request Message: one operation, or a batch (Create then ID-placeholder operations). */
function validRequest(r: Rng, p: Pool): Buffer {
  const header: Item[] = [];
  if (r.bool(0.15)) header.push(integer(Tag.MaximumResponseSize, r.pick([256, 1024, 1 << 20])));
  if (r.bool(0.15)) header.push(enumeration(Tag.BatchErrorContinuationOption, r.pick([1, 2, 3])));
  let items: BatchItemSpec[];
  if (r.bool(0.15)) {
    items = [createAes(256), withUid(Op.Activate), withUid(Op.Get), withUid(Op.GetAttributes)].slice(0, 2 + r.int(3));
  } else {
    const op = r.pick([...BUILDERS.keys()]);
    items = [BUILDERS.get(op)!(r, p)];
  }
  return request(items, { minor: r.pick([0, 1, 2, 3, 4, 4, 4]), header });
}

// ---------------------------------------------------------------------------------------------
// Mutations

/** Offsets of every item header in a valid TTLV buffer. */
function itemOffsets(buf: Buffer, at = 0, end = buf.length, out: number[] = []): number[] {
  while (at + 8 <= end) {
    out.push(at);
    const type = buf[at + 3]!;
    const len = buf.readUInt32BE(at + 4);
    if (type === 0x01) itemOffsets(buf, at + 8, at + 8 + len, out);
    at += 8 + len + ((8 - (len % 8)) % 8);
  }
  return out;
}

/** Sets the outer message length to the buffer's (padded) size, so the result is framed. */
function refit(b: Buffer): Buffer {
  const padded = b.length < 8 ? Buffer.concat([b, Buffer.alloc(8 - b.length)]) : Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
  padded.writeUInt32BE(padded.length - 8, 4);
  return padded;
}

interface Node {
  parent: StructureItem | undefined;
  index: number;
  item: Item;
}
function nodes(item: Item, parent?: StructureItem, index = 0, out: Node[] = []): Node[] {
  out.push({ parent, index, item });
  if (item.type === 0x01) item.value.forEach((c, i) => nodes(c, item, i, out));
  return out;
}
const structures = (root: Item) => nodes(root).filter((n): n is Node & { item: StructureItem } => n.item.type === 0x01);

function randomItem(r: Rng, tag: number, type = 1 + r.int(10), depth = 0): Item {
  switch (type) {
    case 0x01:
      return structure(tag, depth > 2 ? [] : Array.from({ length: r.int(3) }, () => randomItem(r, r.pick(KNOWN_TAGS), undefined, depth + 1)));
    case 0x02: return integer(tag, r.pick([0, -1, 1, 0x7fffffff, -0x80000000, r.u32() | 0]));
    case 0x03: return longInteger(tag, r.pick([0n, -1n, (1n << 63n) - 1n, -(1n << 63n), BigInt(r.u32())]));
    case 0x04: return bigInteger(tag, r.pick([0n, -1n, 1n << 200n, -(1n << 200n), BigInt(r.u32())]));
    case 0x05: return enumeration(tag, r.pick([0, 1, 2, 0xffffffff, 0x80000000, r.u32()]));
    case 0x06: return boolean(tag, r.bool());
    case 0x07: return textString(tag, r.pick(['', 'x'.repeat(r.int(5000)), '\u0000', 'ü€😀', 'State', 'Name', 'x-fuzz', r.bytes(r.int(40)).toString('latin1')]));
    case 0x08: return byteString(tag, r.bytes(r.pick([0, 1, 16, 32, r.int(300)])));
    case 0x09: return dateTime(tag, r.pick([0, -1, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, Math.floor(Date.now() / 1000)]));
    default: return interval(tag, r.pick([0, 1, 0xffffffff, r.u32()]));
  }
}

type Mutator = (r: Rng, base: Buffer, p: Pool) => Buffer;

const treeMutation = (f: (r: Rng, root: StructureItem) => void): Mutator => (r, base) => {
  const root = decode(base) as StructureItem;
  f(r, root);
  return encode(root);
};

const MUTATORS: [string, number, Mutator][] = [
  ['valid', 6, (_r, base) => base],
  ['random bytes', 2, (r) => r.bytes(1 + r.int(256))],
  ['random body in a frame', 4, (r) => refit(Buffer.concat([Buffer.from([0x42, 0x00, 0x78, 0x01, 0, 0, 0, 0]), r.bytes(8 * r.int(40))]))],
  ['bit flips', 6, (r, base) => {
    const b = Buffer.from(base);
    for (let i = 1 + r.int(8); i > 0; i--) b[r.int(b.length)]! ^= 1 << r.int(8);
    return b;
  }],
  ['bit flips after the header', 12, (r, base) => {
    const b = Buffer.from(base);
    for (let i = 1 + r.int(8); i > 0; i--) b[8 + r.int(b.length - 8)]! ^= 1 << r.int(8);
    return b;
  }],
  ['truncation, reframed', 8, (r, base) => refit(base.subarray(0, 8 + r.int(base.length - 8)))],
  ['truncation', 2, (r, base) => base.subarray(0, 1 + r.int(base.length - 1))],
  ['length field', 12, (r, base) => {
    const b = Buffer.from(base);
    const offs = itemOffsets(b).slice(1);
    const at = r.pick(offs);
    const len = b.readUInt32BE(at + 4);
    b.writeUInt32BE(r.pick([0, 1, len - 1, len + 1, len + 8, Math.max(0, len - 8), 0x7fffffff, 0xffffffff, 0xfffffff8, r.u32()]) >>> 0, at + 4);
    return b;
  }],
  ['type byte', 8, (r, base) => {
    const b = Buffer.from(base);
    b[r.pick(itemOffsets(b).slice(1)) + 3] = r.int(0x0d);
    return b;
  }],
  ['tag bytes', 8, (r, base) => {
    const b = Buffer.from(base);
    b.writeUIntBE(r.bool(0.8) ? r.pick(KNOWN_TAGS) : r.int(0x1000000), r.pick(itemOffsets(b).slice(1)), 3);
    return b;
  }],
  ['splice of two requests', 3, (r, base, p) => {
    const other = validRequest(r, p);
    return refit(Buffer.concat([base.subarray(0, 8 + r.int(base.length - 8)), other.subarray(8 + r.int(other.length - 8))]));
  }],
  ['duplicated field', 8, treeMutation((r, root) => {
    const s = r.pick(structures(root).filter((n) => n.item.value.length > 0)).item;
    const i = r.int(s.value.length);
    s.value.splice(i, 0, decode(encode(s.value[i]!)));
  })],
  ['removed field', 6, treeMutation((r, root) => {
    const s = r.pick(structures(root).filter((n) => n.item.value.length > 0)).item;
    s.value.splice(r.int(s.value.length), 1);
  })],
  ['re-tagged field', 6, treeMutation((r, root) => {
    const n = r.pick(nodes(root).slice(1));
    n.item.tag = r.bool(0.9) ? r.pick(KNOWN_TAGS) : 0x540000 | r.int(0x10000);
  })],
  ['boundary value', 10, treeMutation((r, root) => {
    const n = r.pick(nodes(root).filter((x) => x.item.type !== 0x01));
    n.parent!.value[n.index] = randomItem(r, n.item.tag, n.item.type);
  })],
  ['re-typed field', 6, treeMutation((r, root) => {
    const n = r.pick(nodes(root).slice(1));
    let type = 1 + r.int(10);
    if (type === n.item.type) type = (type % 10) + 1;
    n.parent!.value[n.index] = randomItem(r, n.item.tag, type);
  })],
  ['deep nesting', 2, treeMutation((r, root) => {
    const s = r.pick(structures(root)).item;
    let inner: Item = structure(r.pick(KNOWN_TAGS), []);
    for (let d = 10 + r.int(40); d > 0; d--) inner = structure(r.pick([Tag.Attribute, Tag.TemplateAttribute, Tag.RequestPayload]), [inner]);
    s.value.push(inner);
  })],
  ['inserted random field', 5, treeMutation((r, root) => {
    const s = r.pick(structures(root)).item;
    s.value.splice(r.int(s.value.length + 1), 0, randomItem(r, r.bool(0.8) ? r.pick(KNOWN_TAGS) : 0x540000 | r.int(0x10000)));
  })],
  ['shuffled fields', 4, treeMutation((r, root) => {
    const s = r.pick(structures(root)).item;
    for (let i = s.value.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [s.value[i], s.value[j]] = [s.value[j]!, s.value[i]!];
    }
  })],
  ['pipelined requests', 2, (r, base, p) => Buffer.concat([base, validRequest(r, p), ...(r.bool() ? [validRequest(r, p)] : [])])],
];
const TOTAL_WEIGHT = MUTATORS.reduce((n, [, w]) => n + w, 0);

function mutate(r: Rng, p: Pool): { kind: string; bytes: Buffer } {
  const base = validRequest(r, p);
  let x = r.int(TOTAL_WEIGHT);
  for (const [kind, w, f] of MUTATORS) {
    if ((x -= w) >= 0) continue;
    try {
      return { kind, bytes: f(r, base, p) };
    } catch {
      // a tree mutation the encoder refuses (value out of range): flip bits instead
      const b = Buffer.from(base);
      b[8 + r.int(b.length - 8)]! ^= 1 << r.int(8);
      return { kind: 'bit flips after the header', bytes: b };
    }
  }
  throw new Error('unreachable');
}

/** How many whole Request Message frames the bytes are (0: not a clean sequence of frames). */
function frameCount(b: Buffer): number {
  let at = 0;
  let n = 0;
  while (at < b.length) {
    if (b.length - at < 8 || b.readUIntBE(at, 3) !== Tag.RequestMessage || b[at + 3] !== 0x01) return 0;
    const len = b.readUInt32BE(at + 4);
    if (len % 8 !== 0 || 8 + len > MAX_MESSAGE || at + 8 + len > b.length) return 0;
    at += 8 + len;
    n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Response checks

/** Throws unless `buf` is a well-formed Response Message (KMIP 1.4 §7.2, §6). */
function checkResponse(buf: Buffer): { ok: boolean; generalFailure: string | undefined; created: string[] } {
  const item = decode(buf);
  assert.equal(item.tag, Tag.ResponseMessage, 'not a Response Message');
  assert.equal(item.type, 0x01);
  assert.ok(encode(item).equals(buf), 'the response is not canonically encoded');
  const parsed = parseResponse(buf);
  const header = (item as StructureItem).value[0] as StructureItem;
  assert.equal(header.tag, Tag.ResponseHeader, 'the Response Header comes first');
  assert.equal(field<number>(header, Tag.BatchCount), parsed.items.length, 'Batch Count matches the Batch Items');
  assert.equal(typeof field<number>(header, Tag.TimeStamp), 'number', 'Time Stamp present');
  assert.ok(parsed.items.length >= 1, 'at least one Batch Item');
  let ok = true;
  let generalFailure: string | undefined;
  const created: string[] = [];
  for (const it of parsed.items) {
    assert.ok([0, 1, 2, 3].includes(it.status), `Result Status ${it.status}`);
    if (it.status === Enum.ResultStatus.OperationFailed) {
      ok = false;
      assert.notEqual(it.reason, undefined, 'a failed Batch Item carries a Result Reason');
      if (it.reason === Enum.ResultReason.GeneralFailure) generalFailure = it.message ?? '';
    }
    if (it.status === Enum.ResultStatus.Success && (it.operation === Op.Create || it.operation === Op.Register)) {
      const uid = field<string>(it.payload, Tag.UniqueIdentifier);
      if (uid) created.push(uid);
    }
  }
  return { ok, generalFailure, created };
}

// ---------------------------------------------------------------------------------------------
// The server as a process

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

class ServerProcess {
  output = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
  private constructor(readonly child: ChildProcess, readonly port: number) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  static async start(dir: string, dev: ClientFiles): Promise<ServerProcess> {
    const port = await freePort();
    const config = join(dir, 'keyhaven.json');
    writeFileSync(config, JSON.stringify({
      dataDir: dir,
      listeners: { kmip: { host: '127.0.0.1', port } },
      limits: { maxMessageBytes: MAX_MESSAGE, readTimeoutMs: READ_TIMEOUT, idleTimeoutMs: 60_000, maxLocateItems: 50 },
      log: { level: 'warn' },
    }));
    const child = spawn(process.execPath, [BIN, 'serve', '--config', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const sp = new ServerProcess(child, port);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (sp.exit) throw new Error(`the server exited at start (${JSON.stringify(sp.exit)}):\n${sp.output}`);
      try {
        const c = await RawConnection.connect(port, dev, { handshakeTimeoutMs: 2000 });
        c.close();
        return sp;
      } catch {
        if (Date.now() > deadline) throw new Error(`the server did not start listening:\n${sp.output}`);
        await sleep(200);
      }
    }
  }

  /** Internal errors the server logged (pino JSON lines). */
  internalErrors(): string[] {
    return this.output
      .split('\n')
      .filter((l) => l.includes('"internal error"') || /uncaught|FATAL/i.test(l))
      .map((l) => l.slice(0, 2000));
  }

  /** The internal errors grouped by message: count and the first stack. */
  internalErrorSummary(): string[] {
    const groups = new Map<string, { n: number; stack: string }>();
    for (const line of this.internalErrors()) {
      let message = line;
      let stack = '';
      try {
        const j = JSON.parse(line) as { err?: { message?: string; stack?: string } };
        message = j.err?.message ?? line;
        stack = (j.err?.stack ?? '').split('\n').slice(1, 6).join(' | ');
      } catch {
        /* not JSON */
      }
      const g = groups.get(message) ?? { n: 0, stack };
      g.n++;
      groups.set(message, g);
    }
    return [...groups].map(([m, g]) => `${g.n}× ${m}\n    ${g.stack}`);
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exit) {
      this.child.kill('SIGTERM');
      await Promise.race([this.exited, sleep(15_000)]);
      if (!this.exit) this.child.kill('SIGKILL');
      await this.exited;
    }
    return this.exit!;
  }
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------

interface Finding {
  n: number;
  kind: string;
  problem: string;
  hex: string;
}

describe('fuzzing the KMIP listener over TLS', () => {
  let dir: string;
  let dev: ClientFiles;
  let server: ServerProcess;

  before(async () => {
    ({ dir, dev } = await prepareDataDir());
    server = await ServerProcess.start(dir, dev);
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(`${COUNT} mutated requests or ${SECONDS} s, seed from FUZZ_SEED or random`, { timeout: (SECONDS + 60) * 1000 }, async (t) => {
    t.diagnostic(`seed ${SEED} (reproduce with FUZZ_SEED=${SEED})`);
    const r = drawFrom(fc.sample(fc.gen(), { numRuns: 1, seed: SEED })[0]!); // the setup's draws
    const pool: Pool = { uids: [] };

    // Objects to act on, and proof that the base corpus is valid: every operation succeeds once.
    const setup = await RawConnection.connect(server.port, dev);
    for (let i = 0; i < 12; i++) {
      const spec = i % 3 === 2 ? registerSecret(r.bytes(32)) : createAes(256);
      const res = parseResponse((await setup.roundTrip(request([spec])))!);
      pool.uids.push(field<string>(res.items[0]!.payload, Tag.UniqueIdentifier)!);
    }
    const corpusOk: string[] = [];
    for (const [op, build] of BUILDERS) {
      const target: Pool = { uids: [pool.uids[0]!] };
      const res = parseResponse((await setup.roundTrip(request([build(r, target)])))!);
      if (res.items[0]!.status === Enum.ResultStatus.Success) corpusOk.push(OPERATIONS.get(op)!.name);
      else t.diagnostic(`corpus ${OPERATIONS.get(op)!.name}: ${res.items[0]!.message}`);
    }
    setup.close();
    const missing = [...OPERATIONS.keys()].filter((op) => !BUILDERS.has(op)).map((op) => OPERATIONS.get(op)!.name);
    assert.deepEqual(missing, [], 'the fuzz corpus covers every implemented operation');
    t.diagnostic(`corpus: ${BUILDERS.size} operations, ${corpusOk.length} succeed unmutated`);
    assert.deepEqual(
      [...BUILDERS.keys()].map((op) => OPERATIONS.get(op)!.name).filter((n) => !corpusOk.includes(n)),
      [],
      'every unmutated corpus request succeeds (else the fuzz never gets deep into that operation)',
    );

    // What the run counts and records. Shrink candidates go to a tally of their own, thrown away.
    const tally = () => ({
      stats: { sent: 0, framed: 0, unframed: 0, answered: 0, success: 0, error: 0, closedByServer: 0, closedInsteadOfAnswer: 0, abandoned: 0 },
      byKind: new Map<string, number>(),
      findings: [] as Finding[],
      generalFailures: [] as Finding[],
      unanswered: [] as Finding[],
      /** Objects created by the inputs, for later inputs to act on (the pool's, for the run's own inputs). */
      created: [] as string[],
    });
    type Tally = ReturnType<typeof tally>;
    const counted: Tally = { ...tally(), created: pool.uids };
    const { stats, byKind, findings, generalFailures, unanswered } = counted;
    const started = Date.now();
    const done = () => stats.sent >= COUNT || Date.now() - started > SECONDS * 1000 || server.exit !== undefined || findings.length >= 200;
    const shrinkDone = () => Date.now() - started > (SECONDS + SHRINK_SECONDS) * 1000 || server.exit !== undefined;
    /** A finding into its list: General Failures (the first 20) or the other findings. */
    const file = (into: Tally, f: Finding) => {
      if (!f.problem.startsWith('General Failure: ')) into.findings.push(f);
      else if (into.generalFailures.length < 20) into.generalFailures.push(f);
    };

    /** Counts the responses to one input; returns its first finding or General Failure, if any. */
    const record = (into: Tally, n: number, kind: string, bytes: Buffer, responses: Buffer[]): Finding | undefined => {
      const { stats } = into;
      let first: Finding | undefined;
      for (const resp of responses) {
        stats.answered++;
        let f: Finding | undefined;
        try {
          const c = checkResponse(resp);
          if (c.ok) stats.success++;
          else stats.error++;
          for (const u of c.created) if (into.created.length < 300) into.created.push(u);
          if (c.generalFailure !== undefined) f = { n, kind, problem: `General Failure: ${c.generalFailure}`, hex: bytes.toString('hex') };
        } catch (err) {
          f = { n, kind, problem: `invalid response (${(err as Error).message}): ${resp.toString('hex').slice(0, 400)}`, hex: bytes.toString('hex') };
        }
        if (f) {
          file(into, f);
          first ??= f;
        }
      }
      return first;
    };

    // One input: send it, check the answer, count and record into `into`. A finding or a General
    // Failure also fails the property, so that fast-check shrinks that input and reports it (closed
    // connections are only counted).
    const exchange = async (conn: RawConnection, input: { kind: string; bytes: Buffer }, into: Tally): Promise<{ conn: RawConnection; finding?: Finding }> => {
      const { stats, byKind, unanswered } = into;
      const n = stats.sent++;
      const { kind, bytes } = input;
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      const frames = frameCount(bytes);
      const before = conn.responses.length;
      let finding: Finding | undefined;
      const find = (f: Finding) => {
        file(into, f);
        finding ??= f;
      };
      await conn.write(bytes);
      if (frames > 0) {
        stats.framed++;
        await conn.waitFor(before + frames, HANG_MS);
        const got = conn.responses.slice(before);
        finding = record(into, n, kind, bytes, got);
        if (got.length < frames) {
          if (conn.closed) {
            // Within the contract (an error or a closed connection), but worth knowing.
            stats.closedInsteadOfAnswer++;
            if (unanswered.length < 20) unanswered.push({ n, kind, problem: 'closed instead of answering a framed request', hex: bytes.toString('hex') });
          } else {
            find({ n, kind, problem: `no answer within ${HANG_MS} ms (hang)`, hex: bytes.toString('hex') });
          }
          conn.destroy();
          conn = await RawConnection.connect(server.port, dev);
        }
      } else {
        // Not a clean frame: the server answers what it can frame, then an error and a close,
        // or (a header announcing more bytes) waits until the read timeout. Either way the
        // connection is finished.
        stats.unframed++;
        const closed = await conn.waitClosed(READ_TIMEOUT + 1500);
        finding = record(into, n, kind, bytes, conn.responses.slice(before));
        if (closed) stats.closedByServer++;
        else {
          stats.abandoned++;
          find({ n, kind, problem: 'an unframeable stream was neither answered nor closed by the read timeout', hex: bytes.toString('hex') });
        }
        conn.destroy();
        conn = await RawConnection.connect(server.port, dev);
      }
      return { conn, ...(finding ? { finding } : {}) };
    };

    const worker = async (w: number) => {
      let conn = await RawConnection.connect(server.port, dev);
      // The first input that failed on this connection: fast-check shrinks it from then on, and the
      // last candidate that failed too is the counterexample it reports.
      let failed: Finding | undefined;
      let last: Finding | undefined;
      let broken = false;
      const result = await fc.check(
        fc.asyncProperty(fc.gen(), async (g) => {
          const shrinking = failed !== undefined;
          // The count, the time or the findings bound is reached: pass the rest. Shrinking stops at
          // its own time bound only (a passing candidate leaves the counterexample as it is).
          if (shrinking ? shrinkDone() : done()) return;
          if (broken) {
            conn.destroy();
            conn = await RawConnection.connect(server.port, dev);
            broken = false;
          }
          const into = shrinking ? tally() : counted;
          const input = mutate(drawFrom(g), pool);
          let out: { conn: RawConnection; finding?: Finding };
          try {
            out = await exchange(conn, input, into);
          } catch (err) {
            // Fails the property as before, as this input's finding; the next one gets a fresh connection.
            broken = true;
            out = { conn, finding: { n: into.stats.sent - 1, kind: input.kind, problem: `the exchange failed: ${(err as Error)?.stack ?? String(err)}`, hex: input.bytes.toString('hex') } };
          }
          conn = out.conn;
          if (out.finding) {
            if (shrinking) last = out.finding;
            else failed = out.finding;
            throw new Error(`${out.finding.kind}: ${out.finding.problem}\n  input ${out.finding.hex.slice(0, 1200)}`);
          }
        }),
        { seed: SEED + w, numRuns: Math.ceil(COUNT / CONNECTIONS), interruptAfterTimeLimit: (SECONDS + SHRINK_SECONDS + 10) * 1000, markInterruptAsFailure: false },
      );
      if (result.failed) {
        shrunk.push(`connection ${w} (replay: FUZZ_SEED=${SEED}): ${fc.defaultReportMessage(result) ?? ''}`);
        // The shrunk input, once (the input that failed first is recorded already).
        if (failed && last) file(counted, { ...last, n: failed.n, kind: `${last.kind}, shrunk from #${failed.n} (${failed.kind})` });
      }
      conn.close();
    };
    const shrunk: string[] = [];
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    t.diagnostic(
      `sent ${stats.sent} in ${seconds} s over ${CONNECTIONS} connections: ${stats.framed} framed, ${stats.unframed} unframed; ` +
        `responses ${stats.answered} (${stats.success} success, ${stats.error} with an error); ` +
        `connections closed by the server ${stats.closedByServer + stats.closedInsteadOfAnswer} ` +
        `(${stats.closedInsteadOfAnswer} instead of answering a framed request); General Failures ${generalFailures.length}`,
    );
    t.diagnostic(`mutations: ${[...byKind].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const f of [...findings, ...generalFailures, ...unanswered].slice(0, 10)) t.diagnostic(`#${f.n} ${f.kind}: ${f.problem}\n  input ${f.hex.slice(0, 1200)}`);
    for (const line of server.internalErrorSummary()) t.diagnostic(`server internal error: ${line}`);
    if (process.env['FUZZ_REPORT']) {
      writeFileSync(process.env['FUZZ_REPORT'], JSON.stringify({ seed: SEED, stats, findings, generalFailures, unanswered, internalErrors: server.internalErrors() }, null, 1));
    }

    assert.equal(server.exit, undefined, `the server process died: ${JSON.stringify(server.exit)}\n${server.output.slice(-4000)}`);
    assert.ok(stats.sent >= Math.min(COUNT, 200), `too few messages were sent (${stats.sent})`);
    assert.ok(stats.answered > 0 && stats.success > 0 && stats.error > 0, 'both successes and errors were seen');

    // Afterwards: still healthy, a clean stop, and an intact audit log.
    await assertHealthy({ port: server.port, dev });
    const internal = server.internalErrorSummary();
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `the server stops cleanly on SIGTERM:\n${server.output.slice(-2000)}`);
    const verify = await run(['audit', 'verify', '--data-dir', dir]);
    assert.equal(verify.code, 0, `keyhaven audit verify: ${verify.stdout}${verify.stderr}`);
    const records = Number(/(\d+) records/.exec(verify.stdout)?.[1]);
    assert.ok(records >= stats.answered, `the audit log holds a record per answered request (${records} records, ${stats.answered} answers)`);
    t.diagnostic(`after: Create/Get/Destroy ok, clean SIGTERM stop, ${verify.stdout.trim()}`);

    assert.deepEqual(shrunk, [], 'inputs that broke a rule, shrunk by fast-check');
    assert.deepEqual(findings.map((f) => `#${f.n} ${f.kind}: ${f.problem}`), [], 'hangs, invalid responses, streams left open');
    assert.deepEqual(generalFailures.map((f) => `#${f.n} ${f.kind}: ${f.problem} input ${f.hex}`), [], 'requests that made the server fail internally');
    assert.deepEqual(internal, [], 'internal errors in the server log (bugs: client input must never cause one)');
  });
});
