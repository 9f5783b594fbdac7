// The SSH server's host keys: made on the appliance at first boot (never shipped in the image:
// 90-remove-build-access.sh deletes the build's), and their fingerprints as the SSH client shows them
// on a first connection ("ED25519 key fingerprint is SHA256:…"), so the administrator can check them
// against the console before typing a password.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseSshPublicKey } from '../admin/ssh-keys.js';

const run = promisify(execFile);

/** The host key types sshd is given (sshd-config.ts), in its order, with the name ssh and ssh-keygen -l print. */
export const HOST_KEY_TYPES = [
  { file: 'ssh_host_ed25519_key.pub', label: 'ED25519', types: ['ssh-ed25519'] },
  { file: 'ssh_host_ecdsa_key.pub', label: 'ECDSA', types: ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'] },
  { file: 'ssh_host_rsa_key.pub', label: 'RSA', types: ['ssh-rsa'] },
] as const;

export interface HostKeyFingerprint {
  /** ED25519, ECDSA or RSA. */
  readonly label: string;
  /** SHA256:… */
  readonly fingerprint: string;
}

/**
 * The fingerprint of one .pub line of one of the `allowed` types: read as the admin's keys are
 * (ssh-keys.ts, the same checks: the type named in the line must be the one inside the key data,
 * RSA of at least 3072 bits, which is what ssh-keygen -A makes).
 */
export function hostKeyFingerprint(pubLine: string, allowed: readonly string[]): string {
  const type = pubLine.trim().split(/\s+/)[0] ?? '';
  if (!allowed.includes(type)) throw new Error(`not a ${allowed.join('/')} public key`);
  try {
    return parseSshPublicKey(pubLine).fingerprint;
  } catch (err) {
    throw new Error(`the ${type} key data does not match its type, or is malformed: ${(err as Error).message}`);
  }
}

/** The fingerprints of the host keys present in `dir` (a missing or unreadable one is left out). */
export function hostKeyFingerprints(dir = '/etc/ssh'): HostKeyFingerprint[] {
  const out: HostKeyFingerprint[] = [];
  for (const k of HOST_KEY_TYPES) {
    const file = join(dir, k.file);
    if (!existsSync(file)) continue;
    try {
      out.push({ label: k.label, fingerprint: hostKeyFingerprint(readFileSync(file, 'utf8'), k.types) });
    } catch (err) {
      process.stderr.write(`SSH host key ${file}: ${(err as Error).message}\n`);
    }
  }
  return out;
}

/** Makes the missing host keys (ssh-keygen -A; under `root` for tests) and returns their fingerprints. */
export async function ensureHostKeys(root = '/'): Promise<HostKeyFingerprint[]> {
  await run('/usr/bin/ssh-keygen', ['-A', ...(root === '/' ? [] : ['-f', root])]);
  return hostKeyFingerprints(join(root, 'etc/ssh'));
}
