// Runs one external build tool (mmdebstrap, tar, mkfs.ext4, grub-mkimage, …). Its output goes to the
// build log, not the terminal; when it fails, the error names the command and ends with the last
// lines it printed, so the reason is on screen without opening the log.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the command's standard input. */
  readonly input?: string | Buffer;
  /** Build log the command's output is appended to. */
  readonly logFile?: string;
  /** Return standard output (kept in memory; for small outputs). */
  readonly captureStdout?: boolean;
}

const TAIL_LINES = 25;

export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let tail = '';
    const keepTail = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-8192);
      if (options.logFile) appendFileSync(options.logFile, chunk);
    };
    child.stdout.on('data', (chunk: Buffer) => (options.captureStdout ? stdout.push(chunk) : keepTail(chunk)));
    child.stderr.on('data', keepTail);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code === 'ENOENT' ? ErrorCodes.IMAGE_TOOL_MISSING : ErrorCodes.IMAGE_BUILD_FAILED;
      const hint = err.code === 'ENOENT' ? ' (run `bash appliance/install-build-deps.sh` as root)' : '';
      reject(new KeyhavenError(code, `cannot run ${command}: ${err.message}${hint}`));
    });
    child.on('close', (status, signal) => {
      if (status === 0) return resolve(Buffer.concat(stdout).toString('utf8'));
      const lines = tail.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
      const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
      const log = options.logFile ? `\n(full output: ${options.logFile})` : '';
      reject(new KeyhavenError(ErrorCodes.IMAGE_BUILD_FAILED, `${command} ${args.join(' ')} ${how}:\n${lines}${log}`));
    });
    child.stdin.on('error', () => undefined); // a tool that does not read its input closes the pipe early
    child.stdin.end(options.input ?? '');
  });
}
