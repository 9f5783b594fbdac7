// The admin account's authorized keys file: root's (sshd AuthorizedKeysFile), so the admin cannot
// change it but through the helper. Written whole, atomically.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
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

export function writeKeys(paths: AppliancePaths, keys: readonly SshPublicKey[]): void {
  mkdirSync(dirname(paths.authorizedKeys), { recursive: true, mode: 0o755 });
  const tmp = `${paths.authorizedKeys}.tmp-${process.pid}`;
  writeFileSync(tmp, `# Managed by the Keyhaven admin menu.\n${keys.map((k) => `${k.line}\n`).join('')}`, { mode: 0o644 });
  renameSync(tmp, paths.authorizedKeys);
}
