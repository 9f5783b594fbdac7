// KMIP 1.4 §4.29 Encrypt: data encrypted on the server with one of the caller's keys, which never
// leaves it. AES in GCM, CBC, ECB, CTR, CFB or OFB (crypto/aes-modes.ts); parameters from the request,
// then the key's Cryptographic Parameters, then the defaults (GCM, 12-byte IV, 16-byte tag: README);
// a generated IV is returned. A GCM tag goes in Authenticated Encryption Tag from 1.4, and for older
// clients after the ciphertext (their convention: Data = ciphertext || tag).
import { byteString, textString, type Item } from '../../kmip/item.js';
import { Enum, Mask, Tag } from '../../kmip/tables.js';
import { setPlaceholder } from '../model/access.js';
import { aesEncrypt } from '../../crypto/aes-modes.js';
import { aesKeyBytes, parseCipherRequest, type CipherRequest } from '../crypto/cipher-request.js';
import { effectiveParams } from '../crypto/crypto-parameters.js';
import { keyForUse } from '../crypto/key-use.js';
import { operation } from '../pipeline/operation.js';

/** The mode when neither the request nor the key names one: authenticated, and what PyKMIP's server assumes least. */
export const DEFAULT_MODE = Enum.BlockCipherMode.GCM;

export const encrypt = operation<CipherRequest & { minor: number }>({
  parse: (p, ctx) => ({ ...parseCipherRequest(p, ctx, 'Encrypt'), minor: ctx.version.minor }),
  run(r, ctx) {
    const { object: key, material } = keyForUse(ctx, r.uid, { mask: Mask.CryptographicUsageMask.Encrypt, maskName: 'Encrypt', use: 'protect', bytes: r.data.length });
    const params = effectiveParams(r.params, key);
    const out = aesEncrypt({
      key: aesKeyBytes(key, material, params),
      mode: params.blockCipherMode ?? DEFAULT_MODE,
      padding: params.paddingMethod,
      data: r.data,
      ...(r.iv ? { iv: r.iv } : {}),
      ...(r.aad ? { aad: r.aad } : {}),
      ...(params.tagLength !== undefined ? { tagLength: params.tagLength } : {}),
      ...(params.ivLength !== undefined ? { ivLength: params.ivLength } : {}),
    });
    setPlaceholder(ctx, key.uid);
    const legacyTag = out.tag && r.minor < 4;
    const fields: Item[] = [textString(Tag.UniqueIdentifier, key.uid), byteString(Tag.Data, legacyTag ? Buffer.concat([out.data, out.tag!]) : out.data)];
    if (out.generatedIv) fields.push(byteString(Tag.IVCounterNonce, out.generatedIv));
    if (out.tag && !legacyTag) fields.push(byteString(Tag.AuthenticatedEncryptionTag, out.tag));
    return fields;
  },
});
