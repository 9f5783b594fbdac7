// Authorises an SSH public key for the admin account (ssh-ed25519, ECDSA, or RSA ≥ 3072 bits).
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { defineAction } from '../action.js';
import { keySummary, MAX_KEYS, readKeys, writeKeys } from '../authorized-keys.js';
import { parseSshPublicKey } from '../ssh-keys.js';

export const sshKeyAdd = defineAction({
  name: 'ssh-key.add',
  title: 'Add SSH Key',
  schema: z.object({ key: z.string().max(20_000) }).strict(),
  async run(p, ctx) {
    const key = parseSshPublicKey(p.key);
    const keys = readKeys(ctx.paths);
    if (keys.some((k) => k.fingerprint === key.fingerprint)) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `this key (${key.fingerprint}) is already authorised`);
    if (keys.length >= MAX_KEYS) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `${MAX_KEYS} keys are authorised already: remove one first`);
    writeKeys(ctx.paths, [...keys, key]);
    return { result: keySummary(key), summary: `added SSH key ${key.type} ${key.bits} bits ${key.fingerprint}${key.comment ? ` (${key.comment})` : ''}`, objectId: key.fingerprint };
  },
});
