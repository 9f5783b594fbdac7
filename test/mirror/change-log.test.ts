// The change log and the merge of peers' objects, on real stores without a network: three servers
// make random local changes (create, attribute edits, added instances, lifecycle steps, destroy),
// ship their logs to each other in a random order, with duplicates and resends; once everyone has
// everything, every server holds the same objects — attributes, state, material or its absence —
// and the same group digest. Also: rows written before mirroring are adopted; a peer's material that
// does not match its fingerprint, or an object without its create, is refused.
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import { encode } from '../../server/kmip/encode.js';
import { enumeration, integer, textString } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { ChangeLog } from '../../server/mirror/change-log.js';
import { compareHlc, type Hlc } from '../../server/mirror/hlc.js';
import { decodeReplica, encodeReplica } from '../../server/mirror/replica-codec.js';
import { SentItems } from '../../server/mirror/sent-items.js';
import { openDatabase } from '../../server/store/database.js';
import { KeyStore } from '../../server/store/key-store.js';
import { deriveKeys } from '../../server/store/master-key.js';
import { runParameters } from '../support/property.js';

const S = Enum.State;
const AV = Tag.AttributeValue;

interface Server {
  name: string;
  store: KeyStore;
  log: ChangeLog;
  close(): void;
}

function servers(n: number, t: TestContext): Server[] {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-mirror-'));
  const groupKey = randomBytes(32);
  const out = Array.from({ length: n }, (_, i) => {
    const { db } = openDatabase(join(dir, `s${i}.db`), { create: true });
    const store = new KeyStore(db, deriveKeys(randomBytes(32)));
    const log = new ChangeLog(db, store, `node${i}`, createSecretKey(groupKey));
    store.attachRecorder(log);
    return { name: `node${i}`, store, log, close: () => db.close() };
  });
  t.after(() => {
    for (const s of out) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return out;
}

/** Ships everything `from` has after position `after` to `to`, as the link does. */
function ship(from: Server, to: Server, after = 0): number {
  let n = 0;
  for (const row of from.store.changedSince(after, Number.MAX_SAFE_INTEGER, 100_000)) {
    if (row.fromPeer === to.name) continue;
    const material = row.material();
    to.log.applyRemote({ replica: decodeReplica(row.replica!), ...(material ? { material } : {}) }, from.name);
    n++;
  }
  return n;
}

/** Each server's objects as comparable text: uid, state, attributes (encoded), material or none. */
function view(s: Server): string[] {
  const out: string[] = [];
  for (const row of s.store.changedSince(0, Number.MAX_SAFE_INTEGER, 100_000)) {
    const o = row.object;
    const attrs = o.attributes.map((a) => `${a.name}[${a.index}]=${encode(a.value).toString('hex')}`).sort();
    out.push(JSON.stringify([o.uid, o.objectType, o.owner, o.state, attrs, row.material()?.toString('hex') ?? null]));
  }
  return out.sort();
}

const keyBlock = (secret: Buffer) => Buffer.concat([Buffer.from('42004001', 'hex'), Buffer.alloc(4), secret]);

type Step =
  | { kind: 'create'; at: number }
  | { kind: 'note'; at: number; object: number; text: string }
  | { kind: 'name'; at: number; object: number; text: string }
  | { kind: 'unname'; at: number; object: number }
  | { kind: 'state'; at: number; object: number; state: number }
  | { kind: 'destroy'; at: number; object: number }
  | { kind: 'ship'; from: number; to: number; resendAll: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), at: fc.nat(2) }),
  fc.record({ kind: fc.constant('note' as const), at: fc.nat(2), object: fc.nat(20), text: fc.string({ maxLength: 5 }) }),
  fc.record({ kind: fc.constant('name' as const), at: fc.nat(2), object: fc.nat(20), text: fc.string({ maxLength: 5 }) }),
  fc.record({ kind: fc.constant('unname' as const), at: fc.nat(2), object: fc.nat(20) }),
  fc.record({ kind: fc.constant('state' as const), at: fc.nat(2), object: fc.nat(20), state: fc.constantFrom(S.Active, S.Deactivated, S.Compromised) }),
  fc.record({ kind: fc.constant('destroy' as const), at: fc.nat(2), object: fc.nat(20) }),
  fc.record({ kind: fc.constant('ship' as const), from: fc.nat(2), to: fc.nat(2), resendAll: fc.boolean() }),
);

/** The forward moves an operation may make from a state (KMIP 1.4 §3.22); others are not attempted. */
function allowed(from: number, to: number): boolean {
  if (from === S.Destroyed || from === S.DestroyedCompromised) return false;
  if (to === S.Compromised) return from !== S.Compromised;
  if (to === S.Active) return from === S.PreActive;
  if (to === S.Deactivated) return from === S.Active || from === S.PreActive;
  return false;
}

test('any interleaving of local changes and shipping, then a full exchange: the same objects and digest on every server', (t) => {
  fc.assert(
    // Two servers as well as three: with three, a change one link fails to pass can still arrive
    // through the third, which would hide the failure.
    fc.property(fc.integer({ min: 2, max: 3 }), fc.array(step, { minLength: 5, maxLength: 60 }), (count, steps) => {
      const sv = servers(count, t);
      const uids: string[] = [];
      const shippedUpTo = [0, 1, 2].map(() => [0, 0, 0]);
      // Every Contact Information write with the stamp it was given: the latest must win everywhere.
      const notes = new Map<string, { hlc: Hlc; text: string }[]>();
      for (const s of steps) {
        if (s.kind === 'ship') {
          if (s.from === s.to || s.from >= count || s.to >= count) continue;
          const [from, to] = [sv[s.from]!, sv[s.to]!];
          ship(from, to, s.resendAll ? 0 : shippedUpTo[s.from]![s.to]!);
          shippedUpTo[s.from]![s.to] = from.log.head;
          continue;
        }
        const srv = sv[s.at % count]!;
        if (s.kind === 'create') {
          const uid = `${srv.name}-${uids.length}`;
          uids.push(uid);
          srv.store.insert({
            uid,
            objectType: Enum.ObjectType.SymmetricKey,
            owner: 'vcenter',
            state: S.PreActive,
            attributes: [
              { name: 'Cryptographic Length', index: 0, value: integer(AV, 256) },
              { name: 'State', index: 0, value: enumeration(AV, S.PreActive) },
              { name: 'Name', index: 0, value: textString(AV, `n-${uid}`) },
            ],
            material: keyBlock(randomBytes(32)),
          });
          continue;
        }
        const uid = uids[s.object % Math.max(1, uids.length)];
        const o = uid ? srv.store.load(uid) : undefined;
        if (!o) continue; // not created here yet: an operation would answer Item Not Found
        if (o.state === S.Destroyed || o.state === S.DestroyedCompromised) continue;
        if (s.kind === 'note') {
          o.attributes = [...o.attributes.filter((a) => a.name !== 'Contact Information'), { name: 'Contact Information', index: 0, value: textString(AV, s.text || '-') }];
          srv.store.save(o);
          const stamp = decodeReplica(srv.store.loadMirrored(uid!)!.replica!).slots['Contact Information']!.hlc;
          notes.set(uid!, [...(notes.get(uid!) ?? []), { hlc: stamp, text: s.text || '-' }]);
        } else if (s.kind === 'name') {
          const top = Math.max(-1, ...o.attributes.filter((a) => a.name === 'Name').map((a) => a.index));
          o.attributes = [...o.attributes, { name: 'Name', index: top + 1, value: textString(AV, s.text || '-') }];
          srv.store.save(o);
        } else if (s.kind === 'unname') {
          const names = o.attributes.filter((a) => a.name === 'Name');
          if (names.length === 0) continue;
          o.attributes = o.attributes.filter((a) => a !== names[0]);
          srv.store.save(o);
        } else if (s.kind === 'state') {
          if (!allowed(o.state, s.state)) continue;
          o.state = s.state;
          o.attributes = [...o.attributes.filter((a) => a.name !== 'State'), { name: 'State', index: 0, value: enumeration(AV, s.state) }];
          srv.store.save(o);
        } else {
          o.state = o.state === S.Compromised ? S.DestroyedCompromised : S.Destroyed;
          o.attributes = [...o.attributes.filter((a) => a.name !== 'State'), { name: 'State', index: 0, value: enumeration(AV, o.state) }];
          srv.store.save(o, { destroyMaterial: true });
        }
      }
      // Heal: everyone sends everyone what they have not sent, twice round (forwarded changes too).
      for (let round = 0; round < 2; round++) {
        for (const from of sv) for (const to of sv) if (from !== to) ship(from, to);
      }
      const views = sv.map(view);
      for (let i = 1; i < count; i++) assert.deepEqual(views[i], views[0], `server ${i} holds what server 0 holds`);
      assert.equal(views[0]!.length, uids.length, 'every object created anywhere is everywhere');
      const digests = sv.map((s) => s.log.digest());
      assert.equal(new Set(digests).size, 1, `one digest: ${digests.join(' ')}`);
      if (uids.length > 0) assert.notEqual(digests[0], '0'.repeat(64));
      // Converged is a fixed point: everything sent again, from anyone to anyone, changes nothing.
      for (const from of sv) {
        for (const to of sv) {
          if (from === to) continue;
          for (const row of from.store.changedSince(0, Number.MAX_SAFE_INTEGER, 100_000)) {
            const material = row.material();
            const r = to.log.applyRemote({ replica: decodeReplica(row.replica!), ...(material ? { material } : {}) }, from.name);
            assert.equal(r.changed, false, `${row.object.uid} from ${from.name} changed ${to.name} after convergence`);
          }
        }
      }
      for (const [uid, writes] of notes) {
        const latest = writes.reduce((x, y) => (compareHlc(x.hlc, y.hlc) >= 0 ? x : y));
        for (const srv of sv) {
          const note = srv.store.load(uid)!.attributes.find((a) => a.name === 'Contact Information');
          assert.equal(note?.value.value, latest.text, `${uid} on ${srv.name}: the latest Contact Information write wins`);
        }
      }
      for (const v of views[0]!) {
        const [, , , state, , material] = JSON.parse(v) as [string, number, string, number, string[], string | null];
        assert.equal(material === null, state === S.Destroyed || state === S.DestroyedCompromised, 'material exactly while not destroyed');
      }
    }),
    runParameters(t, 80),
  );
});

test('objects written before mirroring are adopted into the log and reach a peer', (t) => {
  const [a, b] = servers(2, t);
  // Written with no recorder attached: as a server that ran before mirroring was configured.
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-mirror-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { db } = openDatabase(join(dir, 'old.db'), { create: true });
  t.after(() => db.close());
  const store = new KeyStore(db, deriveKeys(randomBytes(32)));
  const secret = keyBlock(randomBytes(32));
  store.insert({ uid: 'old-1', objectType: Enum.ObjectType.SymmetricKey, owner: 'o', state: S.Active, attributes: [{ name: 'State', index: 0, value: enumeration(AV, S.Active) }], material: secret });
  const log = new ChangeLog(db, store, 'old', createSecretKey(randomBytes(32)));
  store.attachRecorder(log);
  assert.equal(store.changedSince(0, 1e9, 10).length, 0, 'nothing in the log before adoption');
  assert.equal(log.adoptUnmirrored(), 1);
  assert.equal(log.adoptUnmirrored(), 0, 'adopted once');
  const rows = store.changedSince(0, 1e9, 10);
  assert.equal(rows.length, 1);
  assert.equal(decodeReplica(rows[0]!.replica!).created?.id, 'unmirrored:old-1');
  void a;
  void b;
});

test("a peer's material that does not match its fingerprint, or an object without its create, is refused and nothing is written", (t) => {
  const [a, b] = servers(2, t);
  a!.store.insert({ uid: 'k1', objectType: Enum.ObjectType.SymmetricKey, owner: 'o', state: S.PreActive, attributes: [], material: keyBlock(randomBytes(32)) });
  const row = a!.store.changedSince(0, 1e9, 10)[0]!;
  const replica = decodeReplica(row.replica!);
  const refused = (fn: () => unknown, why: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof KeyhavenError && e.code === ErrorCodes.MIRROR_PROTOCOL && why.test(e.message));
  refused(() => b!.log.applyRemote({ replica, material: keyBlock(randomBytes(32)) }, a!.name), /does not match its fingerprint/);
  refused(() => b!.log.applyRemote({ replica }, a!.name), /does not match its fingerprint/);
  const { created: _c, ...headless } = replica;
  refused(() => b!.log.applyRemote({ replica: headless }, a!.name), /arrived without its create/);
  assert.equal(b!.store.load('k1'), undefined);
  assert.equal(b!.log.digest(), '0'.repeat(64));
  // And the real thing is taken, once: a duplicate changes nothing.
  assert.equal(b!.log.applyRemote({ replica, material: row.material()! }, a!.name).changed, true);
  assert.equal(b!.log.applyRemote({ replica, material: row.material()! }, a!.name).changed, false);
  assert.equal(b!.log.digest(), a!.log.digest());
  assert.deepEqual(encodeReplica(decodeReplica(encodeReplica(replica))), encodeReplica(replica), 'the codec round-trips');
});

test("a replica changed outside Keyhaven is refused where mirroring reads it; Get's read of the row is not affected", (t) => {
  const [a] = servers(2, t);
  a!.store.insert({ uid: 'k9', objectType: Enum.ObjectType.SymmetricKey, owner: 'o', state: S.PreActive, attributes: [], material: keyBlock(randomBytes(32)) });
  assert.ok(a!.store.loadMirrored('k9'));
  const stored = a!.store.db.prepare("SELECT replica FROM objects WHERE uid = 'k9'").get() as { replica: Buffer };
  const forged = Buffer.from(stored.replica);
  forged.writeUInt8(forged.readUInt8(forged.length - 3) ^ 0x01, forged.length - 3); // a byte of the JSON after the 32-byte HMAC
  a!.store.db.prepare("UPDATE objects SET replica = ? WHERE uid = 'k9'").run(forged);
  const corrupt = (e: unknown) => e instanceof KeyhavenError && e.code === ErrorCodes.STORE_CORRUPT && /mirroring state of object k9 failed its integrity check/.test(e.message);
  // Checked when its contents are read (its replica, material or attributes); where it is in the log is not content.
  assert.throws(() => a!.store.loadMirrored('k9')!.replica, corrupt);
  assert.throws(() => a!.store.changedSince(0, 1e9, 10)[0]!.material(), corrupt);
  assert.throws(() => a!.store.changedSince(0, 1e9, 10)[0]!.object, corrupt);
  assert.equal(a!.store.changedSince(0, 1e9, 10)[0]!.fromPeer, null);
  assert.equal(a!.store.load('k9')?.uid, 'k9', 'the row itself still verifies');
});

test('two servers creating one identifier (a collision): both keep the earlier create whole — type, owner, material — and the row reads back', (t) => {
  const [a, b] = servers(2, t);
  const early = keyBlock(randomBytes(32));
  const late = keyBlock(randomBytes(16));
  a!.store.insert({ uid: 'same', objectType: Enum.ObjectType.SymmetricKey, owner: 'alice', state: S.PreActive, attributes: [], material: early });
  // b's create is stamped after a's (its clock has seen a moment pass).
  const waitUntil = Date.now() + 2;
  while (Date.now() < waitUntil) {
    /* the next millisecond */
  }
  b!.store.insert({ uid: 'same', objectType: Enum.ObjectType.SecretData, owner: 'bob', state: S.PreActive, attributes: [], material: late });
  const toB = b!.log.applyRemote({ replica: decodeReplica(a!.store.changedSince(0, 1e9, 10)[0]!.replica!), material: early }, a!.name);
  assert.match(toB.conflict?.problem ?? '', /created twice/, 'the collision is reported');
  ship(b!, a!);
  for (const s of [a!, b!]) {
    const got = s.store.loadWithMaterial('same');
    assert.ok(got, `${s.name} holds the object`);
    assert.equal(got.object.objectType, Enum.ObjectType.SymmetricKey, `${s.name}: the earlier create's type`);
    assert.equal(got.object.owner, 'alice', `${s.name}: the earlier create's owner`);
    assert.deepEqual(got.material, early, `${s.name}: the earlier create's material`);
    assert.equal(s.store.scanOwner('bob', 0, 10, 'oldest').length, 0, `${s.name}: nothing left under the later create's owner`);
  }
  assert.equal(a!.log.digest(), b!.log.digest());
});

test('the links share a version\'s wire item: read once, the same JSON for every link, gone once the row is written again', (t) => {
  const [a] = servers(1, t);
  const material = keyBlock(randomBytes(32));
  const o = a!.store.insert({ uid: 'w1', objectType: Enum.ObjectType.SymmetricKey, owner: 'o', state: S.PreActive, attributes: [], material });
  const items = new SentItems(a!.store);
  const [at] = a!.store.changeRoutes(0, 1e9, 10)[0]!;
  const first = items.json(at)!;
  const item = JSON.parse(first) as { seq: number; u: string; r: string; m: string };
  assert.deepEqual([item.seq, item.u], [at, 'w1']);
  assert.ok(Buffer.from(item.m, 'base64').equals(material), 'the material travels as it was stored (unwrapped)');
  assert.equal(decodeReplica(Buffer.from(item.r)).uid, 'w1');
  assert.equal(items.json(at), first);
  assert.equal(items.hits, 1, 'the second link is served from what the first read');
  // Written again: the version moves to a new position; the old one names no row (routes never list it).
  o.state = S.Active;
  a!.store.save(o);
  const [moved] = a!.store.changeRoutes(0, 1e9, 10)[0]!;
  assert.ok(moved > at);
  items.clear();
  assert.equal(items.json(at), undefined, 'no row is at the old position');
  assert.notEqual(items.json(moved), first);
});

test('a version created here is remembered as written: its item is what reading the row back gives, and a rolled-back create\'s position is never reused', (t) => {
  const [a] = servers(1, t);
  const remembered = new SentItems(a!.store);
  a!.log.created = (seq, uid, replica, material) => remembered.remember(seq, uid, replica, material);
  const db = a!.store.db;
  const insert = (uid: string) => a!.store.insert({ uid, objectType: Enum.ObjectType.SymmetricKey, owner: 'o', state: S.PreActive, attributes: [], material: keyBlock(randomBytes(32)) });
  insert('r1');
  // A create rolled back: its position was remembered, then the write undone.
  db.exec('BEGIN');
  insert('r2');
  const rolledBack = a!.log.head;
  db.exec('ROLLBACK');
  a!.log.deferred.discard();
  insert('r3');
  const routes = a!.store.changeRoutes(0, 1e9, 10).map(([seq]) => seq);
  assert.equal(routes.length, 2);
  assert.ok(!routes.includes(rolledBack), 'the rolled-back position names no row');
  assert.ok(routes.every((seq) => seq !== rolledBack && seq > 0));
  assert.ok(Math.max(...routes) > rolledBack, 'the next create took a new position, not the rolled-back one');
  const readBack = new SentItems(a!.store);
  const rows = routes.map((seq) => readBack.json(seq));
  let reads = 0;
  const load = a!.store.loadChanged.bind(a!.store);
  a!.store.loadChanged = (seq) => (reads++, load(seq));
  routes.forEach((seq, i) => assert.equal(remembered.json(seq), rows[i], `position ${seq}: the remembered item is the row's`));
  assert.equal(reads, 0, 'no row was read back');
  assert.equal(remembered.json(routes[0]!), rows[0]);
  assert.equal(remembered.hits, 1, 'made into JSON once');
});
