// Activate, Revoke, Destroy, Archive and Recover (KMIP 1.4 §4.19–§4.23) against a store in memory.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { enumeration, structure, textString, dateTime } from '../../../server/kmip/item.js';
import { Enum, Tag } from '../../../server/kmip/tables.js';
import { activate } from '../../../server/ops/operations/activate.js';
import { archive } from '../../../server/ops/operations/archive.js';
import { create } from '../../../server/ops/operations/create.js';
import { destroy } from '../../../server/ops/operations/destroy.js';
import { get } from '../../../server/ops/operations/get.js';
import { recover } from '../../../server/ops/operations/recover.js';
import { revoke } from '../../../server/ops/operations/revoke.js';
import { createAesPayload, field, harness, stored, uidPayload, type Harness } from './harness.js';

const RR = Enum.ResultReason;
const S = Enum.State;
const reason = (code: number, message?: string) =>
  structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, code), ...(message ? [textString(Tag.RevocationMessage, message)] : [])]);

let h: Harness;
let uid: string;
beforeEach(() => {
  h = harness();
  uid = field<string>(h.run(create, createAesPayload()), Tag.UniqueIdentifier)!;
});
afterEach(() => h.close());

test('Activate: Pre-Active → Active with Activation Date and Last Change Date; only once', () => {
  h.now += 60;
  assert.deepEqual(h.run(activate, uidPayload(uid)), [textString(Tag.UniqueIdentifier, uid)]);
  const o = h.load(uid);
  assert.equal(o.state, S.Active);
  assert.equal(stored(o, 'Activation Date')?.value, h.now);
  assert.equal(stored(o, 'Last Change Date')?.value, h.now);
  h.fails(activate, uidPayload(uid), RR.PermissionDenied, /only a Pre-Active object can be activated/);
});

test('Activate without a Unique Identifier uses the ID Placeholder, and without either names no object', () => {
  const ctx = h.ctx();
  ctx.placeholder.value = uid;
  h.run(activate, [], ctx);
  assert.equal(h.load(uid).state, S.Active);
  delete ctx.placeholder.value;
  h.fails(activate, [], RR.ItemNotFound, /names no object/, ctx);
});

test("Activate refuses another identity's object as if it did not exist", () => {
  h.fails(activate, uidPayload(uid), RR.ItemNotFound, /no object has Unique Identifier/, h.ctx({ identity: 'CN=mallory' }));
  assert.equal(h.load(uid).state, S.PreActive);
});

test('Revoke: cessation deactivates an Active key; a Pre-Active one is refused; compromise from any state', () => {
  h.fails(revoke, uidPayload(uid, [reason(Enum.RevocationReasonCode.CessationOfOperation)]), RR.PermissionDenied, /only an Active object/);
  h.run(activate, uidPayload(uid));
  h.now += 10;
  h.run(revoke, uidPayload(uid, [reason(Enum.RevocationReasonCode.CessationOfOperation, 'retired')]));
  let o = h.load(uid);
  assert.equal(o.state, S.Deactivated);
  assert.equal(stored(o, 'Deactivation Date')?.value, h.now);
  h.run(revoke, uidPayload(uid, [reason(Enum.RevocationReasonCode.KeyCompromise), dateTime(Tag.CompromiseOccurrenceDate, h.now - 5)]));
  o = h.load(uid);
  assert.equal(o.state, S.Compromised);
  assert.equal(stored(o, 'Compromise Occurrence Date')?.value, h.now - 5);
  h.fails(revoke, uidPayload(uid, [reason(Enum.RevocationReasonCode.KeyCompromise)]), RR.PermissionDenied, /already Compromised/);
});

test('Revoke: a Compromise Occurrence Date needs a compromise reason; a missing Revocation Reason is refused when parsed', () => {
  h.run(activate, uidPayload(uid));
  h.fails(revoke, uidPayload(uid, [reason(Enum.RevocationReasonCode.Superseded), dateTime(Tag.CompromiseOccurrenceDate, 1)]), RR.InvalidField);
  h.fails(revoke, uidPayload(uid), RR.InvalidMessage, /lacks the required Revocation Reason/);
  assert.equal(h.load(uid).state, S.Active);
});

test('Destroy: refused while Active; afterwards the material is gone and Get answers Item Not Found', () => {
  h.run(activate, uidPayload(uid));
  h.fails(destroy, uidPayload(uid), RR.PermissionDenied, /revoke it before destroying/);
  h.run(revoke, uidPayload(uid, [reason(Enum.RevocationReasonCode.CessationOfOperation)]));
  h.run(destroy, uidPayload(uid));
  const o = h.load(uid);
  assert.equal(o.state, S.Destroyed);
  assert.equal(o.hasMaterial, false);
  assert.equal(h.store.loadWithMaterial(uid)!.material, undefined);
  h.fails(get, uidPayload(uid), RR.ItemNotFound, /destroyed/);
  h.fails(destroy, uidPayload(uid), RR.PermissionDenied, /already destroyed/);
});

test('Destroy of a Pre-Active key, and of a compromised one (Destroyed Compromised)', () => {
  h.run(destroy, uidPayload(uid));
  assert.equal(h.load(uid).state, S.Destroyed);
  const other = field<string>(h.run(create, createAesPayload()), Tag.UniqueIdentifier)!;
  h.run(revoke, uidPayload(other, [reason(Enum.RevocationReasonCode.KeyCompromise)]));
  h.run(destroy, uidPayload(other));
  assert.equal(h.load(other).state, S.DestroyedCompromised);
});

test('Archive and Recover: Get answers Object Archived until recovered; twice is refused', () => {
  h.run(archive, uidPayload(uid));
  assert.ok(stored(h.load(uid), 'Archive Date'));
  h.fails(get, uidPayload(uid), RR.ObjectArchived);
  h.fails(archive, uidPayload(uid), RR.IllegalOperation, /already archived/);
  h.run(recover, uidPayload(uid));
  assert.equal(stored(h.load(uid), 'Archive Date'), undefined);
  h.fails(recover, uidPayload(uid), RR.IllegalOperation, /not archived/);
  h.run(destroy, uidPayload(uid));
  h.fails(archive, uidPayload(uid), RR.PermissionDenied, /destroyed/);
});

test('an unexpected field is refused when parsed, before anything is stored', () => {
  h.fails(activate, uidPayload(uid, [textString(Tag.AttributeName, 'x')]), RR.InvalidField, /unexpected Attribute Name/);
  assert.equal(h.load(uid).state, S.PreActive);
});
