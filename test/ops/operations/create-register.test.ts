// Create, Create Key Pair, Register and Re-key (KMIP 1.4 §4.1–§4.4) against a store in memory.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { byteString, enumeration, integer, interval, structure, textString, type Item } from '../../../server/kmip/item.js';
import { Enum, Tag } from '../../../server/kmip/tables.js';
import { activate } from '../../../server/ops/operations/activate.js';
import { create, DEFAULT_SYMMETRIC_USAGE } from '../../../server/ops/operations/create.js';
import { createKeyPair } from '../../../server/ops/operations/create-key-pair.js';
import { destroy } from '../../../server/ops/operations/destroy.js';
import { get } from '../../../server/ops/operations/get.js';
import { reKey } from '../../../server/ops/operations/re-key.js';
import { register } from '../../../server/ops/operations/register.js';
import { attribute, av, createAesPayload, field, harness, stored, uidPayload, type Harness } from './harness.js';

const RR = Enum.ResultReason;
const A = Enum.CryptographicAlgorithm;
let h: Harness;
beforeEach(() => (h = harness()));
afterEach(() => h.close());

const uidOf = (fields: Item[]) => field<string>(fields, Tag.UniqueIdentifier)!;

function registerAesPayload(key: Buffer, template: Item[] = []): Item[] {
  return [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.TemplateAttribute, template),
    structure(Tag.SymmetricKey, [
      structure(Tag.KeyBlock, [
        enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
        structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, key)]),
        enumeration(Tag.CryptographicAlgorithm, A.AES),
        integer(Tag.CryptographicLength, key.length * 8),
      ]),
    ]),
  ];
}

test('Create: a Pre-Active AES key with the server-maintained attributes; the ID Placeholder names it', () => {
  const ctx = h.ctx();
  const out = h.run(create, createAesPayload(128), ctx);
  assert.equal(field(out, Tag.ObjectType), Enum.ObjectType.SymmetricKey);
  const uid = uidOf(out);
  assert.equal(ctx.placeholder.value, uid);
  assert.deepEqual(ctx.objectIds, [uid]);
  const o = h.load(uid);
  assert.equal(o.state, Enum.State.PreActive);
  assert.equal(o.owner, 'CN=alice');
  for (const name of ['Unique Identifier', 'Object Type', 'Initial Date', 'Last Change Date', 'Digest', 'Original Creation Date']) {
    assert.ok(stored(o, name), name);
  }
  assert.equal(stored(o, 'Cryptographic Length')?.value, 128);
});

test('Create: a default usage mask, an Activation Date already reached, and the refusals', () => {
  const noMask = createAesPayload(256);
  (noMask[1] as { value: Item[] }).value.pop();
  assert.equal(stored(h.load(uidOf(h.run(create, noMask))), 'Cryptographic Usage Mask')?.value, DEFAULT_SYMMETRIC_USAGE);
  const active = uidOf(h.run(create, createAesPayload(256, [attribute('Activation Date', av.date(h.now - 1))])));
  assert.equal(h.load(active).state, Enum.State.Active);
  h.fails(create, createAesPayload(100), RR.InvalidField);
  h.fails(create, [enumeration(Tag.ObjectType, Enum.ObjectType.SecretData), structure(Tag.TemplateAttribute, [])], RR.InvalidField, /Create makes Symmetric Keys/);
  h.fails(create, [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [])], RR.InvalidField, /needs the Cryptographic Algorithm/);
  h.fails(create, createAesPayload(256, [attribute('State', av.enum(Enum.State.Active))]), RR.InvalidField, /set by the server/);
  h.fails(create, createAesPayload(256, [attribute('Deactivation Date', av.date(1)), attribute('Activation Date', av.date(2))]), RR.InvalidField, /Deactivation Date/);
});

test('Create with a Template by name takes its attributes; an unknown Template is Item Not Found', () => {
  const templatePayload = [
    enumeration(Tag.ObjectType, Enum.ObjectType.Template),
    structure(Tag.TemplateAttribute, []),
    structure(Tag.Template, [
      attribute('Name', av.name('aes-template')),
      attribute('Cryptographic Algorithm', av.enum(A.AES)),
      attribute('Cryptographic Length', av.int(192)),
    ]),
  ];
  h.run(register, templatePayload);
  const name = structure(Tag.Name, [textString(Tag.NameValue, 'aes-template'), enumeration(Tag.NameType, Enum.NameType.UninterpretedTextString)]);
  const uid = uidOf(h.run(create, [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [name])]));
  assert.equal(stored(h.load(uid), 'Cryptographic Length')?.value, 192);
  const other = structure(Tag.Name, [textString(Tag.NameValue, 'nope'), enumeration(Tag.NameType, Enum.NameType.UninterpretedTextString)]);
  h.fails(create, [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [other])], RR.ItemNotFound, /no Template named "nope"/);
  // Another identity cannot use alice's Template.
  h.fails(create, [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [name])], RR.ItemNotFound, undefined, h.ctx({ identity: 'CN=bob' }));
});

test('Register: a raw AES key keeps its bytes, derives its length; contradictions and bad sizes are refused', () => {
  const key = Buffer.alloc(32, 7);
  const uid = uidOf(h.run(register, registerAesPayload(key)));
  assert.equal(stored(h.load(uid), 'Cryptographic Length')?.value, 256);
  h.run(activate, uidPayload(uid));
  const got = h.run(get, uidPayload(uid));
  const block = (got[2] as { value: Item[] }).value[0] as { value: Item[] };
  const value = block.value.find((f) => f.tag === Tag.KeyValue) as { value: Item[] };
  assert.deepEqual(value.value[0]!.value, key);
  h.fails(register, registerAesPayload(key, [attribute('Cryptographic Length', av.int(128))]), RR.InvalidField, /contradicts/);
  h.fails(register, registerAesPayload(Buffer.alloc(5)), RR.InvalidField);
  h.fails(register, [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [])], RR.InvalidMessage, /needs the Symmetric Key object/);
});

test('Register: Secret Data and an Opaque Object', () => {
  const secret = uidOf(h.run(register, [
    enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
    structure(Tag.TemplateAttribute, []),
    structure(Tag.SecretData, [
      enumeration(Tag.SecretDataType, Enum.SecretDataType.Password),
      structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, Buffer.from('hunter2'))])]),
    ]),
  ]));
  assert.equal(h.load(secret).objectType, Enum.ObjectType.SecretData);
  const opaque = uidOf(h.run(register, [
    enumeration(Tag.ObjectType, Enum.ObjectType.OpaqueObject),
    structure(Tag.TemplateAttribute, []),
    structure(Tag.OpaqueObject, [enumeration(Tag.OpaqueDataType, 0x80000001), byteString(Tag.OpaqueDataValue, Buffer.from('blob'))]),
  ]));
  assert.ok(stored(h.load(opaque), 'Digest'));
});

test('Create Key Pair (EC P-256): two linked halves; the placeholder is the private key', () => {
  const ctx = h.ctx();
  const out = h.run(createKeyPair, [
    structure(Tag.CommonTemplateAttribute, [attribute('Cryptographic Algorithm', av.enum(A.EC)), attribute('Cryptographic Length', av.int(256))]),
    structure(Tag.PrivateKeyTemplateAttribute, [attribute('Name', av.name('pair-private'))]),
  ], ctx);
  const priv = field<string>(out, Tag.PrivateKeyUniqueIdentifier)!;
  const pub = field<string>(out, Tag.PublicKeyUniqueIdentifier)!;
  assert.equal(ctx.placeholder.value, priv);
  const link = (uid: string) => (stored(h.load(uid), 'Link') as { value: Item[] }).value.map((f) => f.value);
  assert.deepEqual(link(priv), [Enum.LinkType.PublicKeyLink, pub]);
  assert.deepEqual(link(pub), [Enum.LinkType.PrivateKeyLink, priv]);
  h.fails(createKeyPair, [structure(Tag.CommonTemplateAttribute, [attribute('Cryptographic Algorithm', av.enum(A.RSA)), attribute('Cryptographic Length', av.int(1024))])], RR.InvalidField, /1024 is not offered/);
});

test('Re-key: the replacement inherits, takes the Name, and the two are linked; an Offset shifts the dates', () => {
  const old = uidOf(h.run(create, createAesPayload(256, [attribute('Name', av.name('disk-key')), attribute('Activation Date', av.date(h.now + 100)), attribute('Deactivation Date', av.date(h.now + 1100))])));
  h.now += 10;
  const fresh = uidOf(h.run(reKey, uidPayload(old, [interval(Tag.Offset, 50)])));
  const n = h.load(fresh);
  assert.equal(stored(n, 'Activation Date')?.value, h.now + 50);
  assert.equal(stored(n, 'Deactivation Date')?.value, h.now + 1050);
  assert.ok(stored(n, 'Name'));
  const o = h.load(old);
  assert.equal(stored(o, 'Name'), undefined);
  assert.deepEqual((stored(o, 'Link') as { value: Item[] }).value.map((f) => f.value), [Enum.LinkType.ReplacementObjectLink, fresh]);
  assert.deepEqual((stored(n, 'Link') as { value: Item[] }).value.map((f) => f.value), [Enum.LinkType.ReplacedObjectLink, old]);
});

test('Re-key refuses what is not a symmetric key, and a destroyed key', () => {
  const opaque = uidOf(h.run(register, [
    enumeration(Tag.ObjectType, Enum.ObjectType.OpaqueObject),
    structure(Tag.TemplateAttribute, []),
    structure(Tag.OpaqueObject, [enumeration(Tag.OpaqueDataType, 0x80000001), byteString(Tag.OpaqueDataValue, Buffer.from('blob'))]),
  ]));
  h.fails(reKey, uidPayload(opaque), RR.IllegalOperation);
  const key = uidOf(h.run(create, createAesPayload()));
  h.run(destroy, uidPayload(key));
  h.fails(reKey, uidPayload(key), RR.PermissionDenied, /destroyed and cannot be re-keyed/);
});
