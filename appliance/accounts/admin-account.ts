// The `admin` account: the only account with a password, whose login program is the menu. Its
// password is set only through here (first-boot wizard, menu), after checkPassword() accepted it;
// chpasswd hashes it with the method /etc/login.defs names (yescrypt on Debian 13).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ErrorCodes, KeyhavenError } from '../errors.js';
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

/**
 * crypt(3) through Perl's built-in crypt(), which is libcrypt's (libxcrypt on Debian: yescrypt,
 * SHA-512, …): Node has none, perl-base is Essential in Debian (so in the image), and unlike
 * unix_chkpwd it reads the hash from the file given, which lets the tests use their own shadow file.
 * The hash and the password go through stdin, never the command line. Exit 0: match; 1: no match;
 * 2: the hash's scheme is not supported.
 */
const VERIFY_SCRIPT = 'local $/; my ($h, $p) = split /\\0/, <STDIN>, 2; my $c = crypt($p, $h); exit 2 if !defined $c || $c =~ /^\\*/; exit($c eq $h ? 0 : 1);';

/** The admin's password hash from the shadow file; undefined when the account has no usable password. */
function adminHash(shadow: string): string | undefined {
  const line = readFileSync(shadow, 'utf8').split('\n').find((l) => l.startsWith(`${ADMIN_USER}:`));
  const hash = line?.split(':')[1] ?? '';
  return /^\$[0-9a-z]+\$/.test(hash) ? hash : undefined;
}

/** True when `password` is the admin's current password (checked against `shadow`, as root). */
export function verifyAdminPassword(password: string, shadow = '/etc/shadow'): Promise<boolean> {
  let hash: string | undefined;
  try {
    hash = adminHash(shadow);
  } catch (err) {
    return Promise.reject(new KeyhavenError(ErrorCodes.ACCOUNT_UPDATE_FAILED, `the ${ADMIN_USER} password cannot be checked: ${(err as Error).message}`));
  }
  if (!hash) return Promise.reject(new KeyhavenError(ErrorCodes.ACCOUNT_UPDATE_FAILED, `the ${ADMIN_USER} account has no password to check against`));
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/perl', ['-e', VERIFY_SCRIPT], { timeout: 30_000, env: { PATH: '/usr/bin:/bin', LANG: 'C' } }, (err) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (code === 0 || code === 1) resolve(code === 0);
      else reject(new KeyhavenError(ErrorCodes.ACCOUNT_UPDATE_FAILED, `the ${ADMIN_USER} password cannot be checked (${code === 2 ? 'unsupported hash scheme' : err!.message})`));
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(`${hash}\0${password}`);
  });
}
