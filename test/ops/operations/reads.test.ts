// Get, Get Attributes, Get Attribute List, Locate, Check, Obtain Lease, Get Usage Allocation, Query
// and Discover Versions (KMIP 1.4 §4.9–§4.18, §4.25, §4.26) against a store in memory.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { boolean, enumeration, integer, interval, longInteger, structure, textString, type Item, type StructureItem } from '../../../server/kmip/item.js';
import { Enum, Mask, Tag } from '../../../server/kmip/tables.js';
import { firstUndefinedIn } from '../../../server/kmip/versions.js';
import { FailureWithPayload } from '../../../server/ops/pipeline/failure-with-payload.js';
import { activate } from '../../../server/ops/operations/activate.js';
import { addAttribute } from '../../../server/ops/operations/add-attribute.js';
import { archive } from '../../../server/ops/operations/archive.js';
import { check } from '../../../server/ops/operations/check.js';
import { create } from '../../../server/ops/operations/create.js';
import { destroy } from '../../../server/ops/operations/destroy.js';
import { discoverVersions } from '../../../server/ops/operations/discover-versions.js';
import { get } from '../../../server/ops/operations/get.js';
import { getAttributeList } from '../../../server/ops/operations/get-attribute-list.js';
import { getAttributes } from '../../../server/ops/operations/get-attributes.js';
import { getUsageAllocation } from '../../../server/ops/operations/get-usage-allocation.js';
import { locate } from '../../../server/ops/operations/locate.js';
import { obtainLease, DEFAULT_LEASE_SECONDS } from '../../../server/ops/operations/obtain-lease.js';
import { query } from '../../../server/ops/operations/query.js';
import { register } from '../../../server/ops/operations/register.js';
import { SUPPORTED } from '../../../server/ops/pipeline/supported-operations.js';
import { attribute, av, createAesPayload, field, harness, uidPayload, type Harness } from './harness.js';

const RR = Enum.ResultReason;
let h: Harness;
beforeEach(() => (h = harness()));
afterEach(() => h.close());
const newKey = (extra: StructureItem[] = []) => field<string>(h.run(create, createAesPayload(256, extra)), Tag.UniqueIdentifier)!;
const uids = (fields: Item[]) => fields.filter((f) => f.tag === Tag.UniqueIdentifier).map((f) => f.value);

test('Get: the key in its stored format, or Transparent Symmetric Key; compression and Sensitive refused', () => {
  const uid = newKey();
  const raw = h.run(get, uidPayload(uid));
  assert.equal(field(raw, Tag.ObjectType), Enum.ObjectType.SymmetricKey);
  const blockOf = (fields: Item[]) => ((fields[2] as StructureItem).value[0] as StructureItem);
  assert.equal(field(blockOf(raw).value, Tag.KeyFormatType), Enum.KeyFormatType.Raw);
  const transparent = h.run(get, uidPayload(uid, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.TransparentSymmetricKey)]));
  assert.equal(field(blockOf(transparent).value, Tag.KeyFormatType), Enum.KeyFormatType.TransparentSymmetricKey);
  h.fails(get, uidPayload(uid, [enumeration(Tag.KeyCompressionType, 1)]), RR.KeyCompressionTypeNotSupported);
  const sensitive = newKey([attribute('Sensitive', boolean(Tag.AttributeValue, true))]);
  h.fails(get, uidPayload(sensitive), RR.Sensitive, /returned only wrapped/);
  h.fails(get, uidPayload('no-such-object'), RR.ItemNotFound);
});

test("Get applies a reached Deactivation Date and writes it back; another identity's key is not found", () => {
  const uid = newKey([attribute('Activation Date', av.date(h.now)), attribute('Deactivation Date', av.date(h.now + 10))]);
  h.now += 20;
  h.run(get, uidPayload(uid));
  assert.equal(h.load(uid).state, Enum.State.Deactivated);
  h.fails(get, uidPayload(uid), RR.ItemNotFound, /no object/, h.ctx({ identity: 'CN=bob' }));
});

test("Get of a Template: only the attributes the client's version defines (KMIP 1.4 §2.1.1)", () => {
  const sha3 = structure(Tag.AttributeValue, [enumeration(Tag.HashingAlgorithm, Enum.HashingAlgorithm.SHA3256)]);
  const uid = field<string>(h.run(register, [
    enumeration(Tag.ObjectType, Enum.ObjectType.Template),
    structure(Tag.TemplateAttribute, []),
    structure(Tag.Template, [
      attribute('Name', av.name('sha3-template')),
      attribute('Cryptographic Length', av.int(256)),
      attribute('Cryptographic Parameters', sha3),
      attribute('Description', av.text('1.4 only')),
    ]),
  ]), Tag.UniqueIdentifier)!;
  const names = (minor: number) => {
    const out = h.run(get, uidPayload(uid), h.ctx({ minor }));
    assert.equal(firstUndefinedIn(structure(Tag.ResponsePayload, out), { major: 1, minor }), undefined, `encodable in 1.${minor}`);
    return (out[2] as StructureItem).value.map((a) => field<string>((a as StructureItem).value, Tag.AttributeName));
  };
  assert.deepEqual(names(4), ['Cryptographic Length', 'Cryptographic Parameters', 'Description']);
  assert.deepEqual(names(0), ['Cryptographic Length']);
});

test('Get Attributes: named ones in the order named, missing ones left out; a name twice is refused', () => {
  const uid = newKey();
  const out = h.run(getAttributes, uidPayload(uid, [textString(Tag.AttributeName, 'State'), textString(Tag.AttributeName, 'Comment'), textString(Tag.AttributeName, 'Cryptographic Length')]));
  const names = out.filter((f) => f.tag === Tag.Attribute).map((a) => field((a as StructureItem).value, Tag.AttributeName));
  assert.deepEqual(names, ['State', 'Cryptographic Length']);
  h.fails(getAttributes, uidPayload(uid, [textString(Tag.AttributeName, 'State'), textString(Tag.AttributeName, 'State')]), RR.InvalidMessage, /more than once/);
  const all = h.run(getAttributes, uidPayload(uid));
  assert.ok(all.filter((f) => f.tag === Tag.Attribute).length >= 8);
});

test('Get Attribute List: each name once; attributes newer than the client version are left out', () => {
  const uid = newKey();
  const names = (minor: number) => h.run(getAttributeList, uidPayload(uid), h.ctx({ minor })).filter((f) => f.tag === Tag.AttributeName).map((f) => f.value);
  const latest = names(4);
  assert.equal(new Set(latest).size, latest.length);
  assert.ok(latest.includes('Always Sensitive'));
  assert.ok(!names(0).includes('Always Sensitive'));
});

test('Locate: by Name and by algorithm, newest first; Maximum Items; destroyed and archived objects left out', () => {
  const a = newKey([attribute('Name', av.name('k'))]);
  const b = newKey([attribute('Name', av.name('k'))]);
  const c = newKey();
  const byName = [attribute('Name', av.name('k'))];
  assert.deepEqual(uids(h.run(locate, byName)), [b, a]);
  assert.deepEqual(uids(h.run(locate, [integer(Tag.MaximumItems, 1), ...byName])), [b]);
  assert.deepEqual(uids(h.run(locate, [attribute('Cryptographic Algorithm', av.enum(Enum.CryptographicAlgorithm.AES))])), [c, b, a]);
  h.run(destroy, uidPayload(b));
  h.run(archive, uidPayload(a));
  assert.deepEqual(uids(h.run(locate, byName)), []);
  assert.deepEqual(uids(h.run(locate, [integer(Tag.StorageStatusMask, Mask.StorageStatusMask.ArchivalStorage), ...byName])), [a]);
  assert.deepEqual(uids(h.run(locate, [attribute('State', av.enum(Enum.State.Destroyed))])), [b]);
  // Another identity finds none of them.
  assert.deepEqual(uids(h.run(locate, [], h.ctx({ identity: 'CN=bob' }))), []);
  h.fails(locate, [integer(Tag.MaximumItems, -1)], RR.InvalidField);
  h.fails(locate, [attribute('Name', av.name('x')), attribute('Name', av.name('y')), attribute('Name', av.name('z'))], RR.InvalidField, /given 3 times/);
});

test('Locate: a date range, Offset Items and Located Items (1.3+), the scan allowance', () => {
  const first = newKey();
  h.now += 100;
  const second = newKey();
  const range = [attribute('Initial Date', av.date(h.now - 10)), attribute('Initial Date', av.date(h.now + 10))];
  assert.deepEqual(uids(h.run(locate, range)), [second]);
  const out = h.run(locate, [integer(Tag.MaximumItems, 1), integer(Tag.OffsetItems, 1)]);
  assert.equal(field(out, Tag.LocatedItems), 2);
  assert.deepEqual(uids(out), [first]);
  const ctx = h.ctx();
  ctx.work.locateRows = 1;
  h.fails(locate, [], RR.ResponseTooLarge, /examined/, ctx);
});

test('Check: passes an Active key with enough usage; names the failing parameter otherwise', () => {
  const uid = newKey();
  // Lease Time is the server's to set (KMIP 1.4 §3.20); here as an administrator would.
  const o = h.load(uid);
  o.attributes.push({ name: 'Lease Time', index: 0, value: interval(Tag.AttributeValue, 60) });
  h.store.save(o);
  h.fails(check, uidPayload(uid), RR.PermissionDenied, /not Active/);
  h.run(activate, uidPayload(uid));
  assert.deepEqual(h.run(check, uidPayload(uid, [integer(Tag.CryptographicUsageMask, 4)])), [textString(Tag.UniqueIdentifier, uid)]);
  const failure = h.fails(check, uidPayload(uid, [integer(Tag.CryptographicUsageMask, 1)]), RR.PermissionDenied);
  assert.ok(failure instanceof FailureWithPayload);
  assert.deepEqual(failure.payload[1], integer(Tag.CryptographicUsageMask, 1));
  const lease = h.fails(check, uidPayload(uid, [interval(Tag.LeaseTime, 120)]), RR.PermissionDenied, /at most 60 s/);
  assert.deepEqual((lease as FailureWithPayload).payload[1], interval(Tag.LeaseTime, 120));
});

test('Obtain Lease: only on Active objects, the default lease without a Lease Time', () => {
  const uid = newKey();
  h.fails(obtainLease, uidPayload(uid), RR.PermissionDenied, /Active objects only/);
  h.run(activate, uidPayload(uid));
  const out = h.run(obtainLease, uidPayload(uid));
  assert.equal(field(out, Tag.LeaseTime), DEFAULT_LEASE_SECONDS);
  assert.equal(field(out, Tag.LastChangeDate), h.now);
});

test('Get Usage Allocation: uses are taken from the Usage Limits Count until none remain', () => {
  const limits = structure(Tag.AttributeValue, [longInteger(Tag.UsageLimitsTotal, 10n), enumeration(Tag.UsageLimitsUnit, Enum.UsageLimitsUnit.Object)]);
  const uid = newKey([attribute('Usage Limits', limits)]);
  h.run(activate, uidPayload(uid));
  h.run(getUsageAllocation, uidPayload(uid, [longInteger(Tag.UsageLimitsCount, 7n)]));
  h.fails(getUsageAllocation, uidPayload(uid, [longInteger(Tag.UsageLimitsCount, 4n)]), RR.PermissionDenied, /3 remain/);
  h.fails(getUsageAllocation, uidPayload(uid, [longInteger(Tag.UsageLimitsCount, 0n)]), RR.InvalidField);
  h.fails(check, uidPayload(uid, [longInteger(Tag.UsageLimitsCount, 4n)]), RR.PermissionDenied, /only 3 uses left/);
});

test('Query: the operations of the client version, the object types, server information', () => {
  const q = (minor: number, ...functions: number[]) => h.run(query, functions.map((f) => enumeration(Tag.QueryFunction, f)), h.ctx({ minor }));
  const ops = q(0, Enum.QueryFunction.QueryOperations).map((f) => f.value);
  assert.deepEqual(ops, SUPPORTED.filter((o) => o.minor === 0).map((o) => o.code));
  assert.equal(q(4, Enum.QueryFunction.QueryOperations).length, SUPPORTED.length);
  assert.ok(q(4, Enum.QueryFunction.QueryObjects).every((f) => f.tag === Tag.ObjectType));
  const info = q(4, Enum.QueryFunction.QueryServerInformation);
  assert.equal(field(info, Tag.VendorIdentification), 'Keyhaven');
  assert.deepEqual(q(0, Enum.QueryFunction.QueryExtensionList), []);
  assert.equal(q(1, Enum.QueryFunction.QueryExtensionMap).length, 1);
});

test('Discover Versions: the common versions in the client order; all, highest first, when none offered', () => {
  const version = (major: number, minor: number) => structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, major), integer(Tag.ProtocolVersionMinor, minor)]);
  const minors = (fields: Item[]) => fields.map((v) => field((v as StructureItem).value, Tag.ProtocolVersionMinor));
  assert.deepEqual(minors(h.run(discoverVersions, [version(1, 2), version(2, 0), version(1, 0)])), [2, 0]);
  assert.deepEqual(minors(h.run(discoverVersions, [])), [4, 3, 2, 1, 0]);
});

test('Add Attribute then Locate by a custom attribute uses the index', () => {
  const uid = newKey();
  h.run(addAttribute, uidPayload(uid, [attribute('x-owner', av.text('team-a'))]));
  assert.deepEqual(uids(h.run(locate, [attribute('x-owner', av.text('team-a'))])), [uid]);
});
