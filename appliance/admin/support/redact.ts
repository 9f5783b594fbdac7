// The support bundle's second line of defence: whatever was collected (command output, logs) is
// scrubbed of text shaped like a secret before it is archived. The first line is collecting only
// known-safe things (support-bundle.ts); this pass catches what a log line or a tool printed anyway.
// It errs towards removing too much: a support engineer can ask again, a leaked key cannot be recalled.

export interface Scrubbed {
  readonly text: string;
  /** How many pieces of text were removed, by kind. */
  readonly removed: Readonly<Record<string, number>>;
}

/** PEM blocks of any kind (private keys, PKCS#12 or PKCS#8 blobs, certificates); an unterminated one runs to the end. */
const PEM = /-----BEGIN ([A-Z0-9 #-]{1,64})-----[\s\S]*?(?:-----END \1-----|$)/g;
/** crypt(3) hashes (yescrypt, gost-yescrypt, scrypt, SHA-512/256, bcrypt, MD5, argon2) and the key server's scrypt credential hashes. */
const PASSWORD_HASH = /\$(?:y|gy|7|6|5|2[abxy]?|1|md5|sha1|argon2(?:id|i|d))\$[^\s:'",;]{8,}|\bscrypt\$[^\s'",;]+/g;
/** "password=…", "secret: …", "Bearer …": the value goes, the name stays. */
const NAMED_SECRET = /\b((?:pass(?:word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key)\s*[:=]\s*"?|authorization\s*:\s*(?:bearer\s+|basic\s+)?|bearer\s+)[^\s"',;]+/gi;
/** 16 bytes or more as hex: contiguous, or as pairs separated by ':', '-' or spaces (openssl -text spreads them over lines). */
const HEX = /(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{32,}|(?:[0-9A-Fa-f]{2}[:\s-]{1,12}){15,}[0-9A-Fa-f]{2})(?![0-9A-Za-z])/g;
/** 18 bytes or more as base64 or as base64url (apart: a path's '/' and a name's '-' or '_' do not join into one run). */
const BASE64 = /[A-Za-z0-9+/]{24,}={0,2}|[A-Za-z0-9_-]{24,}={0,2}/g;

/** Base64 of random bytes mixes digits and both cases (or is padded); words, paths and unit names rarely do. */
function looksEncoded(run: string): boolean {
  return run.endsWith('=') || (/[0-9]/.test(run) && /[A-Z]/.test(run) && /[a-z]/.test(run));
}

/** Hex as a key, for comparing with the values the bundle itself lists (serials, fingerprints). */
const hexKey = (s: string): string => s.replace(/[^0-9A-Fa-f]/g, '').toLowerCase();

/**
 * Removes what looks like a secret from `text`. `publicHex`: hex values that are known to be public
 * (certificate serials and fingerprints the bundle lists) and stay.
 */
export function scrub(text: string, publicHex: ReadonlySet<string> = new Set()): Scrubbed {
  const removed: Record<string, number> = {};
  const count = (kind: string) => (removed[kind] = (removed[kind] ?? 0) + 1);
  const keep = new Set([...publicHex].map(hexKey));
  let t = text.replace(PEM, (_m, label: string) => (count('PEM block'), `[removed: PEM ${label.trim()} block]`));
  t = t.replace(PASSWORD_HASH, () => (count('password hash'), '[removed: password hash]'));
  t = t.replace(NAMED_SECRET, (_m, name: string) => (count('named secret'), `${name}[removed]`));
  t = t.replace(HEX, (m) => {
    if (keep.has(hexKey(m))) return m;
    count('hex');
    // The separator a multi-line run ended on stays, so the lines after it keep their place.
    return `[removed: ${hexKey(m).length / 2} bytes of hex]`;
  });
  t = t.replace(BASE64, (m) => (looksEncoded(m) ? (count('base64'), '[removed: base64]') : m));
  return { text: t, removed };
}

/** JSON with the values of secret-named fields replaced (a configuration's password hashes, tokens, keys). */
export function withoutSecretFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecretFields);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = /pass|secret|token|hash|private|credential.?key|^key$|material/i.test(k) && typeof v !== 'boolean' ? '[removed]' : withoutSecretFields(v);
  }
  return out;
}
