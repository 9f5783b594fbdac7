// KMIP 1.4 §4.2 Create Key Pair: a new RSA or EC key pair, stored as a Private Key and a Public Key
// linked to each other (KMIP 1.4 §3.35). Common template attributes apply to both halves; the
// private/public ones to one half each, overriding the common ones.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { KmipError } from '../../errors.js';
import type { Attribute } from '../../kmip/attribute-codec.js';
import { byteString, structure, textString } from '../../kmip/item.js';
import { invalidField } from '../../kmip/reader.js';
import { Enum, ENUM_VALUE_NAMES, Mask, Tag } from '../../kmip/tables.js';
import type { OpContext } from '../pipeline/context.js';
import { operation } from '../pipeline/operation.js';
import { setPlaceholder } from '../model/access.js';
import { digestAttribute, keyBlock } from '../material/key-material.js';
import { storeNewObject } from '../model/new-object.js';
import { addAttr, av, linkValue, numberAttr } from '../model/object-model.js';
import { parseTemplateAttribute, resolveTemplateAttribute, type TemplateAttributeRequest } from '../model/template-attributes.js';

const A = Enum.CryptographicAlgorithm;
const F = Enum.KeyFormatType;
const U = Mask.CryptographicUsageMask;

/**
 * NIST SP 800-57 Part 1 Table 2: RSA below 2048 bits no longer protects anything; above 4096 the
 * generation cost (tens of seconds) outweighs the benefit, and EC serves higher strengths.
 */
export const RSA_LENGTHS = [2048, 3072, 4096];
const EC_CURVES: Record<number, { curve: string; recommended: number }> = {
  256: { curve: 'prime256v1', recommended: Enum.RecommendedCurve.P256 },
  384: { curve: 'secp384r1', recommended: Enum.RecommendedCurve.P384 },
  521: { curve: 'secp521r1', recommended: Enum.RecommendedCurve.P521 },
};

interface GeneratedPair {
  privateDer: Buffer;
  privateFormat: number;
  publicDer: Buffer;
  publicFormat: number;
}

function generate(ctx: OpContext, algorithm: number, length: number): GeneratedPair {
  if (algorithm === A.RSA) {
    if (!RSA_LENGTHS.includes(length)) {
      throw invalidField(`RSA keys are ${RSA_LENGTHS.join(', ')} bits; ${length} is not offered`);
    }
    const privateKey = ctx.rsaKeys.take(length);
    const publicKey = createPublicKey(privateKey);
    return {
      privateDer: privateKey.export({ format: 'der', type: 'pkcs1' }),
      privateFormat: F.PKCS1,
      publicDer: publicKey.export({ format: 'der', type: 'pkcs1' }),
      publicFormat: F.PKCS1,
    };
  }
  if (algorithm === A.EC || algorithm === A.ECDSA || algorithm === A.ECDH) {
    const c = EC_CURVES[length];
    if (!c) throw invalidField(`EC keys are 256, 384 or 521 bits (NIST P-256, P-384, P-521); ${length} is not offered`);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: c.curve });
    return {
      privateDer: privateKey.export({ format: 'der', type: 'sec1' }),
      privateFormat: F.ECPrivateKey,
      publicDer: publicKey.export({ format: 'der', type: 'spki' }),
      publicFormat: F.X509,
    };
  }
  const name = ENUM_VALUE_NAMES.CryptographicAlgorithm.get(algorithm) ?? `algorithm ${algorithm}`;
  throw new KmipError(Enum.ResultReason.FeatureNotSupported, `Create Key Pair makes RSA and EC keys, not ${name}`);
}

/** Merges common attributes under a half's own: the half's single-instance values win. */
function merge(common: Attribute[], own: Attribute[]): Attribute[] {
  const ownNames = new Set(own.map((a) => a.name));
  const out = common.filter((a) => !ownNames.has(a.name)).map((a) => ({ ...a }));
  for (const a of own) out.push({ ...a, index: out.filter((x) => x.name === a.name).length });
  return out;
}

export interface CreateKeyPairRequest {
  common: TemplateAttributeRequest;
  privateKey: TemplateAttributeRequest;
  publicKey: TemplateAttributeRequest;
}

export const createKeyPair = operation<CreateKeyPairRequest>({
  parse(p) {
    const common = parseTemplateAttribute(p.optionalStruct(Tag.CommonTemplateAttribute, 'Common Template-Attribute'), 'the Common Template-Attribute');
    const privateKey = parseTemplateAttribute(p.optionalStruct(Tag.PrivateKeyTemplateAttribute, 'Private Key Template-Attribute'), 'the Private Key Template-Attribute');
    const publicKey = parseTemplateAttribute(p.optionalStruct(Tag.PublicKeyTemplateAttribute, 'Public Key Template-Attribute'), 'the Public Key Template-Attribute');
    p.done();
    return { common, privateKey, publicKey };
  },
  run(req, ctx) {
    const common = resolveTemplateAttribute(req.common, ctx);
    const priv = resolveTemplateAttribute(req.privateKey, ctx);
    const pub = resolveTemplateAttribute(req.publicKey, ctx);
    const privAttrs = merge(common, priv);
    const pubAttrs = merge(common, pub);
    const algorithm = numberAttr({ attributes: privAttrs }, 'Cryptographic Algorithm');
    const length = numberAttr({ attributes: privAttrs }, 'Cryptographic Length');
    if (algorithm === undefined || length === undefined) {
      throw invalidField('Create Key Pair needs the Cryptographic Algorithm and Cryptographic Length, usually in the Common Template-Attribute');
    }
    if (numberAttr({ attributes: pubAttrs }, 'Cryptographic Algorithm') !== algorithm || numberAttr({ attributes: pubAttrs }, 'Cryptographic Length') !== length) {
      throw invalidField('the two halves of a key pair must have the same Cryptographic Algorithm and Length');
    }
    const pair = generate(ctx, algorithm, length);
    const defaults = (attrs: Attribute[], usage: number) =>
      numberAttr({ attributes: attrs }, 'Cryptographic Usage Mask') === undefined ? [{ name: 'Cryptographic Usage Mask', value: av.int(usage) }] : [];

    const privateKey = storeNewObject(ctx, {
      objectType: Enum.ObjectType.PrivateKey,
      clientAttributes: privAttrs,
      derived: [
        { name: 'Digest', value: digestAttribute(pair.privateDer, pair.privateFormat) },
        ...defaults(privAttrs, U.Sign | U.Decrypt | U.UnwrapKey),
      ],
      value: structure(Tag.PrivateKey, [keyBlock(pair.privateFormat, byteString(Tag.KeyMaterial, pair.privateDer), algorithm, length)]),
    });
    const publicKey = storeNewObject(ctx, {
      objectType: Enum.ObjectType.PublicKey,
      clientAttributes: pubAttrs,
      derived: [
        { name: 'Digest', value: digestAttribute(pair.publicDer, pair.publicFormat) },
        { name: 'Link', value: linkValue(Enum.LinkType.PrivateKeyLink, privateKey.uid) },
        ...defaults(pubAttrs, U.Verify | U.Encrypt | U.WrapKey),
      ],
      value: structure(Tag.PublicKey, [keyBlock(pair.publicFormat, byteString(Tag.KeyMaterial, pair.publicDer), algorithm, length)]),
    });
    pair.privateDer.fill(0);
    addAttr(privateKey, 'Link', linkValue(Enum.LinkType.PublicKeyLink, publicKey.uid));
    ctx.store.save(privateKey);
    // KMIP 1.4 §4.2: the ID Placeholder is the private key's identifier.
    setPlaceholder(ctx, privateKey.uid);
    return [textString(Tag.PrivateKeyUniqueIdentifier, privateKey.uid), textString(Tag.PublicKeyUniqueIdentifier, publicKey.uid)];
  },
});
