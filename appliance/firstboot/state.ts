// First-boot progress, kept outside the key server's data directory (root's, not keyhaven's):
//   first-boot-started   the wizard began changing the system (PKI, password) — a later run starts over
//   first-boot-complete  everything is in place; the key server, SSH and login prompts may run
// Units test the same paths (ConditionPathExists), so they are fixed.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_DIR = '/var/lib/keyhaven-appliance';
export const STARTED = join(STATE_DIR, 'first-boot-started');
export const COMPLETE = join(STATE_DIR, 'first-boot-complete');

export const firstBootComplete = (root = ''): boolean => existsSync(root + COMPLETE);
export const firstBootStarted = (root = ''): boolean => existsSync(root + STARTED);

function mark(path: string, root: string): void {
  mkdirSync(root + STATE_DIR, { recursive: true, mode: 0o755 });
  writeFileSync(root + path, `${new Date().toISOString()}\n`, { mode: 0o644 });
}

export const markStarted = (root = ''): void => mark(STARTED, root);

export function markComplete(root = ''): void {
  mark(COMPLETE, root);
  rmSync(root + STARTED, { force: true });
}
