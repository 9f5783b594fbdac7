// Encrypt and Decrypt (KMIP 1.4 §4.29, §4.30) against a store in memory: NIST known answers through
// the operations (SP 800-38A CBC and CTR, SP 800-38D GCM), parameters from the request or the key's
// attribute, generated IVs returned, the GCM tag in its 1.4 field or after the data for older
// clients, and the policy every call meets: usage mask, state, Protect Stop and Process Start dates,
// Usage Limits counted durably, another identity's key, a destroyed key, a non-AES key.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { boolean, byteString, enumeration, integer, longInteger, structure, type Item } from '../../../server/kmip/item.js';
import { Enum, Mask, Tag } from '../../../server/kmip/tables.js';
import { activate } from '../../../server/ops/operations/activate.js';
import { create } from '../../../server/ops/operations/create.js';
import { decrypt } from '../../../server/ops/operations/decrypt.js';
import { destroy } from '../../../server/ops/operations/destroy.js';
import { encrypt } from '../../../server/ops/operations/encrypt.js';
import { get } from '../../../server/ops/operations/get.js';
import { register } from '../../../server/ops/operations/register.js';
import { revoke } from '../../../server/ops/operations/revoke.js';
import { attribute, av, createAesPayload, field, harness, uidPayload, type Harness } from './harness.js';

const RR = Enum.ResultReason;
const M = Enum.BlockCipherMode;
const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
let h: Harness;
beforeEach(() => (h = harness()));
afterEach(() => h.close());

/** An Active AES key with these bytes (and extra template attributes). */
function knownKey(key: Buffer, template: Item[] = [], mask = Mask.CryptographicUsageMask.Encrypt | Mask.CryptographicUsageMask.Decrypt): string {
  const uid = field<string>(
    h.run(register, [
      enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
      structure(Tag.TemplateAttribute, [attribute('Cryptographic Usage Mask', av.int(mask)), ...template]),
      structure(Tag.SymmetricKey, [
        structure(Tag.KeyBlock, [
          enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
          structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, key)]),
          enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
          integer(Tag.CryptographicLength, key.length * 8),
        ]),
      ]),
    ]),
    Tag.UniqueIdentifier,
  )!;
  h.run(activate, uidPayload(uid));
  return uid;
}
const params = (mode: number, more: Item[] = []) => structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, mode), ...more]);
const data = (b: Buffer) => byteString(Tag.Data, b);
const ivOf = (b: Buffer) => byteString(Tag.IVCounterNonce, b);

test('NIST SP 800-38A F.2.1 / F.2.2 (CBC-AES128) and F.5.1 / F.5.2 (CTR-AES128) through Encrypt and Decrypt', () => {
  const uid = knownKey(hex('2b7e151628aed2a6abf7158809cf4f3c'));
  const pt = hex('6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51');
  const cbcIv = hex('000102030405060708090a0b0c0d0e0f');
  const cbc = field<Buffer>(h.run(encrypt, uidPayload(uid, [params(M.CBC), data(pt), ivOf(cbcIv)])), Tag.Data)!;
  assert.equal(cbc.toString('hex'), '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2');
  assert.ok(field<Buffer>(h.run(decrypt, uidPayload(uid, [params(M.CBC), data(cbc), ivOf(cbcIv)])), Tag.Data)!.equals(pt));
  const ctrIv = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
  const ctr = field<Buffer>(h.run(encrypt, uidPayload(uid, [params(M.CTR), data(pt), ivOf(ctrIv)])), Tag.Data)!;
  assert.equal(ctr.toString('hex'), '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff');
  assert.ok(field<Buffer>(h.run(decrypt, uidPayload(uid, [params(M.CTR), data(ctr), ivOf(ctrIv)])), Tag.Data)!.equals(pt));
});

test('NIST SP 800-38D test case 4 (GCM-AES128 with AAD): tag in its own field for 1.4, after the data for 1.2', () => {
  const uid = knownKey(hex('feffe9928665731c6d6a8f9467308308'));
  const iv = hex('cafebabefacedbaddecaf888');
  const pt = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
  const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const ct = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091';
  const tag = '5bc94fbc3221a5db94fae95ae7121a47';
  const v14 = h.ctx({ minor: 4 });
  const out = h.run(encrypt, uidPayload(uid, [params(M.GCM), data(pt), ivOf(iv), byteString(Tag.AuthenticatedEncryptionAdditionalData, aad)]), v14);
  assert.equal(field<Buffer>(out, Tag.Data)!.toString('hex'), ct);
  assert.equal(field<Buffer>(out, Tag.AuthenticatedEncryptionTag)!.toString('hex'), tag);
  assert.equal(field(out, Tag.IVCounterNonce), undefined, 'an IV the client gave is not returned');
  const back = h.run(decrypt, uidPayload(uid, [params(M.GCM), data(hex(ct)), ivOf(iv), byteString(Tag.AuthenticatedEncryptionAdditionalData, aad), byteString(Tag.AuthenticatedEncryptionTag, hex(tag))]), v14);
  assert.ok(field<Buffer>(back, Tag.Data)!.equals(pt));
  // A changed tag, AAD or ciphertext byte: refused as a cryptographic failure.
  const badTag = hex(tag);
  badTag[0]! ^= 1;
  h.fails(decrypt, uidPayload(uid, [params(M.GCM), data(hex(ct)), ivOf(iv), byteString(Tag.AuthenticatedEncryptionAdditionalData, aad), byteString(Tag.AuthenticatedEncryptionTag, badTag)]), RR.CryptographicFailure, /does not authenticate/, v14);
  // KMIP 1.2: no tag field; the tag follows the ciphertext (no AAD field before 1.4 either).
  const v12 = h.ctx({ minor: 2 });
  const legacy = field<Buffer>(h.run(encrypt, uidPayload(uid, [params(M.GCM), data(pt), ivOf(iv)]), v12), Tag.Data)!;
  assert.equal(legacy.length, pt.length + 16);
  assert.ok(field<Buffer>(h.run(decrypt, uidPayload(uid, [params(M.GCM), data(legacy), ivOf(iv)]), v12), Tag.Data)!.equals(pt));
  h.fails(encrypt, uidPayload(uid, [params(M.GCM), data(pt), byteString(Tag.AuthenticatedEncryptionAdditionalData, aad)]), RR.InvalidField, /unexpected/, v12);
});

test('parameters: the key\'s own Cryptographic Parameters when the request has none; GCM by default; IVs generated and returned', () => {
  const cbcKey = knownKey(hex('00'.repeat(32)), [attribute('Cryptographic Parameters', structure(Tag.AttributeValue, [enumeration(Tag.BlockCipherMode, M.CBC), enumeration(Tag.PaddingMethod, Enum.PaddingMethod.PKCS5)]))]);
  const out = h.run(encrypt, uidPayload(cbcKey, [data(Buffer.from('thirteen byte'))]));
  const iv = field<Buffer>(out, Tag.IVCounterNonce)!;
  assert.equal(iv.length, 16, 'a CBC IV was generated and returned');
  assert.equal(field<Buffer>(out, Tag.Data)!.length, 16, 'padded to one block (the key says PKCS5)');
  assert.equal(field<Buffer>(h.run(decrypt, uidPayload(cbcKey, [data(field<Buffer>(out, Tag.Data)!), ivOf(iv)])), Tag.Data)!.toString(), 'thirteen byte');
  h.fails(decrypt, uidPayload(cbcKey, [data(field<Buffer>(out, Tag.Data)!)]), RR.InvalidMessage, /needs the IV/);
  // The request overrides the key's mode: ECB of whole blocks without padding.
  const ecb = h.run(encrypt, uidPayload(cbcKey, [params(M.ECB, [enumeration(Tag.PaddingMethod, Enum.PaddingMethod.None)]), data(Buffer.alloc(32))]));
  assert.equal(field(ecb, Tag.IVCounterNonce), undefined);
  h.fails(encrypt, uidPayload(cbcKey, [params(M.CBC, [enumeration(Tag.PaddingMethod, Enum.PaddingMethod.None)]), data(Buffer.alloc(15))]), RR.InvalidField, /whole number of 16-byte blocks/);
  // No parameters anywhere: GCM, a 12-byte nonce, a 16-byte tag.
  const plain = knownKey(hex('11'.repeat(16)));
  const g = h.run(encrypt, uidPayload(plain, [data(Buffer.from('hello'))]), h.ctx({ minor: 4 }));
  assert.equal(field<Buffer>(g, Tag.IVCounterNonce)!.length, 12);
  assert.equal(field<Buffer>(g, Tag.AuthenticatedEncryptionTag)!.length, 16);
  h.fails(encrypt, uidPayload(plain, [params(M.XTS), data(Buffer.alloc(32))]), RR.FeatureNotSupported, /not supported: use GCM/);
  h.fails(encrypt, uidPayload(plain, [params(M.CBC), data(Buffer.alloc(16)), ivOf(Buffer.alloc(8))]), RR.InvalidField, /IV\/Counter\/Nonce is 8 bytes/);
  h.fails(encrypt, uidPayload(plain, [data(Buffer.alloc(16)), boolean(Tag.InitIndicator, true)]), RR.FeatureNotSupported, /multi-part Encrypt/);
});

test('a key with Extractable False is never returned by Get, and still encrypts and decrypts (the key never leaves the server)', () => {
  const v14 = h.ctx({ minor: 4 });
  const uid = field<string>(h.run(create, createAesPayload(256, [attribute('Extractable', boolean(Tag.AttributeValue, false))]), v14), Tag.UniqueIdentifier)!;
  h.run(activate, uidPayload(uid), v14);
  h.fails(get, uidPayload(uid), Enum.ResultReason.NotExtractable, undefined, v14);
  const out = h.run(encrypt, uidPayload(uid, [data(Buffer.from('never leaves'))]), v14);
  const back = h.run(decrypt, uidPayload(uid, [data(field<Buffer>(out, Tag.Data)!), ivOf(field<Buffer>(out, Tag.IVCounterNonce)!), byteString(Tag.AuthenticatedEncryptionTag, field<Buffer>(out, Tag.AuthenticatedEncryptionTag)!)]), v14);
  assert.equal(field<Buffer>(back, Tag.Data)!.toString(), 'never leaves');
});

test('policy: usage mask, state, Protect Stop and Process Start dates, Usage Limits, owner, destroyed, not AES', () => {
  const encryptOnly = knownKey(hex('22'.repeat(16)), [], Mask.CryptographicUsageMask.Encrypt);
  h.fails(decrypt, uidPayload(encryptOnly, [params(M.ECB), data(Buffer.alloc(16))]), RR.PermissionDenied, /may not Decrypt/);
  const preActive = field<string>(h.run(create, createAesPayload(128)), Tag.UniqueIdentifier)!;
  h.fails(encrypt, uidPayload(preActive, [data(Buffer.alloc(16))]), RR.PermissionDenied, /Pre-Active/);
  h.fails(decrypt, uidPayload(preActive, [params(M.ECB), data(Buffer.alloc(16))]), RR.PermissionDenied, /Pre-Active/);
  // Protect Stop Date passed: Encrypt refused, Decrypt allowed. Process Start Date ahead: Decrypt refused.
  const stopped = knownKey(hex('33'.repeat(16)), [attribute('Protect Stop Date', av.date(h.now + 10))]);
  const sealed = field<Buffer>(h.run(encrypt, uidPayload(stopped, [params(M.ECB), data(Buffer.alloc(16))])), Tag.Data)!;
  h.now += 20;
  h.fails(encrypt, uidPayload(stopped, [params(M.ECB), data(Buffer.alloc(16))]), RR.PermissionDenied, /Protect Stop Date/);
  assert.ok(field<Buffer>(h.run(decrypt, uidPayload(stopped, [params(M.ECB), data(sealed)])), Tag.Data)!.equals(Buffer.alloc(16)));
  const later = knownKey(hex('44'.repeat(16)), [attribute('Process Start Date', av.date(h.now + 100))]);
  h.fails(decrypt, uidPayload(later, [params(M.ECB), data(Buffer.alloc(16))]), RR.PermissionDenied, /Process Start Date/);
  // Deactivated (revoked, not compromised): decrypts, does not encrypt.
  const old = knownKey(hex('55'.repeat(16)));
  const before = field<Buffer>(h.run(encrypt, uidPayload(old, [params(M.ECB), data(Buffer.alloc(16))])), Tag.Data)!;
  h.run(revoke, uidPayload(old, [structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CessationOfOperation)])]));
  h.fails(encrypt, uidPayload(old, [params(M.ECB), data(Buffer.alloc(16))]), RR.PermissionDenied, /Deactivated/);
  assert.ok(field<Buffer>(h.run(decrypt, uidPayload(old, [params(M.ECB), data(before)])), Tag.Data)!.equals(Buffer.alloc(16)));
  // Usage Limits of 2 objects: two Encrypts, the third refused; the count is stored.
  const limited = knownKey(hex('66'.repeat(16)), [attribute('Usage Limits', structure(Tag.AttributeValue, [longInteger(Tag.UsageLimitsTotal, 2n), enumeration(Tag.UsageLimitsUnit, Enum.UsageLimitsUnit.Object)]))]);
  for (let i = 0; i < 2; i++) h.run(encrypt, uidPayload(limited, [params(M.ECB), data(Buffer.alloc(16))]));
  h.fails(encrypt, uidPayload(limited, [params(M.ECB), data(Buffer.alloc(16))]), RR.PermissionDenied, /0 uses left/);
  // Another identity's key does not exist for the caller; a destroyed key has no material.
  h.fails(encrypt, uidPayload(limited, [data(Buffer.alloc(16))]), RR.ItemNotFound, /no object/, h.ctx({ identity: 'CN=mallory' }));
  const gone = knownKey(hex('77'.repeat(16)));
  h.run(revoke, uidPayload(gone, [structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CessationOfOperation)])]));
  h.run(destroy, uidPayload(gone));
  h.fails(decrypt, uidPayload(gone, [params(M.ECB), data(Buffer.alloc(16))]), RR.ItemNotFound, /destroyed/);
  // Data is required.
  h.fails(encrypt, uidPayload(old), RR.InvalidMessage, /needs Data/);
});
