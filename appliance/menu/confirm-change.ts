// Applying a settings change from the menu: the old and new values side by side and a question
// before anything is applied; then the helper's own confirmations (KH_ADMIN_CONFIRM_*: a
// consequence the helper names) asked one by one and the request sent again with the flag.
import { ErrorCodes } from '../errors.js';
import { showList } from './forms.js';
import { ActionRefused, type Ui } from './ui.js';

/**
 * Shows what changes and asks `question` (default Yes); false when declined (nothing is applied) or
 * when nothing would change: Enter through a form started from the current values applies nothing.
 */
export async function confirmChange(ui: Ui, what: string, before: readonly string[], after: readonly string[], question: string): Promise<boolean> {
  if (before.length === after.length && before.every((v, i) => v === after[i])) {
    unchanged(ui, `${what.replace(/:$/, '')} ${showList(before)}`);
    return false;
  }
  ui.print(`\n${what}\n  now:  ${showList(before)}\n  new:  ${showList(after)}`);
  if (await ui.confirm(question, true)) return true;
  ui.print('\nNothing was changed.\n');
  return false;
}

/** Says that the values given are those in use, so nothing was applied. */
export function unchanged(ui: Ui, what: string): void {
  ui.print(`\nNothing to change (in use now: ${what}).\n`);
}

/** The helper's confirmation codes, the flag that accepts each, and the question asked. */
const CONFIRMATIONS: Record<string, { flag: string; question: string }> = {
  [ErrorCodes.ADMIN_CONFIRM_BROAD]: { flag: 'acceptBroad', question: 'Allow SSH from all of these addresses anyway?' },
  [ErrorCodes.ADMIN_CONFIRM_LOCKOUT]: { flag: 'acceptLockout', question: 'Apply anyway, and lose SSH access from this address?' },
};

/** Calls `action`; each consequence the helper asks about is shown and must be accepted (default No). */
export async function callConfirming<R>(ui: Ui, action: string, params: Record<string, unknown>): Promise<{ result: R; summary: string } | undefined> {
  const accepted: Record<string, boolean> = {};
  for (;;) {
    try {
      return await ui.call<R>(action, { ...params, ...accepted });
    } catch (err) {
      const c = err instanceof ActionRefused ? CONFIRMATIONS[err.code] : undefined;
      if (!c || accepted[c.flag]) throw err;
      ui.print(`\nWARNING: ${(err as ActionRefused).message}`);
      if (!(await ui.confirm(c.question, false))) {
        ui.print('\nNothing was changed.\n');
        return undefined;
      }
      accepted[c.flag] = true;
    }
  }
}
