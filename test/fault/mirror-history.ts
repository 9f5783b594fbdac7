// The history checker of the mirroring fault test (issue 13). Client loops record every operation
// they attempt (kind, server, object, value written, start and end time, and whether the server
// acknowledged it, refused it, or the answer never came); after the cluster has healed and
// converged, every object is read back from every server and checkHistory() holds what was read to
// what the history allows:
//
// - lost:        an acknowledged Create/Register is missing on a server, or its material unreadable
//                while the object is not destroyed (an attempted Destroy explains an absence);
// - resurrected: an acknowledged Destroy, yet the object is not Destroyed, or its material readable;
// - diverged:    two servers disagree on an object (presence, State, x-mark, material);
// - backward:    the State is behind an acknowledged transition (a revoke for compromise acknowledged,
//                the State neither Compromised nor Destroyed Compromised; Active after Deactivated…);
// - stale:       the x-mark kept was written by a write that ended (+ margin) before an acknowledged
//                write started: last-writer-wins by hybrid logical clock must keep the later one;
// - invented:    a State, x-mark or material that no attempted operation could have produced;
// - phantom:     an object no attempted Create/Register explains;
// - collision:   two acknowledged creates returned one Unique Identifier;
// - unobserved:  an object the check needed could not be read.
//
// Outcomes: an operation answered with a KMIP error did nothing; one whose answer never came
// ("unknown": timeout, connection lost, server killed) may have taken effect, at any time up to the
// check (a stopped server may act on it after SIGCONT): it explains a state, never demands one.
//
// x-mark is a custom attribute; x- attributes are multi-instance in KMIP, so the loops give each
// object its x-mark in the Create/Register template and change it only with Modify Attribute (index
// 0): one instance, a single-valued last-writer-wins register. Add Attribute would add instances.
import { byteString, child, enumeration, integer, structure, textString, type Item, type StructureItem } from '../../server/kmip/item.js';
import { encode } from '../../server/kmip/encode.js';
import { ENUM_VALUE_NAMES, Enum, Tag } from '../../server/kmip/tables.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { attribute, av, createAes, field, parseResponse, request, withUid, type BatchItemSpec, type ParsedItem } from '../support/requests.js';

const Op = Enum.Operation;
const S = Enum.State;

export const MARK = 'x-mark';

export type OpKind = 'create' | 'register' | 'modify' | 'activate' | 'revoke-compromised' | 'revoke-deactivated' | 'destroy';
export type Outcome = 'ok' | 'refused' | 'unknown';

export interface OpRecord {
  readonly seq: number;
  readonly kind: OpKind;
  readonly server: number;
  /** The target; for create/register the identifier the server returned (only when acknowledged). */
  uid?: string;
  /** Milliseconds, Date.now()'s clock (the servers' hybrid logical clocks read the same clock). */
  readonly start: number;
  /** When the answer came, or when the client gave up; undefined while in flight. */
  end?: number;
  /** undefined while in flight: counts as unknown. */
  outcome?: Outcome;
  /** KMIP Result Reason and message, or the transport error. */
  detail?: string;
  /** create/register: the initial x-mark; modify: the value written. Unique per write. */
  readonly mark?: string;
  /** register: hex of the registered bytes. */
  readonly material?: string;
}

/** The operations attempted and how each ended, in the order they started. */
export class MirrorHistory {
  readonly ops: OpRecord[] = [];
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  begin(kind: OpKind, server: number, f: { uid?: string; mark?: string; material?: string } = {}): OpRecord {
    const op: OpRecord = { seq: ++this.seq, kind, server, start: this.now(), ...f };
    this.ops.push(op);
    return op;
  }

  ok(op: OpRecord, uid?: string): void {
    this.finish(op, 'ok');
    if (uid !== undefined) op.uid = uid;
  }

  refused(op: OpRecord, detail: string): void {
    this.finish(op, 'refused', detail);
  }

  unknown(op: OpRecord, detail: string): void {
    this.finish(op, 'unknown', detail);
  }

  private finish(op: OpRecord, outcome: Outcome, detail?: string): void {
    if (op.outcome !== undefined) throw new Error(`operation ${op.seq} already ended ${op.outcome}`);
    op.end = this.now();
    op.outcome = outcome;
    if (detail !== undefined) op.detail = detail;
  }

  /** Identifiers of acknowledged creates and registers. */
  created(): string[] {
    return this.ops.filter((o) => (o.kind === 'create' || o.kind === 'register') && o.outcome === 'ok' && o.uid !== undefined).map((o) => o.uid!);
  }

  outcomes(): Record<string, number> {
    return outcomes(this.ops);
  }
}

/** How the attempts ended: { 'create ok': n, … }. */
export function outcomes(ops: readonly OpRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of ops) {
    const k = `${o.kind} ${o.outcome ?? 'unknown'}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

// --- What was read back ---------------------------------------------------------------------------

/** One object as one server shows it. */
export interface ObjectView {
  /** Get Attributes found it. */
  present: boolean;
  state?: number;
  /** Every x-mark instance. */
  marks?: string[];
  /** Hex of the key material Get returned; null when Get failed (then getFailure says why). */
  material?: string | null;
  getFailure?: string;
}

export interface Observations {
  servers: number;
  /** Identifiers each server listed (Locate); objects the history does not explain are phantoms. */
  located: readonly (readonly string[])[];
  /** uid → its view on each server (index = server). */
  views: ReadonlyMap<string, readonly ObjectView[]>;
}

// --- The check ------------------------------------------------------------------------------------

export type ViolationKind = 'lost' | 'resurrected' | 'diverged' | 'backward' | 'stale' | 'invented' | 'phantom' | 'collision' | 'unobserved';
export const VIOLATION_KINDS: readonly ViolationKind[] = ['lost', 'resurrected', 'diverged', 'backward', 'stale', 'invented', 'phantom', 'collision', 'unobserved'];

export interface Violation {
  kind: ViolationKind;
  uid?: string;
  server?: number;
  detail: string;
}

/** Objects checked, acknowledged changes among them, and per kind the objects with such a violation. */
export type Tally = { objects: number; changesChecked: number } & Record<ViolationKind, number>;

export interface CheckResult {
  tally: Tally;
  violations: Violation[];
}

export interface CheckOptions {
  /** An acknowledged write that started this long after another write's acknowledgement must win over it. */
  marginMs?: number;
}

export const emptyTally = (): Tally => ({ objects: 0, changesChecked: 0, ...(Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<ViolationKind, number>) });

export function addTallies(a: Tally, b: Tally): Tally {
  const out = emptyTally();
  for (const k of Object.keys(out) as (keyof Tally)[]) out[k] = a[k] + b[k];
  return out;
}

export const stateName = (s: number | undefined): string => (s === undefined ? 'none' : ENUM_VALUE_NAMES.State.get(s) ?? `State ${s}`);

/** The lifecycle as facts that only grow (as server/mirror/lifecycle-join.ts merges it). */
interface Facts {
  phase: number;
  compromised: boolean;
  destroyed: boolean;
}

const NO_FACTS: Facts = { phase: 1, compromised: false, destroyed: false };

function factsOfOp(kind: OpKind): Facts {
  switch (kind) {
    case 'activate':
      return { phase: 2, compromised: false, destroyed: false };
    case 'revoke-deactivated':
      return { phase: 3, compromised: false, destroyed: false };
    case 'revoke-compromised':
      return { phase: 1, compromised: true, destroyed: false };
    case 'destroy':
      return { phase: 1, compromised: false, destroyed: true };
    default:
      return NO_FACTS; // create, register (Pre-Active: no Activation Date given), modify
  }
}

const join = (a: Facts, b: Facts): Facts => ({ phase: Math.max(a.phase, b.phase), compromised: a.compromised || b.compromised, destroyed: a.destroyed || b.destroyed });

/** What a State says; phase undefined where the State hides it (Compromised, Destroyed…). */
function factsOfState(state: number): { phase?: number; compromised: boolean; destroyed: boolean } | undefined {
  switch (state) {
    case S.PreActive:
      return { phase: 1, compromised: false, destroyed: false };
    case S.Active:
      return { phase: 2, compromised: false, destroyed: false };
    case S.Deactivated:
      return { phase: 3, compromised: false, destroyed: false };
    case S.Compromised:
      return { compromised: true, destroyed: false };
    case S.Destroyed:
      return { compromised: false, destroyed: true };
    case S.DestroyedCompromised:
      return { compromised: true, destroyed: true };
    default:
      return undefined;
  }
}

const isCreate = (o: OpRecord) => o.kind === 'create' || o.kind === 'register';
const explains = (o: OpRecord) => o.outcome !== 'refused';
const describe = (o: OpRecord) => `#${o.seq} ${o.kind}${o.mark !== undefined ? ` "${o.mark}"` : ''} on server ${o.server} [${o.start}..${o.end ?? '?'}] ${o.outcome ?? 'in flight'}`;
const viewText = (v: ObjectView | undefined) =>
  !v ? 'unread' : !v.present ? 'absent' : `${stateName(v.state)}, ${MARK} ${JSON.stringify(v.marks ?? [])}, material ${v.material === null ? `unreadable (${v.getFailure ?? '?'})` : v.material === undefined ? '?' : `${v.material.slice(0, 12)}…`}`;

/**
 * Holds what every server shows to what the history allows (see the top of the file). Reads only
 * its arguments: the same history and observations always give the same result.
 */
export function checkHistory(ops: readonly OpRecord[], obs: Observations, opts: CheckOptions = {}): CheckResult {
  const margin = opts.marginMs ?? 5;
  const violations: Violation[] = [];
  const tally = emptyTally();
  const flag = (kind: ViolationKind, detail: string, uid?: string, server?: number) => violations.push({ kind, detail, ...(uid !== undefined ? { uid } : {}), ...(server !== undefined ? { server } : {}) });

  const byUid = new Map<string, OpRecord[]>();
  for (const o of ops) {
    if (o.uid === undefined) continue;
    const list = byUid.get(o.uid) ?? [];
    list.push(o);
    byUid.set(o.uid, list);
  }
  // Creates whose identifier is unknown (no answer): each may explain one object nobody else does.
  const unclaimed = ops.filter((o) => isCreate(o) && o.uid === undefined && explains(o));

  const uids = new Set<string>([...byUid.keys(), ...obs.located.flat()]);
  for (const uid of [...uids].sort()) {
    tally.objects++;
    const history = byUid.get(uid) ?? [];
    const views = obs.views.get(uid);
    const creators = history.filter((o) => isCreate(o) && o.outcome === 'ok');
    if (creators.length > 1) flag('collision', `acknowledged by ${creators.map(describe).join(' and ')}`, uid);
    if (!views || views.length !== obs.servers) {
      flag('unobserved', `read on ${views?.length ?? 0} of ${obs.servers} servers`, uid);
      continue;
    }
    let creator: OpRecord | undefined = creators[0];
    if (!creator) {
      // Not created by an acknowledged operation: an unanswered create with the initial x-mark found.
      const marks = new Set(views.flatMap((v) => v.marks ?? []));
      const i = unclaimed.findIndex((o) => marks.has(o.mark!));
      if (i < 0) {
        flag('phantom', `no attempted create explains it (${views.map(viewText).join(' | ')})`, uid);
        continue;
      }
      creator = unclaimed.splice(i, 1)[0]!;
    }
    const all = [creator, ...history.filter((o) => o !== creator)];
    const acked = all.filter((o) => o.outcome === 'ok');
    tally.changesChecked += acked.length;

    const destroyAcked = acked.some((o) => o.kind === 'destroy');
    const destroyTried = all.some((o) => o.kind === 'destroy' && explains(o));
    const lower = acked.reduce((f, o) => join(f, factsOfOp(o.kind)), NO_FACTS);
    const upper = all.filter(explains).reduce((f, o) => join(f, factsOfOp(o.kind)), NO_FACTS);

    // The servers must agree, field by field.
    const differ = (what: string, key: (v: ObjectView) => string) => {
      const seen = new Set(views.map(key));
      if (seen.size > 1) flag('diverged', `${what} differs: ${views.map((v, s) => `server ${s}: ${key(v)}`).join('; ')}`, uid);
    };
    differ('presence', (v) => (v.present ? 'present' : 'absent'));
    const present = views.filter((v) => v.present);
    if (present.length === views.length) {
      differ('State', (v) => stateName(v.state));
      differ(MARK, (v) => JSON.stringify(v.marks ?? []));
      differ('material', (v) => (v.material === null ? 'unreadable' : v.material ?? '?'));
    }

    views.forEach((v, s) => {
      if (!v.present) {
        // Gone: only a destroy may explain it (a server may drop a destroyed object's record).
        if (creator.outcome === 'ok' && !destroyTried) flag('lost', `acknowledged ${describe(creator)}, absent on server ${s}`, uid, s);
        return;
      }
      const f = v.state === undefined ? undefined : factsOfState(v.state);
      if (!f) {
        flag('invented', `server ${s} shows State ${stateName(v.state)}`, uid, s);
        return;
      }
      // Lifecycle: at least what was acknowledged, at most what was attempted.
      if (destroyAcked && !f.destroyed) flag('resurrected', `destroy acknowledged, server ${s} shows ${stateName(v.state)}`, uid, s);
      if (lower.compromised && !f.compromised) flag('backward', `revoke for compromise acknowledged, server ${s} shows ${stateName(v.state)}`, uid, s);
      if (f.phase !== undefined && f.phase < lower.phase) flag('backward', `server ${s} shows ${stateName(v.state)} after acknowledged ${acked.filter((o) => factsOfOp(o.kind).phase === lower.phase).map(describe).join(', ')}`, uid, s);
      if (f.destroyed && !upper.destroyed) flag('invented', `server ${s} shows ${stateName(v.state)}, no destroy attempted`, uid, s);
      if (f.compromised && !upper.compromised) flag('invented', `server ${s} shows ${stateName(v.state)}, no revoke for compromise attempted`, uid, s);
      if (f.phase !== undefined && f.phase > upper.phase) flag('invented', `server ${s} shows ${stateName(v.state)}, no operation attempted leads there`, uid, s);

      // Material: readable exactly while not destroyed; a registered object's is the bytes registered.
      if (typeof v.material === 'string') {
        if (f.destroyed || destroyAcked) flag('resurrected', `server ${s} returns the material of a destroyed object (${stateName(v.state)})`, uid, s);
        if (creator.material !== undefined && v.material !== creator.material) flag('invented', `server ${s} returns material ${v.material.slice(0, 16)}…, registered ${creator.material.slice(0, 16)}…`, uid, s);
      } else if (!f.destroyed) {
        flag('lost', `server ${s} cannot return the material of a ${stateName(v.state)} object: ${v.getFailure ?? 'no material'}`, uid, s);
      }
      if (!f.destroyed && (v.marks ?? []).length === 0) flag('lost', `server ${s} has no ${MARK}`, uid, s);
      if ((v.marks ?? []).length > 1) flag('invented', `server ${s} has ${v.marks!.length} ${MARK} instances`, uid, s);
    });

    // Last writer wins: the value kept was attempted, and no acknowledged write that started after it
    // had been acknowledged (+ margin) may have lost to it. A write without an answer ends "never".
    const writes = all.filter((o) => (isCreate(o) || o.kind === 'modify') && o.mark !== undefined);
    for (const value of new Set(present.flatMap((v) => v.marks ?? []))) {
      const servers = views.flatMap((v, s) => ((v.marks ?? []).includes(value) ? [s] : []));
      const writer = writes.find((o) => o.mark === value);
      if (!writer || !explains(writer)) {
        flag('invented', `servers ${servers.join(',')} keep ${MARK} "${value}", ${writer ? `written only by refused ${describe(writer)}` : 'never written'}`, uid);
        continue;
      }
      const ended = writer.outcome === 'ok' ? writer.end! : Infinity;
      const winners = writes.filter((o) => o !== writer && o.outcome === 'ok' && o.start >= ended + margin);
      if (winners.length) flag('stale', `servers ${servers.join(',')} keep "${value}" of ${describe(writer)}, but ${winners.map(describe).join(', ')} started after it was acknowledged`, uid);
    }
  }
  // Objects, not reports: an object lost on three servers is one object lost.
  for (const k of VIOLATION_KINDS) tally[k] = new Set(violations.filter((v) => v.kind === k).map((v, i) => v.uid ?? `#${i}`)).size;
  return { tally, violations };
}

export const formatTally = (t: Tally): string =>
  `${t.objects} objects, ${t.changesChecked} changes checked, lost ${t.lost}, resurrected ${t.resurrected}, diverged ${t.diverged}, backward ${t.backward}, stale ${t.stale}, invented ${t.invented}, phantom ${t.phantom}, collision ${t.collision}, unobserved ${t.unobserved}`;

// --- Talking to a server ------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type CallResult =
  | { kind: 'answer'; items: ParsedItem[] }
  /** Never reached the server: it did nothing. */
  | { kind: 'not-sent'; error: string }
  /** Sent, no answer: it may have been done. */
  | { kind: 'lost'; error: string };

/**
 * One KMIP connection to one server, opened on demand and dropped on any trouble (a timeout, a
 * closed connection), so that the next call starts afresh: a killed or stopped server costs one
 * call, not the loop.
 */
export class ServerLink {
  private client: KmipTestClient | undefined;
  private opening: Promise<KmipTestClient> | undefined;

  constructor(private readonly connect: () => Promise<KmipTestClient>, private readonly timeoutMs = 1500) {}

  async call(items: BatchItemSpec[], opts: Parameters<typeof request>[1] = {}): Promise<CallResult> {
    let c: KmipTestClient;
    try {
      c = await this.open();
    } catch (e) {
      return { kind: 'not-sent', error: (e as Error).message };
    }
    const r = await within(c.send(request(items, opts)), this.timeoutMs).catch((e: Error) => e);
    if (r instanceof Error) {
      this.drop(c);
      return { kind: 'lost', error: r.message };
    }
    try {
      return { kind: 'answer', items: parseResponse(r).items };
    } catch (e) {
      this.drop(c);
      return { kind: 'lost', error: `unreadable response: ${(e as Error).message}` };
    }
  }

  private open(): Promise<KmipTestClient> {
    if (this.client) return Promise.resolve(this.client);
    if (!this.opening) {
      const pending = this.connect();
      this.opening = within(pending, this.timeoutMs)
        .then(
          (c) => {
            this.client = c;
            // A connection the server closed (killed, restarted) is not reused.
            void c.closed.then(() => this.client === c && (this.client = undefined));
            return c;
          },
          (e: Error) => {
            // A handshake that completes after we gave up (a stopped server continued) is closed then.
            pending.then((late) => late.socket.destroy(), () => undefined);
            throw e;
          },
        )
        .finally(() => (this.opening = undefined));
    }
    return this.opening;
  }

  private drop(c: KmipTestClient): void {
    c.socket.destroy();
    if (this.client === c) this.client = undefined;
  }

  close(): void {
    this.client?.socket.destroy();
    this.client = undefined;
    void this.opening?.then((c) => c.socket.destroy(), () => undefined);
  }
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Connects through a Unix socket that relays to the server (see mirror-faults.test.ts for why). */
export const viaPath = (path: string, files: ClientFiles) => () => KmipTestClient.connect(0, files, { path });

// --- The operations the loops send --------------------------------------------------------------

export type OpSpec =
  | { kind: 'create'; mark: string; group: string }
  | { kind: 'register'; mark: string; group: string; material: Buffer; secret: boolean }
  | { kind: 'modify'; uid: string; mark: string }
  | { kind: 'activate' | 'revoke-compromised' | 'revoke-deactivated' | 'destroy'; uid: string };

const revoke = (uid: string, code: number) => withUid(Op.Revoke, uid, [structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, code)])]);

/** The tags each object carries: its x-mark (the initial write) and its round's Object Group. */
const tagged = (mark: string, group: string) => [attribute(MARK, av.text(mark)), attribute('Object Group', av.text(group))];

export function opRequest(spec: OpSpec): BatchItemSpec {
  switch (spec.kind) {
    case 'create':
      return createAes(128, tagged(spec.mark, spec.group));
    case 'register':
      return {
        operation: Op.Register,
        payload: spec.secret
          ? [
            enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
            structure(Tag.TemplateAttribute, [attribute('Cryptographic Usage Mask', av.int(12)), ...tagged(spec.mark, spec.group)]),
            structure(Tag.SecretData, [
              enumeration(Tag.SecretDataType, Enum.SecretDataType.Password),
              structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, spec.material)])]),
            ]),
          ]
          : [
            enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
            structure(Tag.TemplateAttribute, [attribute('Cryptographic Usage Mask', av.int(12)), ...tagged(spec.mark, spec.group)]),
            structure(Tag.SymmetricKey, [
              structure(Tag.KeyBlock, [
                enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
                structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, spec.material)]),
                enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
                integer(Tag.CryptographicLength, spec.material.length * 8),
              ]),
            ]),
          ],
      };
    case 'modify':
      return withUid(Op.ModifyAttribute, spec.uid, [attribute(MARK, av.text(spec.mark), 0)]);
    case 'activate':
      return withUid(Op.Activate, spec.uid);
    case 'revoke-compromised':
      return revoke(spec.uid, Enum.RevocationReasonCode.KeyCompromise);
    case 'revoke-deactivated':
      return revoke(spec.uid, Enum.RevocationReasonCode.CessationOfOperation);
    case 'destroy':
      return withUid(Op.Destroy, spec.uid);
  }
}

const failureText = (i: ParsedItem) => `${ENUM_VALUE_NAMES.ResultReason.get(i.reason ?? -1) ?? `reason ${i.reason}`}: ${i.message ?? ''}`;

/** Sends one operation to `server` and records it in the history. */
export async function perform(history: MirrorHistory, link: ServerLink, server: number, spec: OpSpec): Promise<OpRecord> {
  const op = history.begin(spec.kind, server, {
    ...('uid' in spec ? { uid: spec.uid } : {}),
    ...('mark' in spec ? { mark: spec.mark } : {}),
    ...(spec.kind === 'register' ? { material: spec.material.toString('hex') } : {}),
  });
  const r = await link.call([opRequest(spec)]);
  if (r.kind === 'not-sent') history.refused(op, `not sent: ${r.error}`);
  else if (r.kind === 'lost') history.unknown(op, r.error);
  else {
    const item = r.items[0];
    if (item?.status === Enum.ResultStatus.Success) history.ok(op, spec.kind === 'create' || spec.kind === 'register' ? field<string>(item.payload, Tag.UniqueIdentifier) : undefined);
    else history.refused(op, item ? failureText(item) : 'empty response');
  }
  return op;
}

// --- Reading every object back ------------------------------------------------------------------

/** The key material in a Get response: the Key Material bytes, or the encoded Key Value otherwise. */
export function materialOf(payload: StructureItem | undefined): string | undefined {
  const find = (s: StructureItem, tag: number): Item | undefined => {
    for (const c of s.value) {
      if (c.tag === tag) return c;
      if (c.type === 0x01) {
        const inner = find(c, tag);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  if (!payload) return undefined;
  const km = find(payload, Tag.KeyMaterial);
  if (km?.type === 0x08) return km.value.toString('hex');
  const kv = find(payload, Tag.KeyValue);
  return kv ? encode(kv).toString('hex') : undefined;
}

const CONTINUE = { header: [enumeration(Tag.BatchErrorContinuationOption, Enum.BatchErrorContinuationOption.Continue)] };

/** Reads one object from one server: Get and Get Attributes (State, x-mark) in one batch. */
async function readObject(link: ServerLink, uid: string): Promise<ObjectView> {
  const r = await link.call([withUid(Op.Get, uid), withUid(Op.GetAttributes, uid, [textString(Tag.AttributeName, 'State'), textString(Tag.AttributeName, MARK)])], CONTINUE);
  if (r.kind !== 'answer') throw new Error(`reading ${uid}: ${r.error}`);
  const [get, attrs] = r.items;
  if (!get || !attrs) throw new Error(`reading ${uid}: ${r.items.length} batch items answered`);
  if (attrs.status !== Enum.ResultStatus.Success) {
    if (attrs.reason === Enum.ResultReason.ItemNotFound) return { present: false };
    throw new Error(`Get Attributes ${uid}: ${failureText(attrs)}`);
  }
  const values = (name: string) =>
    (attrs.payload?.value ?? [])
      .filter((a): a is StructureItem => a.tag === Tag.Attribute && a.type === 0x01 && child(a, Tag.AttributeName)?.value === name)
      .map((a) => child(a, Tag.AttributeValue)?.value);
  const view: ObjectView = { present: true, marks: values(MARK).map(String) };
  const state = values('State')[0];
  if (typeof state === 'number') view.state = state;
  if (get.status === Enum.ResultStatus.Success) {
    view.material = materialOf(get.payload) ?? null;
    if (view.material === null) view.getFailure = 'Get answered without key material';
  } else {
    view.material = null;
    view.getFailure = failureText(get);
  }
  return view;
}

/** Identifiers in a server's Object Group, destroyed ones too (Locate finds those only by State). */
async function locateGroup(link: ServerLink, group: string): Promise<string[]> {
  const byState = [undefined, S.Destroyed, S.DestroyedCompromised];
  const found: string[] = [];
  for (const state of byState) {
    const r = await link.call([{ operation: Op.Locate, payload: [attribute('Object Group', av.text(group)), ...(state ? [attribute('State', av.enum(state))] : [])] }]);
    if (r.kind !== 'answer') throw new Error(`Locate ${group}: ${r.error}`);
    const item = r.items[0]!;
    if (item.status !== Enum.ResultStatus.Success) throw new Error(`Locate ${group}: ${failureText(item)}`);
    found.push(...(item.payload?.value ?? []).filter((x) => x.tag === Tag.UniqueIdentifier).map((x) => String(x.value)));
  }
  return [...new Set(found)];
}

/**
 * Reads, on every server, every object of the history and every object the servers list in the
 * groups. A read that fails (the connection) is retried a few times, then throws: the check needs
 * every server.
 */
export async function observe(links: readonly ServerLink[], ops: readonly OpRecord[], groups: readonly string[], attempts = 5): Promise<Observations> {
  const retry = async <T>(what: () => Promise<T>): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await what();
      } catch (e) {
        if (i >= attempts) throw e;
        await sleep(200 * i);
      }
    }
  };
  const located = await Promise.all(links.map(async (l) => (await Promise.all(groups.map((g) => retry(() => locateGroup(l, g))))).flat()));
  const uids = [...new Set([...ops.flatMap((o) => (o.uid !== undefined ? [o.uid] : [])), ...located.flat()])].sort();
  const perServer = await Promise.all(links.map((l) => Promise.all(uids.map((u) => retry(() => readObject(l, u))))));
  const views = new Map(uids.map((u, i) => [u, perServer.map((row) => row[i]!)]));
  return { servers: links.length, located, views };
}
