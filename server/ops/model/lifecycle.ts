// The key lifecycle of KMIP 1.4 §3.22 (after NIST SP 800-57 Part 1 §7): states, the transitions
// between them, the dates each transition records, and which states forbid which use.
import { KmipError } from '../../errors.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { enumeration, textString, type Item } from '../../kmip/item.js';
import type { StoredObject } from '../../store/key-store.js';
import { attr, av, numberAttr, setAttr, setState } from './object-model.js';

export const State = Enum.State;

export const STATE_NAMES: Record<number, string> = {
  [State.PreActive]: 'Pre-Active',
  [State.Active]: 'Active',
  [State.Deactivated]: 'Deactivated',
  [State.Compromised]: 'Compromised',
  [State.Destroyed]: 'Destroyed',
  [State.DestroyedCompromised]: 'Destroyed Compromised',
};

const denied = (message: string) => new KmipError(Enum.ResultReason.PermissionDenied, message);

/** Objects that have a lifecycle (KMIP 1.4 §3.22 applies State to cryptographic objects). */
export function hasLifecycle(o: StoredObject): boolean {
  return o.objectType !== Enum.ObjectType.Template;
}

/**
 * KMIP 1.4 §3.24, §3.27: an object whose Activation Date has passed is Active, and one whose
 * Deactivation Date has passed is Deactivated. Applied whenever an object is read, so a client never
 * sees a state its dates contradict. Returns whether the object changed.
 */
export function applyScheduledTransitions(o: StoredObject, now: number): boolean {
  if (!hasLifecycle(o)) return false;
  let changed = false;
  const activation = numberAttr(o, 'Activation Date');
  if (o.state === State.PreActive && activation !== undefined && activation <= now) {
    setState(o, State.Active); // transition 1
    changed = true;
  }
  const deactivation = numberAttr(o, 'Deactivation Date');
  if (o.state === State.Active && deactivation !== undefined && deactivation <= now) {
    setState(o, State.Deactivated); // transition 5
    changed = true;
  }
  return changed;
}

/** KMIP 1.4 §4.19 Activate: Pre-Active → Active, Activation Date = now. */
export function activate(o: StoredObject, now: number): void {
  if (o.state !== State.PreActive) {
    throw denied(`object ${o.uid} is ${STATE_NAMES[o.state]}; only a Pre-Active object can be activated`);
  }
  setState(o, State.Active);
  setAttr(o, 'Activation Date', av.date(now));
}

export const isCompromiseReason = (code: number) =>
  code === Enum.RevocationReasonCode.KeyCompromise || code === Enum.RevocationReasonCode.CACompromise;

/**
 * KMIP 1.4 §4.20 Revoke. A compromise moves the object to Compromised (or Destroyed Compromised)
 * from any state and records the Compromise Date and Compromise Occurrence Date; any other reason
 * deactivates an Active object and records its Deactivation Date.
 */
export function revoke(o: StoredObject, now: number, reason: { code: number; message?: string }, occurrence?: number): void {
  const fields: Item[] = [enumeration(Tag.RevocationReasonCode, reason.code)];
  if (reason.message !== undefined) fields.push(textString(Tag.RevocationMessage, reason.message));
  const reasonValue = av.struct(fields);
  if (isCompromiseReason(reason.code)) {
    if (o.state === State.Compromised || o.state === State.DestroyedCompromised) {
      throw denied(`object ${o.uid} is already ${STATE_NAMES[o.state]}`);
    }
    // Transitions 3, 4, 7 and 9.
    setState(o, o.state === State.Destroyed ? State.DestroyedCompromised : State.Compromised);
    setAttr(o, 'Compromise Date', av.date(now));
    // KMIP 1.4 §4.20: absent an occurrence date, the Initial Date is the safe assumption.
    const initial = numberAttr(o, 'Initial Date') ?? now;
    setAttr(o, 'Compromise Occurrence Date', av.date(occurrence ?? initial));
  } else {
    if (o.state !== State.Active) {
      throw denied(
        `object ${o.uid} is ${STATE_NAMES[o.state]}; only an Active object can be revoked for a reason other than compromise`,
      );
    }
    if (occurrence !== undefined) {
      throw new KmipError(Enum.ResultReason.InvalidField, 'Compromise Occurrence Date is only allowed with a compromise reason');
    }
    setState(o, State.Deactivated); // transition 5
    setAttr(o, 'Deactivation Date', av.date(now));
  }
  setAttr(o, 'Revocation Reason', reasonValue);
}

/**
 * KMIP 1.4 §4.21 Destroy: allowed from Pre-Active, Deactivated and Compromised, never from Active
 * (an Active key may still protect data: revoke it first).
 */
export function destroy(o: StoredObject, now: number): void {
  if (hasLifecycle(o)) {
    if (o.state === State.Active) {
      throw denied(`object ${o.uid} is Active: revoke it before destroying it`);
    }
    if (o.state === State.Destroyed || o.state === State.DestroyedCompromised) {
      throw denied(`object ${o.uid} is already destroyed`);
    }
    setState(o, o.state === State.Compromised ? State.DestroyedCompromised : State.Destroyed); // transitions 2, 6, 8
  }
  setAttr(o, 'Destroy Date', av.date(now));
}

/** KMIP 1.4 §4.22: "archived" is the presence of the Archive Date (§3.32). */
export const isArchived = (o: StoredObject) => attr(o, 'Archive Date') !== undefined;

export const isDestroyed = (o: StoredObject) =>
  o.state === State.Destroyed || o.state === State.DestroyedCompromised || attr(o, 'Destroy Date') !== undefined;
