// The messages of the mirroring protocol (6002), checked on arrival. Versioned: each side states the
// range of versions it speaks in its first message, the other picks the highest both speak or
// refuses, naming both ranges, so servers one release apart interoperate and older ones are told
// clearly that they cannot. A message this version does not define is refused, never skipped.
//
// One connection carries one direction of the log: the server that connected (the sender) pushes
// its changes, the accepting one (the receiver) applies them and acknowledges. Each server connects
// to every other, so a pair of servers holds two connections, one per direction.
//
//   sender                                  receiver
//   hello {versions, node, group, log, head} →
//                                           ← welcome {version, node, applied}   (or refuse)
//   changes {items, upTo}                   →
//                                           ← ack {upTo, hears}                  (after a durable commit)
//   members {members}                       →   (the group's member list, when it changes)
//   pki {certificates}                      →   (the certificates it issued and revoked, when they change)
//   digest {digest, head, applied}          →
//                                           ← digest-result {result, digest, cursors}
//
// `hears` (welcome, ack): the members whose changes reach the receiver directly (their links to it
// are up). The sender does not pass on to it what came from them (peer-link.ts); until a digest
// comparison matches, its digests are `partial`: a difference then is what those members have not
// delivered yet, not a divergence.
//
// Version 2 adds `cursors` to digest-result (how far the receiver has applied the log of each member
// it hears): the sender then does not pass on a member's versions the receiver is still taking from
// that member itself (skipped-resend.ts). Sent only on a link that agreed on 2; version 1 peers
// (which refuse unknown fields) never see it.
//
// A server that is not a member yet connects without a certificate and sends one message, join:
//   join {versions, token, node, address}   →
//                                           ← joined {...the group's trust and key} (or refuse)
import { z } from 'zod';
import { issuedEntry } from '../pki/issued-merge.js';

/** The versions this release speaks. Raise MAX with a change; keep MIN at most one release back. */
export const PROTOCOL = { min: 1, max: 2 } as const;

/** The first version whose digest-result carries cursors. */
export const CURSORS_SINCE = 2;

const versions = z.tuple([z.number().int().min(1), z.number().int().min(1)]).refine(([a, b]) => a <= b, 'versions are [lowest, highest]');
const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/, 'an identifier of letters, digits and . _ : -');
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const address = z.string().min(3).max(300);

export const member = z.object({ node: id, address, removed: z.boolean(), stamp: z.string().min(1).max(128) }).strict();
export type Member = z.infer<typeof member>;

// u: the object's Unique Identifier (its replica names it too): lets the receiver see it holds this version already.
const item = z.object({ seq, u: z.string().min(1).max(1024), r: z.string().min(2).max(1024 * 1024), m: z.string().max(8 * 1024 * 1024).optional() }).strict();
export type WireItem = z.infer<typeof item>;

export const senderMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('hello'), versions, node: id, group: id, log: id, head: seq }).strict(),
  z.object({ t: z.literal('changes'), items: z.array(item).max(4096), upTo: seq }).strict(),
  z.object({ t: z.literal('members'), members: z.array(member).max(64) }).strict(),
  z.object({ t: z.literal('pki'), certificates: z.array(issuedEntry).max(100_000) }).strict(),
  z.object({ t: z.literal('digest'), digest: z.string().regex(/^[0-9a-f]{64}$/), head: seq, applied: seq, partial: z.boolean().optional() }).strict(),
  z.object({
    t: z.literal('join'),
    versions,
    token: z.string().min(16).max(256),
    node: id,
    address,
  }).strict(),
]);
export type SenderMessage = z.infer<typeof senderMessage>;

export const receiverMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('welcome'), version: z.number().int().min(1), node: id, applied: seq, hears: z.array(id).max(64).optional() }).strict(),
  z.object({ t: z.literal('refuse'), code: z.string().max(64), reason: z.string().max(2000) }).strict(),
  z.object({ t: z.literal('ack'), upTo: seq, hears: z.array(id).max(64).optional() }).strict(),
  z.object({
    t: z.literal('digest-result'),
    result: z.enum(['match', 'differ', 'not-comparable']),
    digest: z.string().max(64),
    cursors: z.array(z.object({ node: id, log: id, applied: seq }).strict()).max(64).optional(),
  }).strict(),
  z.object({
    t: z.literal('joined'),
    version: z.number().int().min(1),
    node: id,
    group: id,
    groupKey: z.string().min(40).max(64),
    members: z.array(member).max(64),
    pki: z.object({ caCert: z.string().max(65536), caKey: z.string().max(65536), crl: z.string().max(4 * 1024 * 1024), index: z.string().max(16 * 1024 * 1024) }).strict(),
  }).strict(),
]);
export type ReceiverMessage = z.infer<typeof receiverMessage>;

/** The version two ranges share, or a sentence saying why none. */
export function agreeVersion(theirs: readonly [number, number]): { version: number } | { problem: string } {
  const low = Math.max(theirs[0], PROTOCOL.min);
  const high = Math.min(theirs[1], PROTOCOL.max);
  if (low > high) {
    return { problem: `mirroring protocol versions ${theirs[0]}–${theirs[1]} were offered; this server speaks ${PROTOCOL.min}–${PROTOCOL.max}: upgrade the older server (a group may be one release apart)` };
  }
  return { version: high };
}

const ITEM_KEYS = new Set(['seq', 'u', 'r', 'm']);
const isSeq = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isText = (v: unknown, min: number, max: number) => typeof v === 'string' && v.length >= min && v.length <= max;

/**
 * The `changes` message checked by hand, by the rules of `item` and `senderMessage` above (a test
 * holds the two to the same verdicts): zod took about 12 µs per item, a twentieth of what applying a
 * mirrored change costs. Returns what is wrong, or undefined.
 */
export function checkChanges(j: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(j)) if (k !== 't' && k !== 'items' && k !== 'upTo') return `${k} is not a field of changes`;
  if (!isSeq(j.upTo)) return 'upTo is not a position';
  const items = j.items;
  if (!Array.isArray(items) || items.length > 4096) return 'items is not a list of at most 4096';
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as Record<string, unknown>;
    if (typeof it !== 'object' || it === null || Array.isArray(it)) return `items.${i} is not an object`;
    for (const k of Object.keys(it)) if (!ITEM_KEYS.has(k)) return `items.${i}.${k} is not a field of an item`;
    if (!isSeq(it.seq)) return `items.${i}.seq is not a position`;
    if (!isText(it.u, 1, 1024)) return `items.${i}.u is not a text of 1 to 1024 characters`;
    if (!isText(it.r, 2, 1024 * 1024)) return `items.${i}.r is not a text of 2 to ${1024 * 1024} characters`;
    if (it.m !== undefined && !isText(it.m, 0, 8 * 1024 * 1024)) return `items.${i}.m is not a text of at most ${8 * 1024 * 1024} characters`;
  }
  return undefined;
}

/** A message parsed and checked, or a sentence saying what is wrong with it. */
export function parseMessage<T>(schema: z.ZodType<T>, body: Buffer): { ok: true; message: T } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, problem: 'a message that is not JSON' };
  }
  if (schema === (senderMessage as unknown) && typeof json === 'object' && json !== null && (json as { t?: unknown }).t === 'changes') {
    const problem = checkChanges(json as Record<string, unknown>);
    return problem === undefined ? { ok: true, message: json as T } : { ok: false, problem: `a malformed or unknown message "changes": ${problem}` };
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const t = typeof json === 'object' && json !== null && 't' in json ? String((json as { t: unknown }).t).slice(0, 40) : '?';
    const issue = r.error.issues[0];
    return { ok: false, problem: `a malformed or unknown message "${t}": ${issue ? `${issue.path.join('.')} ${issue.message}` : 'invalid'}` };
  }
  return { ok: true, message: r.data };
}
