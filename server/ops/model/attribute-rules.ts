// Whether a client may add, change or delete an attribute of an object in its current state
// (KMIP 1.4 §3, per-attribute rules), and the date consistency every change must keep.
import { KmipError } from '../../errors.js';
import type { AttributeSpec } from '../../kmip/attributes.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum } from '../../kmip/tables.js';
import type { StoredObject } from '../../store/key-store.js';
import { State, STATE_NAMES } from './lifecycle.js';
import { numberAttr } from './object-model.js';

const denied = (message: string) => new KmipError(Enum.ResultReason.PermissionDenied, message);

/**
 * Whether a client may set the attribute now: `add` gives a value to an attribute the object lacks
 * (allowed for any client-settable attribute), `modify` changes an existing value (KMIP 1.4 §3,
 * "Modifiable by client").
 */
export function checkClientMayChange(spec: AttributeSpec, name: string, o: StoredObject, mode: 'add' | 'modify'): void {
  if (spec.setBy === 'server') {
    throw denied(`"${name}" is maintained by the server and cannot be set by a client`);
  }
  if (mode === 'modify' && spec.clientModify === 'never') {
    throw denied(`"${name}" cannot be changed once set`);
  }
  if (spec.clientModify === 'pre-active' && o.state !== State.PreActive) {
    throw denied(`"${name}" can only be changed while the object is Pre-Active; it is ${STATE_NAMES[o.state]}`);
  }
  if (spec.clientModify === 'pre-active-or-active' && o.state !== State.PreActive && o.state !== State.Active) {
    throw denied(`"${name}" can only be changed while the object is Pre-Active or Active; it is ${STATE_NAMES[o.state]}`);
  }
}

export function checkClientMayDelete(spec: AttributeSpec, name: string): void {
  if (!spec.clientDelete) throw denied(`"${name}" cannot be deleted`);
}

/**
 * NIST SP 800-57 ordering of the lifecycle dates: activation before deactivation. Protect Stop and
 * Process Start Dates bound two periods of their own (originator and recipient usage, SP 800-57
 * §5.3.5; KMIP 1.4 §3.26, §3.27), neither ordered against the other: a key may stop protecting
 * before it starts processing (OASIS CS-BC-M-14 registers one), and each call checks its own date.
 */
export function checkDates(o: StoredObject): void {
  const activation = numberAttr(o, 'Activation Date');
  const deactivation = numberAttr(o, 'Deactivation Date');
  if (activation !== undefined && deactivation !== undefined && deactivation < activation) {
    throw invalidField('Deactivation Date must not be earlier than Activation Date');
  }
}
