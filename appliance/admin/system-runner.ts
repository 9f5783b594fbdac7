// How the helper touches the running system (systemctl, nft, chpasswd…). The real runner executes
// the command; tests inject a recording runner, so reboot or a firewall load is asserted, not done.
import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Return a non-zero exit instead of throwing (for queries such as systemctl is-active). */
  readonly allowFailure?: boolean;
}

export interface SystemRunner {
  /** Runs `command args…` (absolute path, no shell) with `input` on stdin; throws ADMIN_ACTION_FAILED unless it exits 0. */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export const realRunner: SystemRunner = {
  run(command, args, options = {}) {
    return new Promise((resolve, reject) => {
      const child = execFile(command, [...args], { timeout: options.timeoutMs ?? 60_000, maxBuffer: 4 * 1024 * 1024, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' } }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (err && options.allowFailure && typeof err.code === 'number') resolve({ stdout: String(stdout), stderr: String(stderr), code });
        else if (err) {
          const why = String(stderr).trim() || err.message;
          reject(new KeyhavenError(ErrorCodes.ADMIN_ACTION_FAILED, `${[command, ...args].join(' ')} failed: ${why}`, { cause: err }));
        } else resolve({ stdout: String(stdout), stderr: String(stderr), code });
      });
      child.stdin?.on('error', () => {});
      child.stdin?.end(options.input ?? '');
    });
  },
};

/** A command after which systemd stops every service, the caller's included. */
const TAKES_SYSTEM_DOWN = /^\/usr\/bin\/systemctl (--no-block )?(reboot|poweroff|halt)$/;

/**
 * Records each command as one JSON line in `file` and answers from `replies` (by "command args"
 * prefix) or with empty output. Never records `input` (it may be a password). Commands in `really`
 * (read-only queries such as journalctl) are run for real after being recorded, so a test sees what
 * this machine answers.
 */
export function recordingRunner(file: string, replies: Record<string, string> = {}, really: ReadonlySet<string> = new Set(), systemDown?: () => void): SystemRunner {
  return {
    async run(command, args, options) {
      appendFileSync(file, `${JSON.stringify([command, ...args])}\n`);
      const line = [command, ...args].join(' ');
      // With `systemDown`, a recorded reboot or power-off ends the caller, as systemd's stop would.
      if (systemDown && TAKES_SYSTEM_DOWN.test(line)) systemDown();
      const key = Object.keys(replies).find((k) => line.startsWith(k));
      if (key === undefined && really.has(command)) return realRunner.run(command, args, options);
      return { stdout: key ? replies[key]! : '', stderr: '', code: 0 };
    },
  };
}
