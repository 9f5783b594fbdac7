// Changes the admin password (policy: appliance/accounts/password-policy.ts). The menu asks twice;
// the helper checks the policy again before chpasswd sees it. The password is never logged.
import { z } from 'zod';
import { setAdminPassword } from '../../accounts/admin-account.js';
import { defineAction } from '../action.js';

export const passwordSet = defineAction({
  name: 'account.set-password',
  title: 'Change Admin Password',
  schema: z.object({ password: z.string().max(1024) }).strict(),
  async run(p, ctx) {
    const hostname = ctx.settings.read().hostname;
    await setAdminPassword(p.password, { hostname, ...(ctx.chpasswd ? { chpasswd: ctx.chpasswd } : {}) });
    return { result: {}, summary: 'changed the admin password', objectId: 'admin' };
  },
});
