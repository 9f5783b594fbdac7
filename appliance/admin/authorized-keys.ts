// The admin account's authorized keys file: root's (sshd AuthorizedKeysFile), so the admin cannot
// change it but through the helper. Written whole, atomically.
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeAtomic } from '../boot/write-atomic.js';
import type { AppliancePaths } from './paths.js';
import { readAuthorizedKeys, type SshPublicKey } from './ssh-keys.js';

export const MAX_KEYS = 32;

export interface KeySummary {
  type: string;
  bits: number;
  comment: string;
  fingerprint: string;
}

export const keySummary = (k: SshPublicKey): KeySummary => ({ type: k.type, bits: k.bits, comment: k.comment, fingerprint: k.fingerprint });

export function readKeys(paths: AppliancePaths): SshPublicKey[] {
  return existsSync(paths.authorizedKeys) ? readAuthorizedKeys(readFileSync(paths.authorizedKeys, 'utf8')) : [];
}

/**
 * sshd opens the file as the user logging in (auth2-pubkey.c, temporarily_use_uid): the directory
 * must be searchable (0755) and the file readable (0644) by admin, whatever the helper's umask (0077,
 * which mkdir's mode does not override). Only root may write either. tmpfiles re-asserts both at boot.
 */
export function writeKeys(paths: AppliancePaths, keys: readonly SshPublicKey[]): void {
  const dir = dirname(paths.authorizedKeys);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  writeAtomic(paths.authorizedKeys, `# Managed by the Keyhaven admin menu.\n${keys.map((k) => `${k.line}\n`).join('')}`, 0o644);
}
