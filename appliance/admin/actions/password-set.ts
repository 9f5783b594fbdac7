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

/** The times of the wrong current passwords recorded in the last LOCK_MINUTES, since the last change, newest first. */
function recentWrong(ctx: ActionContext, now: number): number[] {
  const since = now - LOCK_MINUTES * 60_000;
  const times: number[] = [];
  for (const r of ctx.audit.tail(200).reverse()) {
    const t = Date.parse(r.time);
    if (r.operation !== TITLE || t < since) continue;
    if (r.result === 'success') break;
    if (r.reason.startsWith(WRONG_CURRENT)) times.push(t);
  }
  return times;
}

export const passwordSet = defineAction({
  name: 'account.set-password',
  title: TITLE,
  schema: z.object({ current: z.string().max(1024), password: z.string().max(1024) }).strict(),
  async run(p, ctx) {
    const now = Date.now();
    const wrong = recentWrong(ctx, now);
    if (wrong.length >= MAX_WRONG) {
      // A sliding window: tries are taken again once the MAX_WRONG-th newest wrong one is LOCK_MINUTES old.
      const minutes = Math.max(1, Math.ceil((wrong[MAX_WRONG - 1]! + LOCK_MINUTES * 60_000 - now) / 60_000));
      throw new KeyhavenError(ErrorCodes.PASSWORD_REFUSED, `too many wrong current passwords: try again in ${minutes} minute${minutes === 1 ? '' : 's'}`);
    }
    if (!(await verifyAdminPassword(p.current, ctx.paths.shadow))) throw new KeyhavenError(ErrorCodes.PASSWORD_REFUSED, `${WRONG_CURRENT}: the password was not changed`);
    if (p.password === p.current) throw new KeyhavenError(ErrorCodes.PASSWORD_REFUSED, 'the new password is the same as the current one: choose another');
    const hostname = ctx.settings.read().hostname;
    await setAdminPassword(p.password, { hostname, ...(ctx.chpasswd ? { chpasswd: ctx.chpasswd } : {}) });
    return { result: {}, summary: 'changed the admin password', objectId: 'admin' };
  },
});
