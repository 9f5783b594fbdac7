// Parsing alone: each operation reads its payload into a typed request without a store, and the
// typed readers refuse a field of the wrong type, naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KmipError } from '../../../server/errors.js';
import { dateTime, enumeration, integer, interval, structure, textString, type Item } from '../../../server/kmip/item.js';
import { StructReader } from '../../../server/kmip/reader.js';
import { Enum, Tag } from '../../../server/kmip/tables.js';
import { get } from '../../../server/ops/operations/get.js';
import { locate } from '../../../server/ops/operations/locate.js';
import { reKey } from '../../../server/ops/operations/re-key.js';
import { revoke } from '../../../server/ops/operations/revoke.js';
import type { ParseContext } from '../../../server/ops/pipeline/operation.js';
import { attribute, av } from './harness.js';

const payload = (fields: Item[]) => new StructReader(structure(Tag.RequestPayload, fields), 'test request payload');
const ctx = (minor = 4, placeholder?: string): ParseContext => ({ version: { major: 1, minor }, placeholder: placeholder === undefined ? {} : { value: placeholder } });

test('Revoke parses into its reason and occurrence date; the ID Placeholder stands in for the identifier', () => {
  const req = revoke.parse(payload([
    structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.KeyCompromise), textString(Tag.RevocationMessage, 'leak')]),
    dateTime(Tag.CompromiseOccurrenceDate, 1234),
  ]), ctx(4, 'uid-from-placeholder'));
  assert.deepEqual(req, { uid: 'uid-from-placeholder', reason: { code: Enum.RevocationReasonCode.KeyCompromise, message: 'leak' }, compromiseOccurrence: 1234 });
});

test('Locate parses its criteria; Offset Items only from KMIP 1.3 on', () => {
  const fields = [integer(Tag.MaximumItems, 5), attribute('Name', av.name('k')), attribute('Initial Date', av.date(1)), attribute('Initial Date', av.date(2))];
  const req = locate.parse(payload(fields), ctx());
  assert.equal(req.maxItems, 5);
  assert.deepEqual([...req.criteria.keys()], ['Name', 'Initial Date']);
  assert.equal(req.criteria.get('Initial Date')!.values.length, 2);
  assert.throws(() => locate.parse(payload([integer(Tag.OffsetItems, 1)]), ctx(2)), /unexpected Offset Items/);
  assert.equal(locate.parse(payload([integer(Tag.OffsetItems, 1)]), ctx(3)).offset, 1);
});

test('Re-key keeps its Template-Attribute unresolved until it runs (templates are stored objects)', () => {
  const name = structure(Tag.Name, [textString(Tag.NameValue, 'tmpl'), enumeration(Tag.NameType, Enum.NameType.UninterpretedTextString)]);
  const req = reKey.parse(payload([textString(Tag.UniqueIdentifier, 'u'), interval(Tag.Offset, 10), structure(Tag.TemplateAttribute, [name])]), ctx());
  assert.equal(req.offset, 10);
  assert.deepEqual(req.template.templates.map((t) => t.nameValue), ['tmpl']);
});

test('a field of the wrong type is refused by the typed reader, naming field and types', () => {
  const err = (() => {
    try {
      get.parse(payload([textString(Tag.UniqueIdentifier, 'u'), integer(Tag.KeyFormatType, 1)]), ctx());
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof KmipError);
  assert.equal(err.reason, Enum.ResultReason.InvalidField);
  assert.match(err.message, /Key Format Type in test request payload must be Enumeration, not Integer/);
});

test('typed readers: required, optional and repeated fields', () => {
  const r = payload([textString(Tag.AttributeName, 'a'), textString(Tag.AttributeName, 'b'), enumeration(Tag.ObjectType, 2), interval(Tag.LeaseTime, 9)]);
  assert.deepEqual(r.allTexts(Tag.AttributeName), ['a', 'b']);
  assert.equal(r.enumeration(Tag.ObjectType), 2);
  assert.equal(r.optionalInterval(Tag.LeaseTime), 9);
  assert.equal(r.optionalText(Tag.UniqueIdentifier), undefined);
  assert.throws(() => r.text(Tag.UniqueIdentifier), /lacks the required Unique Identifier/);
  r.done();
});
