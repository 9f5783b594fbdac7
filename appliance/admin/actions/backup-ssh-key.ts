// The appliance's SSH key for the backup host (ed25519, made on first use as the key server's
// account): the administrator installs its public half in the backup account's authorized_keys.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';

export const backupSshKey = defineAction({
  name: 'backup.ssh-key',
  title: 'Show Backup SSH Key',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const k = await asDataOwner(ctx.paths, 'backup.ssh-key', { create: true });
    return { result: { publicKey: k.publicKey!, created: k.created }, summary: `${k.created ? 'made' : 'showed'} the appliance's SSH key for the backup host`, objectId: 'backup/ssh-key' };
  },
});
