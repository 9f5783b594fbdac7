// The admin account's authorized keys file: root's (sshd AuthorizedKeysFile), so the admin cannot
// change it but through the helper. Written whole, atomically.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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

/** 0644: sshd reads the file as the user logging in (auth2-pubkey.c, temporarily_use_uid). */
export function writeKeys(paths: AppliancePaths, keys: readonly SshPublicKey[]): void {
  mkdirSync(dirname(paths.authorizedKeys), { recursive: true, mode: 0o755 });
  writeAtomic(paths.authorizedKeys, `# Managed by the Keyhaven admin menu.\n${keys.map((k) => `${k.line}\n`).join('')}`, 0o644);
}
