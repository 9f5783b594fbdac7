// Removes one of the admin account's SSH keys, named by its SHA256 fingerprint.
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { defineAction } from '../action.js';
import { keySummary, readKeys, writeKeys } from '../authorized-keys.js';

export const sshKeyRemove = defineAction({
  name: 'ssh-key.remove',
  title: 'Remove SSH Key',
  schema: z.object({ fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be a SHA256:… fingerprint as listed') }).strict(),
  async run(p, ctx) {
    const keys = readKeys(ctx.paths);
    const gone = keys.find((k) => k.fingerprint === p.fingerprint);
    if (!gone) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `no authorised key has the fingerprint ${p.fingerprint}`);
    writeKeys(ctx.paths, keys.filter((k) => k !== gone));
    return { result: keySummary(gone), summary: `removed SSH key ${gone.type} ${gone.fingerprint}`, objectId: gone.fingerprint };
  },
});
