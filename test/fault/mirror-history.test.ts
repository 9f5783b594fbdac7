// The mirroring history checker on synthetic histories: clean ones pass, and each kind of violation
// the fault test relies on it to find (lost create, resurrected destroy, backward state, diverged
// attribute, stale last-writer-wins winner, phantom object) is found. Then random sequential
// histories with the state they must end in: clean, and each one broken in one way, caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Enum } from '../../server/kmip/tables.js';
import { runParameters } from '../support/property.js';
import {
  checkHistory, MirrorHistory, VIOLATION_KINDS, type ObjectView, type Observations, type OpKind, type OpRecord, type Outcome, type ViolationKind,
} from './mirror-history.js';

const S = Enum.State;
const SERVERS = 3;

let seq = 0;
function op(kind: OpKind, server: number, start: number, end: number | undefined, outcome: Outcome | undefined, f: { uid?: string; mark?: string; material?: string } = {}): OpRecord {
  return { seq: ++seq, kind, server, start, ...(end !== undefined ? { end } : {}), ...(outcome ? { outcome } : {}), ...f };
}

const live = (state: number, mark: string, material = 'aa11'): ObjectView => ({ present: true, state, marks: [mark], material });
const gone = (state: number, mark?: string): ObjectView => ({ present: true, state, marks: mark ? [mark] : [], material: null, getFailure: 'Item Not Found: destroyed' });
const absent: ObjectView = { present: false };

/** Observations: one view for every server, or one per server; `located` lists them on every server. */
function observed(objects: Record<string, ObjectView | ObjectView[]>, located: string[] = Object.keys(objects)): Observations {
  const views = new Map(Object.entries(objects).map(([uid, v]) => [uid, Array.isArray(v) ? v : Array.from({ length: SERVERS }, () => v)]));
  return { servers: SERVERS, located: Array.from({ length: SERVERS }, () => located), views };
}

/** The kinds found, each once, sorted. */
const kinds = (ops: OpRecord[], obs: Observations) => [...new Set(checkHistory(ops, obs).violations.map((v) => v.kind))].sort();

function assertClean(ops: OpRecord[], obs: Observations): void {
  const r = checkHistory(ops, obs);
  assert.deepEqual(r.violations, [], 'a clean history has no violations');
}

function assertFinds(ops: OpRecord[], obs: Observations, kind: ViolationKind, detail?: RegExp): void {
  const r = checkHistory(ops, obs);
  const found = r.violations.filter((v) => v.kind === kind);
  assert.ok(found.length > 0, `expected a ${kind} violation, found ${JSON.stringify(r.violations)}`);
  assert.ok(r.tally[kind] >= 1, `the tally counts ${kind}`);
  if (detail) assert.match(found.map((v) => v.detail).join('\n'), detail);
}

test('MirrorHistory records start, end, outcome and the identifier a create returned', () => {
  let clock = 100;
  const h = new MirrorHistory(() => clock++);
  const c = h.begin('create', 0, { mark: 'm0' });
  const m = h.begin('modify', 1, { uid: 'u1', mark: 'm1' });
  const d = h.begin('destroy', 2, { uid: 'u1' });
  h.ok(c, 'u1');
  h.refused(m, 'Item Not Found');
  h.unknown(d, 'no answer within 1500 ms');
  assert.deepEqual(h.ops.map((o) => [o.kind, o.start, o.end, o.outcome, o.uid]), [['create', 100, 103, 'ok', 'u1'], ['modify', 101, 104, 'refused', 'u1'], ['destroy', 102, 105, 'unknown', 'u1']]);
  assert.deepEqual(h.created(), ['u1']);
  assert.deepEqual(h.outcomes(), { 'create ok': 1, 'modify refused': 1, 'destroy unknown': 1 });
  assert.throws(() => h.ok(c), /already ended/);
});

// A history with every kind of change, concurrent writes, and unanswered operations, and a state it may end in.
function cleanCase(): { ops: OpRecord[]; objects: Record<string, ObjectView | ObjectView[]> } {
  const ops = [
    // a: created, marked twice (sequentially), activated, revoked for compromise; a deactivation refused.
    op('create', 0, 0, 2, 'ok', { uid: 'a', mark: 'a0' }),
    op('modify', 1, 10, 12, 'ok', { uid: 'a', mark: 'a1' }),
    op('modify', 2, 20, 23, 'ok', { uid: 'a', mark: 'a2' }),
    op('activate', 2, 30, 31, 'ok', { uid: 'a' }),
    op('revoke-deactivated', 0, 31, 33, 'refused', { uid: 'a' }),
    op('revoke-compromised', 1, 40, 42, 'ok', { uid: 'a' }),
    // b: registered with known bytes, destroyed.
    op('register', 1, 5, 7, 'ok', { uid: 'b', mark: 'b0', material: 'beef' }),
    op('destroy', 0, 50, 52, 'ok', { uid: 'b' }),
    // c: a create whose answer never came: the server made it (found by its initial x-mark).
    op('create', 2, 8, 1500, 'unknown', { mark: 'c0' }),
    // d: a destroy without answer explains that d is gone everywhere.
    op('create', 0, 60, 61, 'ok', { uid: 'd', mark: 'd0' }),
    op('destroy', 1, 70, 1570, 'unknown', { uid: 'd' }),
    // e: two writes within the margin: either may win. f: deactivated.
    op('create', 0, 80, 81, 'ok', { uid: 'e', mark: 'e0' }),
    op('modify', 0, 100, 110, 'ok', { uid: 'e', mark: 'e1' }),
    op('modify', 1, 112, 120, 'ok', { uid: 'e', mark: 'e2' }),
    op('create', 1, 130, 131, 'ok', { uid: 'f', mark: 'f0' }),
    op('activate', 1, 140, 141, 'ok', { uid: 'f' }),
    op('revoke-deactivated', 2, 150, 151, 'ok', { uid: 'f' }),
    // g: a write without answer may win over a later acknowledged one (the server may act on it late).
    op('create', 2, 160, 161, 'ok', { uid: 'g', mark: 'g0' }),
    op('modify', 0, 170, undefined, undefined, { uid: 'g', mark: 'g1' }),
    op('modify', 1, 300, 301, 'ok', { uid: 'g', mark: 'g2' }),
  ];
  const objects = {
    a: live(S.Compromised, 'a2', 'a0a0'),
    b: gone(S.Destroyed, 'b0'),
    c_found: live(S.PreActive, 'c0', 'c0c0'),
    d: absent,
    e: live(S.PreActive, 'e1', 'e0e0'),
    f: live(S.Deactivated, 'f0', 'f0f0'),
    g: live(S.PreActive, 'g1', 'g0g0'),
  };
  return { ops, objects };
}

test('a clean history passes, with every acknowledged change counted', () => {
  const { ops, objects } = cleanCase();
  const r = checkHistory(ops, observed(objects));
  assert.deepEqual(r.violations, []);
  assert.equal(r.tally.objects, 7);
  assert.equal(r.tally.changesChecked, ops.filter((o) => o.outcome === 'ok').length);
  for (const k of VIOLATION_KINDS) assert.equal(r.tally[k], 0, k);
  // The other side of each "may": the concurrent write e2 winning, d destroyed rather than gone, a Destroy Compromised.
  assertClean(ops, observed({ ...objects, e: live(S.PreActive, 'e2', 'e0e0'), d: gone(S.Destroyed, 'd0') }));
  assertClean(ops, observed({ ...objects, g: live(S.PreActive, 'g2', 'g0g0') }));
  // Without the unanswered create c the object is a phantom: the clean pass is not by accident.
  assert.deepEqual(kinds(ops.filter((o) => o.mark !== 'c0'), observed(objects)), ['phantom']);
});

test('lost create: an acknowledged create missing on one server, everywhere, or its material unreadable', () => {
  const ops = [op('create', 0, 0, 2, 'ok', { uid: 'k', mark: 'k0' })];
  assertClean(ops, observed({ k: live(S.PreActive, 'k0') }));
  assertFinds(ops, observed({ k: [live(S.PreActive, 'k0'), live(S.PreActive, 'k0'), absent] }), 'lost', /absent on server 2/);
  assertFinds(ops, observed({ k: absent }), 'lost');
  assertFinds(ops, observed({ k: { present: true, state: S.PreActive, marks: ['k0'], material: null, getFailure: 'Item Not Found' } }), 'lost', /cannot return the material/);
  assertFinds(ops, observed({}, []), 'unobserved');
  // A destroy attempted (answer lost) explains the absence; a refused one does not.
  assertClean([...ops, op('destroy', 1, 5, 1505, 'unknown', { uid: 'k' })], observed({ k: absent }));
  assertFinds([...ops, op('destroy', 1, 5, 6, 'refused', { uid: 'k' })], observed({ k: absent }), 'lost');
  // The tally counts objects: lost on three servers is one object lost.
  assert.equal(checkHistory(ops, observed({ k: absent })).tally.lost, 1);
});

test('resurrected destroy: an acknowledged destroy, yet the material is readable or the state is not Destroyed', () => {
  const ops = [op('create', 0, 0, 2, 'ok', { uid: 'r', mark: 'r0' }), op('destroy', 1, 10, 12, 'ok', { uid: 'r' })];
  assertClean(ops, observed({ r: gone(S.Destroyed, 'r0') }));
  assertFinds(ops, observed({ r: [gone(S.Destroyed, 'r0'), live(S.Destroyed, 'r0'), gone(S.Destroyed, 'r0')] }), 'resurrected', /server 1 returns the material/);
  assertFinds(ops, observed({ r: live(S.PreActive, 'r0') }), 'resurrected', /destroy acknowledged/);
  // Destroyed by an unanswered destroy is fine; readable while Destroyed never is.
  const maybe = [ops[0]!, op('destroy', 1, 10, 1510, 'unknown', { uid: 'r' })];
  assertClean(maybe, observed({ r: live(S.PreActive, 'r0') }));
  assertClean(maybe, observed({ r: gone(S.Destroyed, 'r0') }));
  assertFinds(maybe, observed({ r: live(S.Destroyed, 'r0') }), 'resurrected');
});

test('backward state: behind an acknowledged transition (compromise lost, Active after Deactivated)', () => {
  const base = [op('create', 0, 0, 2, 'ok', { uid: 's', mark: 's0' }), op('activate', 0, 5, 6, 'ok', { uid: 's' })];
  const compromised = [...base, op('revoke-deactivated', 1, 10, 12, 'unknown', { uid: 's' }), op('revoke-compromised', 2, 10, 12, 'ok', { uid: 's' })];
  assertClean(compromised, observed({ s: live(S.Compromised, 's0') }));
  assertFinds(compromised, observed({ s: live(S.Deactivated, 's0') }), 'backward', /revoke for compromise acknowledged/);
  // Destroyed (not compromised) after an acknowledged compromise: Destroyed Compromised is the one state.
  const destroyed = [...compromised, op('destroy', 0, 20, 22, 'ok', { uid: 's' })];
  assertClean(destroyed, observed({ s: gone(S.DestroyedCompromised, 's0') }));
  assertFinds(destroyed, observed({ s: gone(S.Destroyed, 's0') }), 'backward');
  const deactivated = [...base, op('revoke-deactivated', 1, 10, 12, 'ok', { uid: 's' })];
  assertFinds(deactivated, observed({ s: live(S.Active, 's0') }), 'backward', /Active after acknowledged/);
  assertFinds(deactivated, observed({ s: [live(S.Deactivated, 's0'), live(S.PreActive, 's0'), live(S.Deactivated, 's0')] }), 'backward');
  // Ahead of every attempt is invented, not backward.
  assertFinds(base, observed({ s: live(S.Deactivated, 's0') }), 'invented', /no operation attempted/);
  assertFinds(base, observed({ s: live(S.Compromised, 's0') }), 'invented', /no revoke for compromise/);
});

test('diverged attribute: servers disagree on x-mark (or State, material, presence)', () => {
  const ops = [op('create', 0, 0, 2, 'ok', { uid: 'v', mark: 'v0' }), op('modify', 1, 1000, 1500, 'unknown', { uid: 'v', mark: 'v1' })];
  assertClean(ops, observed({ v: live(S.PreActive, 'v1') }));
  assertFinds(ops, observed({ v: [live(S.PreActive, 'v0'), live(S.PreActive, 'v1'), live(S.PreActive, 'v1')] }), 'diverged', /x-mark differs/);
  assertFinds(ops, observed({ v: [live(S.PreActive, 'v0', 'aa'), live(S.PreActive, 'v0', 'bb'), live(S.PreActive, 'v0', 'aa')] }), 'diverged', /material differs/);
  assertFinds(ops, observed({ v: { present: true, state: S.PreActive, marks: ['v0', 'v1'], material: 'aa' } }), 'invented', /2 x-mark instances/);
  assertFinds(ops, observed({ v: live(S.PreActive, 'v9') }), 'invented', /never written/);
});

test('stale last-writer-wins winner: a write acknowledged before another started (+5 ms) must not win', () => {
  const ops = [
    op('create', 0, 0, 2, 'ok', { uid: 'w', mark: 'w0' }),
    op('modify', 0, 10, 12, 'ok', { uid: 'w', mark: 'w1' }),
    op('modify', 2, 17, 19, 'ok', { uid: 'w', mark: 'w2' }), // started 5 ms after w1's acknowledgement
  ];
  assertClean(ops, observed({ w: live(S.PreActive, 'w2') }));
  assertFinds(ops, observed({ w: live(S.PreActive, 'w1') }), 'stale', /"w1".*#\d+ modify "w2"/);
  assertFinds(ops, observed({ w: live(S.PreActive, 'w0') }), 'stale');
  // 4 ms apart is inside the margin: either may win.
  const close = [ops[0]!, ops[1]!, op('modify', 2, 16, 19, 'ok', { uid: 'w', mark: 'w2' })];
  assertClean(close, observed({ w: live(S.PreActive, 'w1') }));
  assert.equal(checkHistory(close, observed({ w: live(S.PreActive, 'w1') }), { marginMs: 4 }).tally.stale, 1, 'the margin is an option');
  // A refused write never wins; an unanswered later one need not.
  assertFinds([...ops, op('modify', 1, 30, 31, 'refused', { uid: 'w', mark: 'w3' })], observed({ w: live(S.PreActive, 'w3') }), 'invented', /refused/);
  assertClean([...ops, op('modify', 1, 30, 1530, 'unknown', { uid: 'w', mark: 'w3' })], observed({ w: live(S.PreActive, 'w2') }));
  // An unanswered write may win over one acknowledged after the client gave up on it: a stopped
  // server may apply it on SIGCONT, with a later stamp.
  assertClean([...ops, op('modify', 1, 30, 1530, 'unknown', { uid: 'w', mark: 'w3' }), op('modify', 0, 1600, 1601, 'ok', { uid: 'w', mark: 'w4' })], observed({ w: live(S.PreActive, 'w3') }));
});

test('phantom and collision: an object nobody created; two acknowledged creates of one identifier', () => {
  const ops = [op('create', 0, 0, 2, 'ok', { uid: 'p', mark: 'p0' })];
  assertFinds(ops, observed({ p: live(S.PreActive, 'p0'), q: live(S.PreActive, 'zz') }), 'phantom');
  // Located on one server only, still a phantom (and the object read there).
  assertFinds(ops, { ...observed({ p: live(S.PreActive, 'p0'), q: [absent, live(S.PreActive, 'zz'), absent] }), located: [['p'], ['p', 'q'], ['p']] }, 'phantom');
  // An unanswered create explains one object, not two.
  const one = [...ops, op('create', 1, 5, 1505, 'unknown', { mark: 'n0' })];
  assertClean(one, observed({ p: live(S.PreActive, 'p0'), q: live(S.PreActive, 'n0') }));
  assertFinds(one, observed({ p: live(S.PreActive, 'p0'), q: live(S.PreActive, 'n0'), r: live(S.PreActive, 'n0') }), 'phantom');
  assertFinds([...ops, op('register', 1, 5, 6, 'ok', { uid: 'p', mark: 'p1', material: 'aa11' })], observed({ p: live(S.PreActive, 'p0') }), 'collision');
  // Registered bytes must come back.
  assertFinds([op('register', 1, 5, 6, 'ok', { uid: 'm', mark: 'm0', material: 'beef' })], observed({ m: live(S.PreActive, 'm0', 'dead') }), 'invented', /registered beef/);
});

// --- Random histories ---------------------------------------------------------------------------

interface Model {
  ops: OpRecord[];
  objects: Record<string, ObjectView>;
}

/**
 * A random history of non-overlapping operations (each starts ≥ 5 ms after the one before ended)
 * and the state it must end in on every server: the lifecycle joined, the last write kept, the
 * material gone once destroyed. Unanswered operations take effect or not at random.
 */
const histories = fc.gen().map((g) => {
  const int = (n: number) => g(fc.integer, { min: 0, max: n - 1 });
  const kindsOf: OpKind[] = ['create', 'register', 'modify', 'activate', 'revoke-compromised', 'revoke-deactivated', 'destroy'];
  const ops: OpRecord[] = [];
  const objects: Record<string, { state: { phase: number; compromised: boolean; destroyed: boolean }; mark: string; material: string }> = {};
  let t = 0;
  let n = 0;
  const count = 1 + int(25);
  for (let i = 0; i < count; i++) {
    const uids = Object.keys(objects);
    const kind = uids.length === 0 ? 'create' : kindsOf[int(kindsOf.length)]!;
    const outcome: Outcome = (['ok', 'ok', 'ok', 'refused', 'unknown'] as const)[int(5)]!;
    const start = t + 5 + int(20);
    const end = outcome === 'unknown' ? start + 1500 : start + 1 + int(10);
    t = end;
    const applies = outcome === 'ok' || (outcome === 'unknown' && g(fc.boolean));
    const server = int(SERVERS);
    if (kind === 'create' || kind === 'register') {
      const mark = `m${++n}`;
      const material = `${kind === 'register' ? 'be' : 'c0'}${n.toString(16).padStart(4, '0')}`;
      const uid = outcome === 'ok' ? `u${n}` : undefined;
      ops.push(op(kind, server, start, end, outcome, { ...(uid ? { uid } : {}), mark, ...(kind === 'register' ? { material } : {}) }));
      if (applies) objects[uid ?? `unanswered-${n}`] = { state: { phase: 1, compromised: false, destroyed: false }, mark, material };
      continue;
    }
    const uid = uids.filter((u) => !u.startsWith('unanswered'))[int(uids.length)] ?? uids[0]!;
    if (uid.startsWith('unanswered')) continue; // nobody knows its identifier
    const mark = kind === 'modify' ? `m${++n}` : undefined;
    ops.push(op(kind, server, start, end, outcome, { uid, ...(mark ? { mark } : {}) }));
    if (!applies) continue;
    const o = objects[uid]!;
    if (mark) o.mark = mark;
    else if (kind === 'activate') o.state.phase = Math.max(o.state.phase, 2);
    else if (kind === 'revoke-deactivated') o.state.phase = 3;
    else if (kind === 'revoke-compromised') o.state.compromised = true;
    else if (kind === 'destroy') o.state.destroyed = true;
  }
  const stateOf = (f: { phase: number; compromised: boolean; destroyed: boolean }) =>
    f.destroyed ? (f.compromised ? S.DestroyedCompromised : S.Destroyed) : f.compromised ? S.Compromised : [S.PreActive, S.Active, S.Deactivated][f.phase - 1]!;
  const views: Record<string, ObjectView> = {};
  for (const [uid, o] of Object.entries(objects)) views[uid] = o.state.destroyed ? gone(stateOf(o.state), o.mark) : live(stateOf(o.state), o.mark, o.material);
  return { ops, objects: views } satisfies Model;
});

/** One way to break a model's end state, and the violation that must then be found. */
type Breakage = { name: string; kind: ViolationKind; apply(m: Model): Record<string, ObjectView | ObjectView[]> } | undefined;

function breakages(m: Model): Breakage[] {
  const acked = (uid: string) => m.ops.filter((o) => o.uid === uid && o.outcome === 'ok');
  const out: Breakage[] = [];
  for (const [uid, v] of Object.entries(m.objects)) {
    const ops = acked(uid);
    const tried = m.ops.filter((o) => o.uid === uid && o.outcome !== 'refused');
    const creates = ops.some((o) => o.kind === 'create' || o.kind === 'register');
    const destroyed = ops.some((o) => o.kind === 'destroy');
    const others = (w: ObjectView) => ({ ...m.objects, [uid]: [v, v, w] });
    if (creates && !tried.some((o) => o.kind === 'destroy')) out.push({ name: `lose ${uid} on server 2`, kind: 'lost', apply: () => others(absent) });
    if (destroyed) out.push({ name: `resurrect ${uid}`, kind: 'resurrected', apply: () => ({ ...m.objects, [uid]: { ...v, material: 'c0ffee' } }) });
    if (ops.some((o) => o.kind === 'revoke-compromised') || ops.some((o) => o.kind === 'activate' || o.kind === 'revoke-deactivated')) {
      if (!destroyed) out.push({ name: `${uid} back to Pre-Active`, kind: 'backward', apply: () => ({ ...m.objects, [uid]: { ...v, state: S.PreActive } }) });
    }
    out.push({ name: `${uid}'s x-mark differs on server 2`, kind: 'diverged', apply: () => others({ ...v, marks: [`${v.marks![0]}-other`] }) });
    // A stale winner: an acknowledged write followed by a later acknowledged one, the earlier kept.
    const writes = ops.filter((o) => o.mark !== undefined);
    const last = m.ops.filter((o) => o.uid === uid && o.mark !== undefined && o.outcome !== 'refused').at(-1);
    if (writes.length >= 2 && last?.outcome === 'ok' && v.marks?.[0] === last.mark) {
      out.push({ name: `${uid} keeps ${writes.at(-2)!.mark}`, kind: 'stale', apply: () => ({ ...m.objects, [uid]: { ...v, marks: [writes.at(-2)!.mark!] } }) });
    }
  }
  return out;
}

test('random sequential histories: the state they end in passes; each one breakage is found', (t) => {
  const found: Record<string, number> = {};
  fc.assert(
    fc.property(histories, fc.nat(), (m, pick) => {
      const r = checkHistory(m.ops, observed(m.objects));
      assert.deepEqual(r.violations, [], `clean history flagged:\n${m.ops.map((o) => JSON.stringify(o)).join('\n')}`);
      const bs = breakages(m);
      if (bs.length === 0) return;
      const b = bs[pick % bs.length]!;
      const broken = checkHistory(m.ops, observed(b.apply(m)));
      assert.ok(broken.tally[b.kind] >= 1, `${b.name}: expected ${b.kind}, found ${JSON.stringify(broken.violations)}`);
      found[b.kind] = (found[b.kind] ?? 0) + 1;
    }),
    runParameters(t, 400),
  );
  t.diagnostic(`breakages found: ${JSON.stringify(found)}`);
  for (const k of ['lost', 'resurrected', 'backward', 'diverged', 'stale'] as const) assert.ok((found[k] ?? 0) > 0, `no ${k} breakage was tried`);
});
