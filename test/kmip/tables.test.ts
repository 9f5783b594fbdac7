// server/kmip/tables.ts is generated from spec/kmip_1_4.json: regenerating must give the committed
// file byte for byte (golden), and the tables must agree with the JSON and with the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { identifier, renderTables, SPEC_PATH, TABLES_PATH } from '../../server/kmip/generate-tables.js';
import {
  Enum, ENUM_OF_TAG, ENUM_VALUE_NAMES, Mask, MASK_OF_TAG, Tag, TAG_NAMES, type EnumId,
} from '../../server/kmip/tables.js';

interface SpecGroup { name: string; comment: string; values: Record<string, number | string>; tags: string[] }
const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as {
  tags: Record<string, number | string>;
  enums: SpecGroup[];
  masks: SpecGroup[];
};
const num = (v: number | string) => (typeof v === 'number' ? v : Number(v));

test('the committed tables.ts is exactly what the generator renders (run `npm run generate` after editing the JSON)', () => {
  const committed = readFileSync(TABLES_PATH, 'utf8');
  const rendered = renderTables();
  if (committed !== rendered) {
    const a = committed.split('\n');
    const b = rendered.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(`tables.ts differs from the generator's output at line ${line + 1}:\n committed: ${a[line]}\n generated: ${b[line]}`);
  }
});

test('the golden check can fail: a changed JSON value changes the rendering', () => {
  const altered = structuredClone(spec);
  altered.tags['Activation Date'] = '0x4201FF';
  const text = renderTables(altered);
  assert.notEqual(text, renderTables());
  assert.match(text, /ActivationDate: 0x4201FF,/);
});

test('spot checks against the spec (KMIP 1.4 §9.1.3)', () => {
  assert.equal(Tag.ActivationDate, 0x420001);
  assert.equal(Tag.RequestMessage, 0x420078);
  assert.equal(Tag.ResponseMessage, 0x42007b);
  assert.equal(Tag.UniqueIdentifier, 0x420094);
  assert.equal(Tag.KeyMaterial, 0x420043);
  assert.equal(Tag.CompromiseDate, 0x420020);
  assert.equal(Enum.ResultReason.GeneralFailure, 0x100);
  assert.equal(Enum.ResultReason.ItemNotFound, 0x01);
  assert.equal(Enum.ResultReason.PermissionDenied, 0x0c);
  assert.equal(Enum.Operation.Create, 0x01);
  assert.equal(Enum.Operation.Get, 0x0a);
  assert.equal(Enum.Operation.DiscoverVersions, 0x1e);
  assert.equal(Enum.Operation.Encrypt, 0x1f);
  assert.equal(Enum.ObjectType.SymmetricKey, 0x02);
  assert.equal(Enum.CryptographicAlgorithm.AES, 0x03);
  assert.equal(Enum.ResultStatus.OperationFailed, 0x01);
  assert.equal(Mask.CryptographicUsageMask.Encrypt, 0x04);
  assert.equal(Mask.CryptographicUsageMask.Decrypt, 0x08);
  assert.equal(TAG_NAMES.get(0x420001), 'Activation Date');
  assert.equal(ENUM_OF_TAG.get(Tag.ResultReason), 'ResultReason');
  assert.equal(ENUM_VALUE_NAMES.ResultReason.get(0x100), 'General Failure');
  assert.equal(MASK_OF_TAG.get(Tag.CryptographicUsageMask), 'CryptographicUsageMask');
});

test('every tag of the JSON is in Tag and TAG_NAMES with its value', () => {
  const entries = Object.entries(spec.tags);
  assert.ok(entries.length > 250, `${entries.length} tags`);
  assert.equal(Object.keys(Tag).length, entries.length);
  assert.equal(TAG_NAMES.size, entries.length);
  for (const [name, v] of entries) {
    const id = identifier(name) as keyof typeof Tag;
    assert.equal(Tag[id], num(v), name);
    assert.equal(TAG_NAMES.get(num(v)), name);
    assert.ok(num(v) >>> 16 === 0x42, `${name} is a 0x42xxxx tag`);
  }
});

test('every enumeration value of the JSON is in Enum and ENUM_VALUE_NAMES, and its tags map back', () => {
  for (const g of spec.enums) {
    const id = identifier(g.name) as EnumId;
    const e = Enum[id] as Record<string, number>;
    assert.ok(e, g.name);
    assert.equal(Object.keys(e).length, Object.keys(g.values).length, g.name);
    for (const [name, v] of Object.entries(g.values)) {
      assert.equal(e[identifier(name)], num(v), `${g.name}.${name}`);
      assert.equal(ENUM_VALUE_NAMES[id].get(num(v)), name);
    }
    for (const t of g.tags) assert.equal(ENUM_OF_TAG.get(Tag[identifier(t) as keyof typeof Tag]), id, `${t} -> ${g.name}`);
  }
});

test('identifier() makes the documented names', () => {
  assert.equal(identifier('PKCS#12 Friendly Name'), 'PKCS12FriendlyName');
  assert.equal(identifier('Activation Date'), 'ActivationDate');
  assert.equal(identifier('3DES'), '_3DES');
  assert.equal(identifier('X.509 Certificate Identifier'), 'X509CertificateIdentifier');
});

test('the generator refuses two names mapping to one identifier, and an enumeration naming an unknown tag', () => {
  const clash = structuredClone(spec);
  clash.tags['Activation-Date'] = '0x4201FF';
  assert.throws(() => renderTables(clash), /both map to ActivationDate/);
  const unknown = structuredClone(spec);
  unknown.enums[0]!.tags = ['No Such Tag'];
  assert.throws(() => renderTables(unknown), /unknown tag No Such Tag/);
});
