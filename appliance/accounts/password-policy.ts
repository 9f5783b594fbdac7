// The admin password policy (issue: no default password anywhere; length ≥ 15 and a strength check).
// NIST SP 800-63B §5.1.1.2: length matters most, refuse known-weak and context-specific values,
// no composition rules beyond that — but a 15-character password of one character class, or one
// built from a repeated or sequential run, is refused as guessable; so is a password found in a
// list of common (breached) passwords or a published example passphrase.
import { createRequire } from 'node:module';

export const MIN_LENGTH = 15;
export const MAX_LENGTH = 128;

/** Words whose presence makes up most of a weak password; matched case-insensitively. */
const WEAK_WORDS = ['password', 'passw0rd', 'p@ssw0rd', 'qwerty', 'azerty', 'letmein', 'welcome', 'admin', 'administrator', 'root', 'toor', 'keyhaven', 'vmware', 'vsphere', 'vcenter', 'changeme', 'default', 'secret', 'master', 'dragon', 'monkey', 'iloveyou', 'trustno1', 'abc123', '123456', '1234567890', '111111', '000000'];

/**
 * Known passphrases, made famous by being published as examples: long enough for every other rule,
 * and in every cracking dictionary. Compared with letters and digits only, as substrings.
 */
const KNOWN_PHRASES = ['correcthorsebatterystaple', 'thequickbrownfoxjumpsoverthelazydog', 'maytheforcebewithyou', 'tobeornottobethatisthequestion', 'iwanttobelieve', 'loremipsumdolorsitamet', 'thisismypassword', 'letmeinplease', 'opensesame'];

/** Common digit-for-letter swaps, undone before a password is looked up. */
const LEET: Record<string, string> = { '0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

let common: ReadonlySet<string> | undefined;
let commonLong: readonly string[] | undefined;
/**
 * The 49,233 passwords seen most often in public breach corpora, ranked: the "passwords-common"
 * dictionary of @zxcvbn-ts/language-common (MIT). Loaded on first use (1.3 MB of JSON, not paid by
 * every start of the menu and the helper), with require so that the check stays synchronous: the
 * package's main is CommonJS and it declares no "exports".
 */
function commonPasswords(): ReadonlySet<string> {
  if (common) return common;
  const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
  return (common = new Set(dictionary['passwords-common'].map((w) => w.toLowerCase())));
}

/** Those of 10 characters or more: long enough that containing one makes a password guessable. */
function longCommonPasswords(): readonly string[] {
  return (commonLong ??= [...commonPasswords()].filter((w) => w.length >= 10));
}

/** The password as a cracker's dictionary sees it: lower case, separators and common swaps gone. */
function lookupForms(pw: string): string[] {
  const lower = pw.toLowerCase();
  const plain = lower.replace(/[^\p{L}\p{N}]/gu, '');
  const unleet = [...lower].map((c) => LEET[c] ?? c).join('').replace(/[^\p{L}\p{N}]/gu, '');
  // Digits and symbols padded around a known word ("Password2024!") do not make it another word.
  const core = (x: string) => x.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  return [...new Set([lower, plain, unleet, core(lower), core(plain), core(unleet)])].filter(Boolean);
}

/** Why `pw` is a known password, or undefined. */
export function knownPassword(pw: string): string | undefined {
  const forms = lookupForms(pw);
  if (forms.some((f) => KNOWN_PHRASES.some((k) => f.includes(k)))) return 'This is a well-known published passphrase, in every cracking dictionary: choose your own words.';
  if (forms.some((f) => commonPasswords().has(f) || longCommonPasswords().some((w) => f.includes(w)))) return 'This is one of the most common passwords in breach lists: choose another.';
  return undefined;
}

export interface PasswordVerdict {
  readonly ok: boolean;
  /** Why it is refused, each a sentence the administrator can act on. Empty when ok. */
  readonly reasons: string[];
}

function classes(pw: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(pw)).length;
}

/** Length of the longest run of equal, ascending or descending characters (aaaa, abcd, 4321). */
function longestRun(pw: string): number {
  let best = 1;
  let same = 1;
  let up = 1;
  let down = 1;
  for (let i = 1; i < pw.length; i++) {
    const d = pw.charCodeAt(i) - pw.charCodeAt(i - 1);
    same = d === 0 ? same + 1 : 1;
    up = d === 1 ? up + 1 : 1;
    down = d === -1 ? down + 1 : 1;
    best = Math.max(best, same, up, down);
  }
  return best;
}

export function checkPassword(pw: string, context: { username?: string; hostname?: string } = {}): PasswordVerdict {
  const reasons: string[] = [];
  const chars = [...pw];
  if (chars.length < MIN_LENGTH) reasons.push(`Use at least ${MIN_LENGTH} characters (this has ${chars.length}).`);
  if (chars.length > MAX_LENGTH) reasons.push(`Use at most ${MAX_LENGTH} characters.`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(pw)) reasons.push('Control characters (including tabs and line breaks) cannot be used.');
  if (reasons.length > 0) return { ok: false, reasons };

  const lower = pw.toLowerCase();
  if (new Set(chars).size < Math.min(8, Math.ceil(chars.length / 2))) reasons.push('Use more different characters: too many repeat.');
  if (longestRun(pw) >= 4) reasons.push('Avoid runs such as "aaaa", "abcd" or "4321".');
  if (classes(pw) < 3 && chars.length < 20) reasons.push('Mix at least three of: lower case, upper case, digits, symbols — or use a passphrase of 20 characters or more.');
  const context_ = [context.username, context.hostname, context.hostname?.split('.')[0]].filter((w): w is string => !!w && w.length >= 3).map((w) => w.toLowerCase());
  let stripped = lower;
  for (const w of [...WEAK_WORDS, ...context_]) stripped = stripped.split(w).join('');
  // What is left once common words, the user and host names are removed must still be long.
  if ([...stripped].length < 10) reasons.push('Do not build the password from common words, "admin", the product or the host name.');
  const known = knownPassword(pw);
  if (known) reasons.push(known);
  return { ok: reasons.length === 0, reasons };
}
