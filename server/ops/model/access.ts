// Finding the object an operation names, and refusing it to anyone but its owner.
import { KmipError } from '../../errors.js';
import type { StructReader } from '../../kmip/reader.js';
import { Enum, Tag } from '../../kmip/tables.js';
import type { StoredObject } from '../../store/key-store.js';
import type { OpContext } from '../pipeline/context.js';
import type { ParseContext } from '../pipeline/operation.js';
import { applyScheduledTransitions } from './lifecycle.js';

/**
 * The Unique Identifier of a request payload, or the batch's ID Placeholder when it is omitted
 * (KMIP 1.4 §2.1.3 and each operation's "Unique Identifier ... If omitted, then the ID Placeholder
 * value is used").
 */
export function targetUid(p: StructReader, ctx: ParseContext): string {
  const uid = p.optionalText(Tag.UniqueIdentifier) ?? ctx.placeholder.value;
  if (uid === undefined) {
    throw new KmipError(
      Enum.ResultReason.ItemNotFound,
      `${p.where} names no object: it has no Unique Identifier and no earlier batch item produced one`,
    );
  }
  return uid;
}

/** The request of an operation whose payload is only the object it acts on. */
export interface TargetRequest {
  uid: string;
}

/** Parses a payload holding only a Unique Identifier (or none: the ID Placeholder). */
export function parseTarget(p: StructReader, ctx: ParseContext): TargetRequest {
  const uid = targetUid(p, ctx);
  p.done();
  return { uid };
}

/**
 * The answer for an object the caller cannot see: missing and not-the-caller's read the same;
 * `auditReason` tells the audit record which it was.
 */
export function noSuchObject(uid: string, what = 'object', auditReason?: string): KmipError {
  return new KmipError(Enum.ResultReason.ItemNotFound, `no ${what} has Unique Identifier ${uid}`, auditReason === undefined ? {} : { auditReason });
}

/** Loads an object the caller owns, with its date-driven state changes applied. */
export function ownedObject(ctx: OpContext, uid: string): StoredObject {
  return owned(ctx, uid, ctx.store.load(uid));
}

/** ownedObject, with the object's unwrapped material (undefined once destroyed), in one read. */
export function ownedObjectWithMaterial(ctx: OpContext, uid: string): { object: StoredObject; material: Buffer | undefined } {
  const found = ctx.store.loadWithMaterial(uid);
  return { object: owned(ctx, uid, found?.object), material: found?.material };
}

function owned(ctx: OpContext, uid: string, o: StoredObject | undefined): StoredObject {
  if (!o) throw noSuchObject(uid);
  // Recorded before the owner check, so a refusal's audit record names the object asked for.
  ctx.objectIds.push(uid);
  checkOwner(ctx, o);
  // KMIP 1.4 §3.24, §3.27: a date reached since the last write takes effect (and is stored) now.
  if (applyScheduledTransitions(o, ctx.now)) ctx.store.save(o);
  return o;
}

/**
 * Another identity's object is answered exactly as a missing one (Item Not Found, same message), so
 * identifiers cannot be probed for existence; only the audit record says it was a refusal.
 */
export function checkOwner(ctx: OpContext, o: StoredObject, what = 'object'): void {
  if (o.owner !== ctx.identity) {
    throw noSuchObject(o.uid, what, 'Permission Denied: the object belongs to another client identity');
  }
}

export function setPlaceholder(ctx: OpContext, uid: string): void {
  ctx.placeholder.value = uid;
}
