// Shared by the ova tests: external tools (skipped with a clear message when missing) and temp dirs.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: readonly string[], options: { encoding?: 'utf8' | 'buffer' } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { maxBuffer: 64 * 1024 * 1024, encoding: options.encoding === 'buffer' ? 'buffer' : 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** undefined when the command runs, else why the tests that need it are skipped. */
export async function missingTool(command: string, packageName: string): Promise<string | undefined> {
  const r = await run(command, ['--version']);
  return r.code === 0 ? undefined : `${command} is not installed (Debian package ${packageName}; test/install-deps.sh installs it)`;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'keyhaven-ova-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
