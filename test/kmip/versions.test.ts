// What each KMIP 1.x version defines (server/kmip/versions.ts): a response in version 1.m must not
// carry a tag or an enumeration value that 1.m does not define (KMIP 1.4 §6.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enumeration, integer, structure, textString } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import {
  enumValueMinor, firstUndefinedIn, isSupported, operationMinor, resultReasonFor, SUPPORTED_VERSIONS, tagMinor,
} from '../../server/kmip/versions.js';

const v = (minor: number) => ({ major: 1, minor });

test('tagMinor: the first and last tag of each version (KMIP 1.0–1.4 §9.1.3.1)', () => {
  const cases: [number, number, string][] = [
    [0x420001, 0, 'Activation Date, first tag of 1.0'],
    [Tag.Password, 0, 'Password 0x4200A1, last tag of 1.0'],
    [Tag.DeviceIdentifier, 1, 'Device Identifier 0x4200A2, first tag of 1.1'],
    [Tag.X509CertificateSubject, 1, 'X.509 Certificate Subject 0x4200B7, last tag of 1.1'],
    [Tag.KeyValueLocation, 2, 'Key Value Location 0x4200B8, first tag of 1.2'],
    [Tag.AttestationCapableIndicator, 2, 'Attestation Capable Indicator 0x4200D3, last tag of 1.2'],
    [Tag.OffsetItems, 3, 'Offset Items 0x4200D4, first tag of 1.3'],
    [Tag.CapabilityInformation, 3, 'Capability Information 0x4200F7, last tag of 1.3'],
    [Tag.KeyWrapType, 4, 'Key Wrap Type 0x4200F8, first tag of 1.4'],
    [Tag.ReplaceExisting, 4, 'Replace Existing, a 1.4 tag'],
    [0x540000, 0, 'extension tags exist in every version'],
    [0x54ffff, 0, 'extension tags exist in every version'],
  ];
  for (const [tag, minor, what] of cases) assert.equal(tagMinor(tag), minor, `${what} (0x${tag.toString(16)})`);
  assert.equal(Tag.Password, 0x4200a1);
  assert.equal(Tag.DeviceIdentifier, 0x4200a2);
  assert.equal(Tag.KeyValueLocation, 0x4200b8);
  assert.equal(Tag.OffsetItems, 0x4200d4);
  assert.equal(Tag.KeyWrapType, 0x4200f8);
});

test('firstUndefinedIn refuses a 1.4-only tag in a 1.0 response, wherever it is nested', () => {
  const response = structure(Tag.ResponseMessage, [
    structure(Tag.ResponseHeader, [
      structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, 1), integer(Tag.ProtocolVersionMinor, 0)]),
      textString(Tag.ClientCorrelationValue, 'x'), // KMIP 1.4
    ]),
  ]);
  const problem = firstUndefinedIn(response, v(0));
  assert.ok(problem, 'refused in 1.0');
  assert.match(problem, /0x420105/);
  assert.match(problem, /KMIP 1\.0/);
  assert.ok(firstUndefinedIn(response, v(3)), 'refused in 1.3 as well');
  assert.equal(firstUndefinedIn(response, v(4)), undefined, 'fine in 1.4');
  assert.equal(Tag.ClientCorrelationValue, 0x420105);
});

test('firstUndefinedIn refuses 1.2-only enumeration values (Operation Encrypt) in 1.1', () => {
  const item = structure(Tag.BatchItem, [enumeration(Tag.Operation, Enum.Operation.Encrypt)]);
  const problem = firstUndefinedIn(item, v(1));
  assert.ok(problem);
  assert.match(problem, /Operation value 0x1f is not defined in KMIP 1\.1/);
  assert.equal(firstUndefinedIn(item, v(2)), undefined);
  // Discover Versions (1.1) in 1.0; Create in 1.0 is fine.
  assert.ok(firstUndefinedIn(structure(Tag.BatchItem, [enumeration(Tag.Operation, Enum.Operation.DiscoverVersions)]), v(0)));
  assert.equal(firstUndefinedIn(structure(Tag.BatchItem, [enumeration(Tag.Operation, Enum.Operation.Create)]), v(0)), undefined);
  // Result Reason Object Already Exists (1.4) in 1.3; Object Type PGP Key (1.2) in 1.1.
  assert.ok(firstUndefinedIn(enumeration(Tag.ResultReason, Enum.ResultReason.ObjectAlreadyExists), v(3)));
  assert.ok(firstUndefinedIn(enumeration(Tag.ObjectType, Enum.ObjectType.PGPKey), v(1)));
  assert.equal(firstUndefinedIn(enumeration(Tag.ObjectType, Enum.ObjectType.PGPKey), v(2)), undefined);
  // The same number under a tag of another enumeration is not an Operation.
  assert.equal(firstUndefinedIn(enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), v(0)), undefined);
});

test('enumValueMinor / operationMinor boundaries', () => {
  assert.equal(operationMinor(Enum.Operation.Put), 0); // 0x1C, last of 1.0
  assert.equal(operationMinor(Enum.Operation.ReKeyKeyPair), 1); // 0x1D
  assert.equal(operationMinor(Enum.Operation.DiscoverVersions), 1); // 0x1E
  assert.equal(operationMinor(Enum.Operation.Encrypt), 2); // 0x1F
  assert.equal(operationMinor(Enum.Operation.JoinSplitKey), 2); // 0x29
  assert.equal(operationMinor(Enum.Operation.Import), 4); // 0x2A
  assert.equal(operationMinor(Enum.Operation.Export), 4);
  assert.equal(enumValueMinor('ResultReason', Enum.ResultReason.EncodingOptionError), 1);
  assert.equal(enumValueMinor('ResultReason', Enum.ResultReason.KeyValueNotPresent), 2);
  assert.equal(enumValueMinor('ResultReason', Enum.ResultReason.GeneralFailure), 0);
  assert.equal(enumValueMinor('QueryFunction', Enum.QueryFunction.QueryCapabilities), 3);
  assert.equal(enumValueMinor('State', Enum.State.Active), 0, 'unlisted enumerations are 1.0');
});

test('resultReasonFor falls back to General Failure where the precise reason is undefined', () => {
  assert.equal(resultReasonFor(Enum.ResultReason.ObjectAlreadyExists, v(3)), Enum.ResultReason.GeneralFailure);
  assert.equal(resultReasonFor(Enum.ResultReason.ObjectAlreadyExists, v(4)), Enum.ResultReason.ObjectAlreadyExists);
  assert.equal(resultReasonFor(Enum.ResultReason.EncodingOptionError, v(0)), Enum.ResultReason.GeneralFailure);
  assert.equal(resultReasonFor(Enum.ResultReason.EncodingOptionError, v(1)), Enum.ResultReason.EncodingOptionError);
  assert.equal(resultReasonFor(Enum.ResultReason.PermissionDenied, v(0)), Enum.ResultReason.PermissionDenied);
});

test('supported versions: 1.0 to 1.4, highest first', () => {
  assert.deepEqual(SUPPORTED_VERSIONS.map((x) => `${x.major}.${x.minor}`), ['1.4', '1.3', '1.2', '1.1', '1.0']);
  for (let m = 0; m <= 4; m++) assert.ok(isSupported(v(m)));
  assert.ok(!isSupported(v(5)));
  assert.ok(!isSupported({ major: 2, minor: 0 }));
  assert.ok(!isSupported({ major: 0, minor: 4 }));
  assert.ok(!isSupported(v(-1)));
});
