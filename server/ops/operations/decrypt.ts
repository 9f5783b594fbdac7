// KMIP 1.4 §4.30 Decrypt: the inverse of Encrypt with the same key, parameters and IV. A Deactivated
// or Compromised key still decrypts (§3.22), from its Process Start Date. GCM: the tag from
// Authenticated Encryption Tag (1.4), or for older clients the last Tag Length bytes of Data.
import { KmipError } from '../../errors.js';
import { byteString, textString } from '../../kmip/item.js';
import { Enum, Mask, Tag } from '../../kmip/tables.js';
import { setPlaceholder } from '../model/access.js';
import { aesDecrypt } from '../../crypto/aes-modes.js';
import { aesKeyBytes, parseCipherRequest, type CipherRequest } from '../crypto/cipher-request.js';
import { effectiveParams } from '../crypto/crypto-parameters.js';
import { keyForUse } from '../crypto/key-use.js';
import { operation } from '../pipeline/operation.js';
import { DEFAULT_MODE } from './encrypt.js';

export const decrypt = operation<CipherRequest & { minor: number }>({
  parse: (p, ctx) => ({ ...parseCipherRequest(p, ctx, 'Decrypt'), minor: ctx.version.minor }),
  run(r, ctx) {
    const { object: key, material } = keyForUse(ctx, r.uid, { mask: Mask.CryptographicUsageMask.Decrypt, maskName: 'Decrypt', use: 'process', bytes: r.data.length });
    const params = effectiveParams(r.params, key);
    const mode = params.blockCipherMode ?? DEFAULT_MODE;
    let data = r.data;
    let tag = r.tag;
    if (mode === Enum.BlockCipherMode.GCM && !tag && r.minor < 4) {
      const n = params.tagLength ?? 16;
      if (data.length < n) throw new KmipError(Enum.ResultReason.InvalidField, `Data is ${data.length} bytes: shorter than the ${n}-byte GCM tag it must end with`);
      tag = data.subarray(data.length - n);
      data = data.subarray(0, data.length - n);
    }
    const plain = aesDecrypt({
      key: aesKeyBytes(key, material, params),
      mode,
      padding: params.paddingMethod,
      data,
      ...(r.iv ? { iv: r.iv } : {}),
      ...(r.aad ? { aad: r.aad } : {}),
      ...(tag ? { tag } : {}),
    });
    setPlaceholder(ctx, key.uid);
    return [textString(Tag.UniqueIdentifier, key.uid), byteString(Tag.Data, plain)];
  },
});
