// Add, Modify and Delete Attribute (KMIP 1.4 §4.14–§4.16) against a store in memory.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { boolean, enumeration, integer, structure, textString } from '../../../server/kmip/item.js';
import { Enum, Tag } from '../../../server/kmip/tables.js';
import { activate } from '../../../server/ops/operations/activate.js';
import { addAttribute } from '../../../server/ops/operations/add-attribute.js';
import { create } from '../../../server/ops/operations/create.js';
import { deleteAttribute } from '../../../server/ops/operations/delete-attribute.js';
import { modifyAttribute } from '../../../server/ops/operations/modify-attribute.js';
import { getAttributes } from '../../../server/ops/operations/get-attributes.js';
import type { Item } from '../../../server/kmip/item.js';
import { attribute, av, createAesPayload, field, harness, stored, uidPayload, type Harness } from './harness.js';

const RR = Enum.ResultReason;
let h: Harness;
let uid: string;
beforeEach(() => {
  h = harness();
  uid = field<string>(h.run(create, createAesPayload()), Tag.UniqueIdentifier)!;
});
afterEach(() => h.close());

const names = () => h.load(uid).attributes.filter((a) => a.name === 'x-note').map((a) => [a.index, a.value.value]);

test('Add Attribute: instances of a multi-instance attribute take the next index; the response echoes it', () => {
  h.now += 5;
  const out = h.run(addAttribute, uidPayload(uid, [attribute('x-note', av.text('one'))]));
  assert.equal(field(out, Tag.UniqueIdentifier), uid);
  h.run(addAttribute, uidPayload(uid, [attribute('x-note', av.text('two'))]));
  assert.deepEqual(names(), [[0, 'one'], [1, 'two']]);
  assert.equal(stored(h.load(uid), 'Last Change Date')?.value, h.now);
});

test('Add Attribute refusals: an index from the client, a second single instance, a server attribute', () => {
  h.fails(addAttribute, uidPayload(uid, [attribute('x-note', av.text('a'), 3)]), RR.InvalidField, /assigns the Attribute Index itself/);
  h.fails(addAttribute, uidPayload(uid, [attribute('Cryptographic Usage Mask', av.int(4))]), RR.IllegalOperation, /already exists/);
  h.fails(addAttribute, uidPayload(uid, [attribute('State', av.enum(Enum.State.Active))]), RR.PermissionDenied, /maintained by the server/);
  h.fails(addAttribute, uidPayload(uid, [attribute('Contact Information', av.int(1))]), RR.InvalidField);
});

test('Add Attribute of a reached Activation Date activates the object at once (KMIP 1.4 §3.24)', () => {
  h.run(addAttribute, uidPayload(uid, [attribute('Activation Date', av.date(h.now))]));
  assert.equal(h.load(uid).state, Enum.State.Active);
});

test('Modify Attribute: changes one instance; dates keep their order; Sensitive cannot go back', () => {
  h.run(addAttribute, uidPayload(uid, [attribute('x-note', av.text('one'))]));
  h.run(addAttribute, uidPayload(uid, [attribute('x-note', av.text('two'))]));
  h.run(modifyAttribute, uidPayload(uid, [attribute('x-note', av.text('TWO'), 1)]));
  assert.deepEqual(names(), [[0, 'one'], [1, 'TWO']]);
  h.fails(modifyAttribute, uidPayload(uid, [attribute('x-note', av.text('?'), 7)]), RR.ItemNotFound, /Attribute Index 7/);
  h.run(addAttribute, uidPayload(uid, [attribute('Activation Date', av.date(h.now + 50))]));
  h.run(addAttribute, uidPayload(uid, [attribute('Deactivation Date', av.date(h.now + 100))]));
  h.fails(modifyAttribute, uidPayload(uid, [attribute('Deactivation Date', av.date(h.now + 10))]), RR.InvalidField, /Deactivation Date must not be earlier/);
  h.run(addAttribute, uidPayload(uid, [attribute('Sensitive', boolean(Tag.AttributeValue, true))]));
  h.fails(modifyAttribute, uidPayload(uid, [attribute('Sensitive', boolean(Tag.AttributeValue, false))]), RR.PermissionDenied, /Sensitive cannot be set back/);
});

test('Modify Attribute: a fixed attribute and a date of an Active object are refused', () => {
  h.fails(modifyAttribute, uidPayload(uid, [attribute('Cryptographic Usage Mask', av.int(4))]), RR.PermissionDenied, /cannot be changed once set/);
  h.run(addAttribute, uidPayload(uid, [attribute('Activation Date', av.date(h.now + 50))]));
  h.run(activate, uidPayload(uid));
  h.fails(modifyAttribute, uidPayload(uid, [attribute('Activation Date', av.date(h.now + 60))]), RR.PermissionDenied);
});

test('Delete Attribute: one instance by index (0 by default); the indices of the others stay', () => {
  h.run(addAttribute, uidPayload(uid, [attribute('x-note', av.text('one'))]));
  h.run(addAttribute, uidPayload(uid, [attribute('x-note', av.text('two'))]));
  h.run(deleteAttribute, uidPayload(uid, [textString(Tag.AttributeName, 'x-note')]));
  assert.deepEqual(names(), [[1, 'two']]);
  h.fails(deleteAttribute, uidPayload(uid, [textString(Tag.AttributeName, 'x-note'), integer(Tag.AttributeIndex, 0)]), RR.ItemNotFound);
  h.fails(deleteAttribute, uidPayload(uid, [textString(Tag.AttributeName, 'Cryptographic Algorithm')]), RR.PermissionDenied, /cannot be deleted/);
  h.fails(deleteAttribute, uidPayload(uid, [structure(Tag.Attribute, [])]), RR.InvalidMessage);
});

test('a custom value holding tags a version lacks: refused when that version would echo it, hidden from it otherwise (fuzz-found)', () => {
  // KMIP 1.1 added Device Identifier; a 1.0 response cannot carry it (found by test/fuzz, seed 923343693).
  const value = structure(Tag.AttributeValue, [integer(Tag.ActivationDate, 0), structure(Tag.DeviceIdentifier, [])]);
  const v10 = h.ctx({ minor: 0 });
  h.fails(addAttribute, uidPayload(uid, [attribute('x-fuzz', value)]), RR.InvalidField, /not defined in KMIP 1\.0/, v10);
  h.fails(modifyAttribute, uidPayload(uid, [attribute('x-note', value, 0)]), RR.InvalidField, /not defined in KMIP 1\.0/, h.ctx({ minor: 0 }));
  h.run(addAttribute, uidPayload(uid, [attribute('x-fuzz', value)]), h.ctx({ minor: 4 }));
  const listed = (minor: number) => h.run(getAttributes, uidPayload(uid, []), h.ctx({ minor })).filter((i) => i.tag === Tag.Attribute).map((i) => field<string>((i as { value: Item[] }).value, Tag.AttributeName));
  assert.ok(listed(4).includes('x-fuzz'), 'a 1.4 client sees it');
  assert.ok(!listed(0).includes('x-fuzz'), 'a 1.0 client does not, and its response still encodes');
});

test('a standard attribute with an enumeration value a version lacks: refused when that version would echo it, nothing stored', () => {
  // SHA3-256 (0x0F) is a KMIP 1.4 Hashing Algorithm; a 1.0 Add Attribute response echoing it could
  // not be encoded (KMIP 1.4 §9.1.3.2.16), and the General Failure left the attribute stored.
  const params = structure(Tag.AttributeValue, [enumeration(Tag.HashingAlgorithm, Enum.HashingAlgorithm.SHA3256)]);
  const count = () => h.load(uid).attributes.filter((a) => a.name === 'Cryptographic Parameters').length;
  const before = count();
  h.fails(addAttribute, uidPayload(uid, [attribute('Cryptographic Parameters', params)]), RR.InvalidField, /HashingAlgorithm value 0xf is not defined in KMIP 1\.0/, h.ctx({ minor: 0 }));
  h.run(addAttribute, uidPayload(uid, [attribute('Cryptographic Parameters', params)]), h.ctx({ minor: 4 }));
  assert.equal(count(), before + 1, 'a 1.4 client may add it');
  h.fails(modifyAttribute, uidPayload(uid, [attribute('Cryptographic Parameters', params, before)]), RR.InvalidField, /not defined in KMIP 1\.3/, h.ctx({ minor: 3 }));
  // Delete Attribute echoes the value too: a 1.0 client is refused, and the instance stays (review-found).
  const del = [textString(Tag.AttributeName, 'Cryptographic Parameters'), integer(Tag.AttributeIndex, before)];
  h.fails(deleteAttribute, uidPayload(uid, del), RR.InvalidField, /not defined in KMIP 1\.0: delete it in a version that defines it/, h.ctx({ minor: 0 }));
  assert.equal(count(), before + 1, 'nothing deleted');
  h.run(deleteAttribute, uidPayload(uid, del), h.ctx({ minor: 4 }));
  assert.equal(count(), before);
});

test('a standard structure holding a field tag a version lacks is hidden from that version, not a General Failure', () => {
  // Random IV (0x4200C5) is a KMIP 1.2 field of Cryptographic Parameters (review-found: only enumeration
  // fields were checked, so a 1.0 or 1.1 Get Attributes response could not be encoded).
  const params = structure(Tag.AttributeValue, [boolean(Tag.RandomIV, true)]);
  h.run(addAttribute, uidPayload(uid, [attribute('Cryptographic Parameters', params)]), h.ctx({ minor: 4 }));
  const listed = (minor: number) => h.run(getAttributes, uidPayload(uid, []), h.ctx({ minor })).filter((i) => i.tag === Tag.Attribute).map((i) => field<string>((i as { value: Item[] }).value, Tag.AttributeName));
  assert.ok(listed(2).includes('Cryptographic Parameters'), 'a 1.2 client sees it');
  for (const minor of [0, 1]) assert.ok(!listed(minor).includes('Cryptographic Parameters'), `a 1.${minor} client does not, and its response encodes`);
});
