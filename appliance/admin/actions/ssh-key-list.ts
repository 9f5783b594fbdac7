// The admin account's SSH public keys.
import { z } from 'zod';
import { defineAction } from '../action.js';
import { keySummary, readKeys } from '../authorized-keys.js';

export const sshKeyList = defineAction({
  name: 'ssh-key.list',
  title: 'List SSH Keys',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const result = readKeys(ctx.paths).map(keySummary);
    return { result, summary: `listed ${result.length} SSH keys` };
  },
});
