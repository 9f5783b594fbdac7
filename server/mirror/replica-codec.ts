// The stored and shipped form of an object's replica (merge-rules.ts): compact JSON, the same bytes
// in the store's `replica` column and on the wire. Reading checks every field, since a peer's bytes
// are input like any other. Key material is never part of it: `created.material` holds the
// material's fingerprint (an HMAC under the group key, so it reveals nothing of a weak secret); the
// material itself travels beside it, and the receiver checks it against the fingerprint.
import { formatHlc, parseHlc, type Hlc } from './hlc.js';
import type { LifecycleFacts } from './lifecycle-join.js';
import { slotRecord, type ObjectReplica } from './merge-rules.js';

type Json = {
  u: string;
  c: [string, string, number, string, string | null] | null;
  l: [number, number, number];
  s: [string, string, string | null][];
  t: string | null;
};

/** Bounds of what a replica may hold (an object holds at most 256 attributes of 64 KiB in all). */
export const MAX_REPLICA_SLOTS = 4096;
export const MAX_REPLICA_BYTES = 1024 * 1024;
const MAX_TEXT = 1024;

export function encodeReplica(r: ObjectReplica): Buffer {
  const c = r.created;
  const json: Json = {
    u: r.uid,
    c: c ? [c.id, formatHlc(c.hlc), c.objectType, c.owner, c.material ?? null] : null,
    l: [r.lifecycle.phase, r.lifecycle.compromised ? 1 : 0, r.lifecycle.destroyed ? 1 : 0],
    s: Object.keys(r.slots)
      .sort()
      .map((k) => [k, formatHlc(r.slots[k]!.hlc), r.slots[k]!.value ?? null]),
    t: r.latest ? formatHlc(r.latest) : null,
  };
  return Buffer.from(JSON.stringify(json));
}

class ReplicaFormatError extends Error {}

const fail = (what: string): never => {
  throw new ReplicaFormatError(`malformed replica: ${what}`);
};
const text = (v: unknown, what: string, max = MAX_TEXT): string => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : fail(`${what} is not a text of 1 to ${max} characters`));
const stamp = (v: unknown, what: string): Hlc => {
  try {
    return parseHlc(text(v, what));
  } catch (err) {
    return fail(`${what}: ${(err as Error).message}`);
  }
};

/** The replica in `bytes`, or an Error saying what is wrong (nothing of a bad replica is used). */
export function decodeReplica(bytes: Buffer): ObjectReplica {
  if (bytes.length > MAX_REPLICA_BYTES) fail(`${bytes.length} bytes, more than ${MAX_REPLICA_BYTES}`);
  let j: Json;
  try {
    j = JSON.parse(bytes.toString('utf8')) as Json;
  } catch {
    return fail('not JSON');
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail('not an object');
  const uid = text(j.u, 'the Unique Identifier');
  if (!Array.isArray(j.l) || j.l.length !== 3) fail('the lifecycle is not [phase, compromised, destroyed]');
  const [phase, compromised, destroyed] = j.l;
  if (phase !== 1 && phase !== 2 && phase !== 3) fail(`lifecycle phase ${String(phase)}`);
  if ((compromised !== 0 && compromised !== 1) || (destroyed !== 0 && destroyed !== 1)) fail('lifecycle flags are not 0 or 1');
  const lifecycle: LifecycleFacts = { phase: phase as 1 | 2 | 3, compromised: compromised === 1, destroyed: destroyed === 1 };
  if (!Array.isArray(j.s) || j.s.length > MAX_REPLICA_SLOTS) fail(`slots are not a list of at most ${MAX_REPLICA_SLOTS}`);
  const slots = slotRecord();
  for (const s of j.s) {
    if (!Array.isArray(s) || s.length !== 3) fail('a slot is not [key, stamp, value]');
    const key = text(s[0], 'a slot key');
    if (key in slots) fail(`slot ${key} appears twice`);
    const value = s[2] === null ? undefined : text(s[2], `the value of slot ${key}`, MAX_REPLICA_BYTES);
    slots[key] = { hlc: stamp(s[1], `the stamp of slot ${key}`), value };
  }
  let created: ObjectReplica['created'];
  if (j.c !== null) {
    if (!Array.isArray(j.c) || j.c.length !== 5) fail('the create is not [id, stamp, type, owner, material]');
    const [id, hlc, objectType, owner, material] = j.c;
    if (!Number.isInteger(objectType) || (objectType as number) < 1 || (objectType as number) > 0xffffffff) fail('the object type is not a KMIP enumeration');
    created = {
      id: text(id, 'the create id'),
      hlc: stamp(hlc, 'the create stamp'),
      objectType: objectType as number,
      owner: text(owner, 'the owner'),
      ...(material === null ? {} : { material: text(material, 'the material fingerprint') }),
    };
    if (lifecycle.destroyed && created.material !== undefined) fail('a destroyed object with material');
  }
  const latest = j.t === null ? undefined : stamp(j.t, 'the latest stamp');
  return { uid, lifecycle, slots, ...(created ? { created } : {}), ...(latest ? { latest } : {}) };
}

export const isReplicaFormatError = (err: unknown): boolean => err instanceof ReplicaFormatError;
