// The `admin` account: the only account with a password, whose login program is the menu. Its
// password is set only through here (first-boot wizard, menu), after checkPassword() accepted it;
// chpasswd hashes it with the method /etc/login.defs names (yescrypt on Debian 13).
import { execFile } from 'node:child_process';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import { checkPassword } from './password-policy.js';

export const ADMIN_USER = 'admin';

export interface AccountTools {
  /** Default /usr/sbin/chpasswd. */
  readonly chpasswd?: string;
  readonly hostname?: string;
}

export function setAdminPassword(password: string, tools: AccountTools = {}): Promise<void> {
  const verdict = checkPassword(password, { username: ADMIN_USER, ...(tools.hostname ? { hostname: tools.hostname } : {}) });
  if (!verdict.ok) return Promise.reject(new KeyhavenError(ErrorCodes.PASSWORD_REFUSED, verdict.reasons.join(' ')));
  return new Promise((resolve, reject) => {
    const child = execFile(tools.chpasswd ?? '/usr/sbin/chpasswd', [], { timeout: 30_000 }, (err, _stdout, stderr) => {
      // Never echo the input: chpasswd's messages name the user, not the password.
      if (err) reject(new KeyhavenError(ErrorCodes.ACCOUNT_UPDATE_FAILED, `setting the ${ADMIN_USER} password failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
    child.stdin?.end(`${ADMIN_USER}:${password}\n`);
  });
}
