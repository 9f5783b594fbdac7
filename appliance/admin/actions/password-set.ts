// Changes the admin password (policy: appliance/accounts/password-policy.ts). The current password
// is verified first against the shadow file's hash (admin-account.ts); a wrong one is refused and
// recorded, and after MAX_WRONG of them within LOCK_MINUTES the change is refused without checking
// (as the SSH login's lockout does: guessing through the menu is no cheaper than at the login). The
// same password again is refused. The menu asks twice; the helper checks the policy again before
// chpasswd sees it. No password is ever logged.
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { setAdminPassword, verifyAdminPassword } from '../../accounts/admin-account.js';
import { defineAction, type ActionContext } from '../action.js';

export const WRONG_CURRENT = 'the current password is wrong';
const MAX_WRONG = 5;
const LOCK_MINUTES = 15;
const TITLE = 'Change Admin Password';

/** Wrong current passwords recorded in the last LOCK_MINUTES, since the last change. */
function recentWrong(ctx: ActionContext): number {
  const since = Date.now() - LOCK_MINUTES * 60_000;
  let n = 0;
  for (const r of ctx.audit.tail(200).reverse()) {
    if (r.operation !== TITLE || Date.parse(r.time) < since) continue;
    if (r.result === 'success') break;
    if (r.reason.startsWith(WRONG_CURRENT)) n++;
  }
  return n;
}

export const passwordSet = defineAction({
  name: 'account.set-password',
  title: TITLE,
  schema: z.object({ current: z.string().max(1024), password: z.string().max(1024) }).strict(),
  async run(p, ctx) {
    if (recentWrong(ctx) >= MAX_WRONG) {
      throw new KeyhavenError(ErrorCodes.PASSWORD_REFUSED, `too many wrong current passwords: try again in ${LOCK_MINUTES} minutes`);
    }
    if (!(await verifyAdminPassword(p.current, ctx.paths.shadow))) throw new KeyhavenError(ErrorCodes.PASSWORD_REFUSED, `${WRONG_CURRENT}: the password was not changed`);
    if (p.password === p.current) throw new KeyhavenError(ErrorCodes.PASSWORD_REFUSED, 'the new password is the same as the current one: choose another');
    const hostname = ctx.settings.read().hostname;
    await setAdminPassword(p.password, { hostname, ...(ctx.chpasswd ? { chpasswd: ctx.chpasswd } : {}) });
    return { result: {}, summary: 'changed the admin password', objectId: 'admin' };
  },
});
