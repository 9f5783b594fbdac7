// KMIP operations end to end over real TLS: lifecycle rules, protocol versions, batches, limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteString, child, enumeration, integer, structure, textString, type StructureItem } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { decode } from '../../server/kmip/decode.js';
import { firstUndefinedIn } from '../../server/kmip/versions.js';
import { attribute, av, createAes, field, parseResponse, request, withUid, type BatchItemSpec } from '../support/requests.js';
import { serverForSuite } from '../support/server.js';

const Op = Enum.Operation;
const RR = Enum.ResultReason;
const suite = serverForSuite();

async function call(items: BatchItemSpec[], opts: Parameters<typeof request>[1] = {}) {
  return parseResponse(await suite.c.send(request(items, opts)));
}
async function one(item: BatchItemSpec, minor = 4) {
  const r = await call([item], { minor });
  assert.equal(r.items.length, 1);
  return r.items[0]!;
}
async function createKey(extra: StructureItem[] = [], minor = 4): Promise<string> {
  const r = await one(createAes(256, extra), minor);
  assert.equal(r.status, Enum.ResultStatus.Success, r.message);
  return field<string>(r.payload, Tag.UniqueIdentifier)!;
}
const revokeItem = (uid: string, code: number) =>
  withUid(Op.Revoke, uid, [structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, code)])]);
const attrValue = (payload: StructureItem | undefined, name: string) => {
  const a = payload?.value.find((x) => x.tag === Tag.Attribute && (x as StructureItem).value.some((y) => y.value === name));
  return a ? child(a as StructureItem, Tag.AttributeValue) : undefined;
};

test('lifecycle: Pre-Active → Active → Compromised → Destroyed Compromised, with dates and refusals', async () => {
  const uid = await createKey();
  const state = async () => attrValue((await one(withUid(Op.GetAttributes, uid, [textString(Tag.AttributeName, 'State')]))).payload, 'State')?.value;
  assert.equal(await state(), Enum.State.PreActive);
  // Destroying or revoking-for-cessation an object that was never used: the latter is refused.
  assert.equal((await one(revokeItem(uid, Enum.RevocationReasonCode.CessationOfOperation))).reason, RR.PermissionDenied);
  assert.equal((await one(withUid(Op.Activate, uid))).status, Enum.ResultStatus.Success);
  assert.equal(await state(), Enum.State.Active);
  // Activating twice and destroying an Active key are refused.
  assert.equal((await one(withUid(Op.Activate, uid))).reason, RR.PermissionDenied);
  const d = await one(withUid(Op.Destroy, uid));
  assert.equal(d.reason, RR.PermissionDenied);
  assert.match(d.message!, /revoke it before destroying/);
  // The Activation Date may not be changed once Active (KMIP 1.4 §3.24).
  const mod = await one(withUid(Op.ModifyAttribute, uid, [attribute('Activation Date', av.date(1))]));
  assert.equal(mod.reason, RR.PermissionDenied);
  assert.equal((await one(revokeItem(uid, Enum.RevocationReasonCode.KeyCompromise))).status, Enum.ResultStatus.Success);
  assert.equal(await state(), Enum.State.Compromised);
  const dates = await one(withUid(Op.GetAttributes, uid, [textString(Tag.AttributeName, 'Compromise Date'), textString(Tag.AttributeName, 'Compromise Occurrence Date'), textString(Tag.AttributeName, 'Activation Date')]));
  assert.ok(attrValue(dates.payload, 'Compromise Date'));
  assert.ok(attrValue(dates.payload, 'Compromise Occurrence Date'));
  // A compromised key can still be fetched (to decrypt old data), then destroyed.
  assert.equal((await one(withUid(Op.Get, uid))).status, Enum.ResultStatus.Success);
  assert.equal((await one(withUid(Op.Destroy, uid))).status, Enum.ResultStatus.Success);
  assert.equal(await state(), Enum.State.DestroyedCompromised);
  const gone = await one(withUid(Op.Get, uid));
  assert.equal(gone.reason, RR.ItemNotFound);
  assert.match(gone.message!, /destroyed/);
});

test('an Activation Date in the past makes a new key Active; a Deactivation Date reached makes it Deactivated', async () => {
  const now = Math.floor(Date.now() / 1000);
  // A window wide enough that a loaded machine still sees the key Active before it is reached.
  const uid = await createKey([attribute('Activation Date', av.date(now - 10)), attribute('Deactivation Date', av.date(now + 6))]);
  const state = async () => attrValue((await one(withUid(Op.GetAttributes, uid, [textString(Tag.AttributeName, 'State')]))).payload, 'State')?.value;
  assert.equal(await state(), Enum.State.Active);
  await new Promise((r) => setTimeout(r, Math.max(0, (now + 7) * 1000 - Date.now())));
  assert.equal(await state(), Enum.State.Deactivated);
  // Deactivation before activation is refused.
  const bad = await one(createAes(128, [attribute('Activation Date', av.date(now + 100)), attribute('Deactivation Date', av.date(now + 50))]));
  assert.equal(bad.reason, RR.InvalidField);
});

test('KMIP 1.0 responses carry only what 1.0 defines', async () => {
  const uid = await createKey([], 0);
  const all = await one(withUid(Op.GetAttributes, uid), 0);
  const names = all.payload!.value.filter((x) => x.tag === Tag.Attribute).map((a) => child(a as StructureItem, Tag.AttributeName)!.value);
  assert.ok(names.includes('Digest') && names.includes('State'));
  assert.ok(!names.includes('Original Creation Date'), 'Original Creation Date is KMIP 1.2');
  const digest = attrValue(all.payload, 'Digest') as StructureItem;
  assert.equal(child(digest, Tag.KeyFormatType), undefined, 'Digest has no Key Format Type before 1.1');
  const v12 = await one(withUid(Op.GetAttributes, uid), 2);
  assert.ok(v12.payload!.value.some((a) => a.tag === Tag.Attribute && child(a as StructureItem, Tag.AttributeName)!.value === 'Original Creation Date'));
  // Discover Versions does not exist in 1.0; Query in 1.0 does not list it.
  assert.equal((await one({ operation: Op.DiscoverVersions, payload: [] }, 0)).reason, RR.OperationNotSupported);
  const q = await one({ operation: Op.Query, payload: [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)] }, 0);
  const ops = q.payload!.value.map((x) => x.value);
  assert.ok(ops.includes(Op.Get) && !ops.includes(Op.DiscoverVersions));
  // The whole raw response passes the version check, for every version.
  for (const minor of [0, 1, 2, 3, 4]) {
    const raw = await suite.c.send(request([withUid(Op.GetAttributes, uid)], { minor }));
    assert.equal(firstUndefinedIn(decode(raw), { major: 1, minor }), undefined);
    assert.equal(parseResponse(raw).minor, minor);
  }
});

test('Discover Versions answers the common versions in the client order', async () => {
  const pv = (minor: number) => structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, 1), integer(Tag.ProtocolVersionMinor, minor)]);
  const all = await one({ operation: Op.DiscoverVersions, payload: [] });
  assert.equal(all.payload!.value.length, 5);
  const some = await one({ operation: Op.DiscoverVersions, payload: [pv(1), pv(9), pv(3)] });
  assert.deepEqual(some.payload!.value.map((v) => (child(v as StructureItem, Tag.ProtocolVersionMinor)!.value)), [1, 3]);
});

test('batches: ID Placeholder, Unique Batch Item IDs, Stop, Continue and Undo', async () => {
  const id = (n: number) => Buffer.from([n]);
  // Create then Activate and Get with the placeholder.
  const r = await call([{ ...createAes(128), id: id(1) }, { ...withUid(Op.Activate), id: id(2) }, { ...withUid(Op.Get), id: id(3) }]);
  assert.deepEqual(r.items.map((i) => i.id![0]), [1, 2, 3]);
  assert.ok(r.items.every((i) => i.status === Enum.ResultStatus.Success));
  const uid = field<string>(r.items[0]!.payload, Tag.UniqueIdentifier)!;
  assert.equal(field<string>(r.items[2]!.payload, Tag.UniqueIdentifier), uid);

  const failing = withUid(Op.Get, 'no-such-object');
  // Stop (default): the batch ends at the failing item.
  const stop = await call([createAes(128), failing, createAes(128)]);
  assert.deepEqual(stop.items.map((i) => i.status), [0, 1]);
  // Continue: every item runs.
  const cont = await call([createAes(128), failing, createAes(128)], {
    header: [enumeration(Tag.BatchErrorContinuationOption, Enum.BatchErrorContinuationOption.Continue)],
  });
  assert.deepEqual(cont.items.map((i) => i.status), [0, 1, 0]);
  // Undo: the earlier items are rolled back and reported Operation Undone.
  const undo = await call([createAes(128, [attribute('Name', av.name('undo-me'))]), failing], {
    header: [enumeration(Tag.BatchErrorContinuationOption, Enum.BatchErrorContinuationOption.Undo)],
  });
  assert.deepEqual(undo.items.map((i) => i.status), [Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationFailed]);
  const located = await one({ operation: Op.Locate, payload: [attribute('Name', av.name('undo-me'))] });
  assert.equal(field(located.payload, Tag.UniqueIdentifier), undefined, 'the undone Create left nothing behind');
});

test('Maximum Response Size turns an over-long answer into Response Too Large', async () => {
  const r = await call([{ operation: Op.Query, payload: [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)] }], {
    header: [integer(Tag.MaximumResponseSize, 64)],
  });
  assert.equal(r.items[0]!.reason, RR.ResponseTooLarge);
  assert.equal(r.items[0]!.payload, undefined);
});

test('custom x- attributes: add, modify, delete in one batch, Locate finds them, y- is refused', async () => {
  const uid = await createKey();
  const r = await call([
    withUid(Op.AddAttribute, uid, [attribute('x-Vendor', av.text('VMware'))]),
    withUid(Op.AddAttribute, uid, [attribute('x-Product', av.text('vCenter'))]),
    withUid(Op.ModifyAttribute, uid, [attribute('x-Product', av.text('vSAN'))]),
    withUid(Op.DeleteAttribute, uid, [textString(Tag.AttributeName, 'x-Vendor')]),
  ]);
  assert.ok(r.items.every((i) => i.status === Enum.ResultStatus.Success), JSON.stringify(r.items.map((i) => i.message)));
  const loc = await one({ operation: Op.Locate, payload: [attribute('x-Product', av.text('vSAN'))] });
  assert.equal(field(loc.payload, Tag.UniqueIdentifier), uid);
  assert.equal(field((await one({ operation: Op.Locate, payload: [attribute('x-Vendor', av.text('VMware'))] })).payload, Tag.UniqueIdentifier), undefined);
  assert.equal((await one(withUid(Op.AddAttribute, uid, [attribute('y-server', av.text('x'))]))).reason, RR.PermissionDenied);
  assert.equal((await one(withUid(Op.AddAttribute, uid, [attribute('Unique Identifier', av.text('x'))]))).reason, RR.PermissionDenied);
  assert.equal((await one(withUid(Op.AddAttribute, uid, [attribute('Bogus Attribute', av.text('x'))]))).reason, RR.InvalidField);
});

test('Locate by object type, state, algorithm and name, with Maximum Items, newest first', async () => {
  const tag = `loc-${Date.now()}`;
  const uids: string[] = [];
  for (let i = 0; i < 3; i++) uids.push(await createKey([attribute('Name', av.name(`${tag}-${i}`)), attribute('Object Group', av.text(tag))]));
  await one(withUid(Op.Activate, uids[1]));
  const group = attribute('Object Group', av.text(tag));
  const all = await one({ operation: Op.Locate, payload: [group] });
  assert.deepEqual(all.payload!.value.map((x) => x.value), [...uids].reverse());
  const active = await one({ operation: Op.Locate, payload: [group, attribute('State', av.enum(Enum.State.Active))] });
  assert.deepEqual(active.payload!.value.map((x) => x.value), [uids[1]]);
  const max = await one({ operation: Op.Locate, payload: [integer(Tag.MaximumItems, 2), group, attribute('Cryptographic Algorithm', av.enum(Enum.CryptographicAlgorithm.AES))] });
  assert.equal(max.payload!.value.filter((x) => x.tag === Tag.UniqueIdentifier).length, 2);
  const byName = await one({ operation: Op.Locate, payload: [attribute('Object Type', av.enum(Enum.ObjectType.SymmetricKey)), attribute('Name', av.name(`${tag}-2`))] });
  assert.deepEqual(byName.payload!.value.map((x) => x.value), [uids[2]]);
});

test('digests follow the registered format (KMIP 1.4 §3.17) and Get converts Raw ↔ Transparent', async () => {
  const key = Buffer.from('0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff', 'hex');
  const register = (material: StructureItem | ReturnType<typeof byteString>, format: number) =>
    one({
      operation: Op.Register,
      payload: [
        enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
        structure(Tag.TemplateAttribute, [attribute('Cryptographic Usage Mask', av.int(12))]),
        structure(Tag.SymmetricKey, [
          structure(Tag.KeyBlock, [
            enumeration(Tag.KeyFormatType, format),
            structure(Tag.KeyValue, [material]),
            enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
            integer(Tag.CryptographicLength, 256),
          ]),
        ]),
      ],
    });
  const raw = await register(byteString(Tag.KeyMaterial, key), Enum.KeyFormatType.Raw);
  const transparent = await register(structure(Tag.KeyMaterial, [byteString(Tag.Key, key)]), Enum.KeyFormatType.TransparentSymmetricKey);
  const digest = async (r: typeof raw) =>
    (child(attrValue((await one(withUid(Op.GetAttributes, field(r.payload, Tag.UniqueIdentifier), [textString(Tag.AttributeName, 'Digest')]))).payload, 'Digest') as StructureItem, Tag.DigestValue)!.value as Buffer).toString('hex');
  // The values the OASIS test case TC-181 lists for this key.
  assert.equal(await digest(raw), '6c064fe051add11edc07727b594eb48711df843e08445bba2cd786bc16bc58e8');
  assert.equal(await digest(transparent), '499ce96ff6f5e19fe9fe7a2fe4c3e92b88db0001a4e8df28d9966856b6c4b87c');
  const asTransparent = await one(withUid(Op.Get, field(raw.payload, Tag.UniqueIdentifier), [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.TransparentSymmetricKey)]));
  const block = child(child(asTransparent.payload!, Tag.SymmetricKey) as StructureItem, Tag.KeyBlock) as StructureItem;
  const km = child(child(block, Tag.KeyValue) as StructureItem, Tag.KeyMaterial) as StructureItem;
  assert.deepEqual(child(km, Tag.Key)!.value, key);
  // A key whose length contradicts its material is refused.
  const short = await register(byteString(Tag.KeyMaterial, key.subarray(0, 16)), Enum.KeyFormatType.Raw);
  assert.equal(short.reason, RR.InvalidField);
});

test('Get with a Key Wrapping Specification gives the RFC 3394 §4.1 AES Key Wrap result', async () => {
  const reg = async (keyHex: string, usage: number) =>
    field<string>((await one({
      operation: Op.Register,
      payload: [
        enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
        structure(Tag.TemplateAttribute, [attribute('Cryptographic Usage Mask', av.int(usage)), attribute('Activation Date', av.date(1))]),
        structure(Tag.SymmetricKey, [structure(Tag.KeyBlock, [
          enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
          structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, Buffer.from(keyHex, 'hex'))]),
          enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
          integer(Tag.CryptographicLength, keyHex.length * 4),
        ])]),
      ],
    })).payload, Tag.UniqueIdentifier)!;
  const kek = await reg('000102030405060708090a0b0c0d0e0f', 16 /* Wrap Key */);
  const key = await reg('00112233445566778899aabbccddeeff', 12);
  const spec = (wrapper: string) => structure(Tag.KeyWrappingSpecification, [
    enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
    structure(Tag.EncryptionKeyInformation, [textString(Tag.UniqueIdentifier, wrapper)]),
    enumeration(Tag.EncodingOption, Enum.EncodingOption.NoEncoding),
  ]);
  const r = await one(withUid(Op.Get, key, [spec(kek)]));
  assert.equal(r.status, Enum.ResultStatus.Success, r.message);
  const block = child(child(r.payload!, Tag.SymmetricKey) as StructureItem, Tag.KeyBlock) as StructureItem;
  assert.equal((child(block, Tag.KeyValue)!.value as Buffer).toString('hex'), '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
  assert.ok(child(block, Tag.KeyWrappingData));
  // A key without the Wrap Key usage may not wrap.
  assert.equal((await one(withUid(Op.Get, kek, [spec(key)]))).reason, RR.PermissionDenied);
});

test('another client identity is refused every object it does not own, exactly as if it did not exist', async () => {
  const uid = await createKey([attribute('Name', av.name('owned-by-dev'))]);
  const missing = '4f1d5c3a-0000-4000-8000-000000000000';
  const other = await suite.ts.client(await suite.ts.issue('intruder'));
  try {
    for (const make of [(u: string) => withUid(Op.Get, u), (u: string) => withUid(Op.GetAttributes, u), (u: string) => withUid(Op.Destroy, u), (u: string) => withUid(Op.Activate, u), (u: string) => revokeItem(u, Enum.RevocationReasonCode.KeyCompromise)]) {
      const r = parseResponse(await other.send(request([make(uid)])));
      const absent = parseResponse(await other.send(request([make(missing)])));
      const op = make(uid).operation;
      // Item Not Found with the same message as for an identifier nobody has: existence cannot be probed.
      assert.equal(r.items[0]!.reason, RR.ItemNotFound, `operation ${op}`);
      assert.equal(absent.items[0]!.reason, RR.ItemNotFound, `operation ${op}`);
      assert.equal(r.items[0]!.message, absent.items[0]!.message!.replace(missing, uid), `operation ${op}: same answer as for a missing object`);
    }
    const loc = parseResponse(await other.send(request([{ operation: Op.Locate, payload: [attribute('Name', av.name('owned-by-dev'))] }])));
    assert.equal(field(loc.items[0]!.payload, Tag.UniqueIdentifier), undefined);
  } finally {
    other.close();
  }
  // The owner still has it, untouched.
  assert.equal((await one(withUid(Op.Get, uid))).status, Enum.ResultStatus.Success);
});

test('Create refuses what it cannot make, naming the problem', async () => {
  const bad = async (alg: number, len: number) =>
    one({ operation: Op.Create, payload: [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [attribute('Cryptographic Algorithm', av.enum(alg)), attribute('Cryptographic Length', av.int(len))])] });
  const odd = await bad(Enum.CryptographicAlgorithm.AES, 100);
  assert.equal(odd.reason, RR.InvalidField);
  assert.match(odd.message!, /128, 192, 256/);
  assert.equal((await bad(Enum.CryptographicAlgorithm.SKIPJACK, 80)).reason, RR.FeatureNotSupported);
  const noAlg = await one({ operation: Op.Create, payload: [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [])] });
  assert.equal(noAlg.reason, RR.InvalidField);
  const serverSet = await one(createAes(256, [attribute('Unique Identifier', av.text('mine'))]));
  assert.equal(serverSet.reason, RR.InvalidField);
});
