// SSH public keys for the admin account: one pasted line of an OpenSSH .pub file, checked before it
// is stored. Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, and ssh-rsa of 3072 bits or more
// (sshd is told the same: RequiredRSASize 3072). Keys are stored with the `restrict,pty` options
// (sshd(8) AUTHORIZED_KEYS FILE FORMAT): no forwarding of any kind even if sshd_config changed.
import { createHash } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export const MIN_RSA_BITS = 3072;
const ECDSA_CURVES: Record<string, { curve: string; pointBytes: number }> = {
  'ecdsa-sha2-nistp256': { curve: 'nistp256', pointBytes: 65 },
  'ecdsa-sha2-nistp384': { curve: 'nistp384', pointBytes: 97 },
  'ecdsa-sha2-nistp521': { curve: 'nistp521', pointBytes: 133 },
};
const ALLOWED = ['ssh-ed25519', ...Object.keys(ECDSA_CURVES), 'ssh-rsa'];
const STORED_OPTIONS = 'restrict,pty';

export interface SshPublicKey {
  readonly type: string;
  readonly bits: number;
  readonly comment: string;
  /** SHA256:… as ssh-keygen -l prints it. */
  readonly fingerprint: string;
  /** The line written to the authorized keys file. */
  readonly line: string;
}

/** SHA256:… as ssh-keygen -l prints it: SHA-256 of the key blob, base64 without padding. */
const sshFingerprint = (blob: Buffer): string => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

const refuse = (message: string) => new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, message);

/** Reads the SSH wire format: uint32 length-prefixed strings (RFC 4251 §5). */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.at + 4 > this.buf.length) throw refuse('the key data is truncated: copy the whole line of the .pub file');
    const n = this.buf.readUInt32BE(this.at);
    if (this.at + 4 + n > this.buf.length) throw refuse('the key data is truncated: copy the whole line of the .pub file');
    const out = this.buf.subarray(this.at + 4, this.at + 4 + n);
    this.at += 4 + n;
    return out;
  }
  done(): boolean {
    return this.at === this.buf.length;
  }
}

function bitLength(mpint: Buffer): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i]!));
}

export function parseSshPublicKey(text: string): SshPublicKey {
  const line = text.trim();
  if (line.length === 0) throw refuse('no key given: paste the single line of your public key file (e.g. ~/.ssh/id_ed25519.pub)');
  if (/PRIVATE KEY/.test(line)) throw refuse('this is a PRIVATE key: never paste it anywhere. Paste the public key (the .pub file) instead, and consider this private key exposed');
  if (line.length > 16 * 1024) throw refuse('the key is too long to be an SSH public key');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(line)) throw refuse('the key must be one line without control characters: paste the single line of the .pub file');
  const [type = '', data = '', ...rest] = line.split(/[ \t]+/);
  if (!ALLOWED.includes(type)) {
    const hint = /^(ssh-dss|sk-|ssh-ed448)/.test(type) ? `${type} keys are not accepted. ` : /=|"|,/.test(type) ? 'Options before the key are not accepted. ' : `"${type.slice(0, 40)}" is not a key type. `;
    throw refuse(`${hint}Paste a public key of type ${ALLOWED.join(', ')} (RSA at least ${MIN_RSA_BITS} bits)`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw refuse('the key data is not base64: copy the whole line of the .pub file');
  const comment = rest.join(' ');
  if (comment.length > 200) throw refuse('the comment after the key is longer than 200 characters');
  const blob = Buffer.from(data, 'base64');
  const r = new Reader(blob);
  const inner = r.string().toString('latin1');
  if (inner !== type) throw refuse(`the key data is of type "${inner.slice(0, 40)}", not ${type}: the line was edited or mixed up`);
  let bits: number;
  if (type === 'ssh-ed25519') {
    if (r.string().length !== 32) throw refuse('the ssh-ed25519 key data is malformed');
    bits = 256;
  } else if (type === 'ssh-rsa') {
    r.string(); // e
    bits = bitLength(r.string());
    if (bits < MIN_RSA_BITS) throw refuse(`this RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required: generate a new key, e.g. ssh-keygen -t ed25519`);
  } else {
    const { curve, pointBytes } = ECDSA_CURVES[type]!;
    if (r.string().toString('latin1') !== curve) throw refuse(`the ${type} key names another curve: the line was edited`);
    const q = r.string();
    if (q.length !== pointBytes || q[0] !== 4) throw refuse(`the ${type} key data is malformed`);
    bits = Number(curve.slice(5));
  }
  if (!r.done()) throw refuse(`the ${type} key data has extra bytes: the line was edited`);
  const fingerprint = sshFingerprint(blob);
  const safeComment = comment.replace(/[^\x20-\x7e]/g, '?');
  return { type, bits, comment: safeComment, fingerprint, line: `${STORED_OPTIONS} ${type} ${data}${safeComment ? ` ${safeComment}` : ''}` };
}

/** Keys of an authorized keys file (lines this module wrote; anything else is ignored). */
export function readAuthorizedKeys(text: string): SshPublicKey[] {
  const keys: SshPublicKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const withoutOptions = line.startsWith(`${STORED_OPTIONS} `) ? line.slice(STORED_OPTIONS.length + 1) : line;
    try {
      keys.push(parseSshPublicKey(withoutOptions));
    } catch {
      // not a key this appliance accepts: sshd may still read it, but the menu does not manage it
    }
  }
  return keys;
}
