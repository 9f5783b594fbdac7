// A process started in a network namespace, with the faults a test inflicts on it: kill -9, SIGSTOP,
// SIGCONT, and a clean stop. Output goes straight to files (not pipes): a stopped or killed process
// cannot lose or block on output, and the files are there to read after a failure.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNetns, REPO } from '../../firewall/helpers/sys.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Added to this process's environment. */
  env?: Record<string, string | undefined>;
  /** Default: the repository (where `--import tsx` resolves). */
  cwd?: string;
  /** Names the log files; default: the program's name. */
  name?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms until it returns a value, or throws `what` after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${typeof what === 'string' ? what : what()}: not after ${timeoutMs} ms`);
    await sleep(10);
  }
}

let serial = 0;

export class NodeProcess {
  readonly pid: number;
  readonly stdoutFile: string;
  readonly stderrFile: string;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;

  /** Runs `argv` in namespace `ns` (`ip netns exec` execs it: the pid is the program's own). */
  constructor(readonly ns: string, readonly argv: readonly string[], logDir: string, opts: SpawnOptions = {}) {
    const base = join(logDir, `${ns}.${opts.name ?? (argv[0] ?? 'process').split('/').pop()}.${++serial}`);
    this.stdoutFile = `${base}.out`;
    this.stderrFile = `${base}.err`;
    const out = openSync(this.stdoutFile, 'a');
    const err = openSync(this.stderrFile, 'a');
    try {
      // detached: its own process group, so a signal reaches the children a server may start too.
      const child = spawn('ip', inNetns(ns, ...argv), {
        cwd: opts.cwd ?? REPO,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', out, err],
        detached: true,
      });
      if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')} in ${ns}`);
      this.pid = child.pid;
      this.exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => resolve((this.status = { code, signal })));
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  get running(): boolean {
    return this.status === undefined;
  }

  /** 'R', 'S', 'T' (stopped), … from /proc; undefined once gone. */
  procState(): string | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return undefined;
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // the group is gone: exited meanwhile
    }
  }

  private async exitWithin(ms: number, what: string): Promise<ExitStatus> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: pid ${this.pid} (${this.argv.join(' ')}) has not exited after ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL to the process group; resolves with the exit status (signal 'SIGKILL'). */
  async kill9(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.exitWithin(10_000, 'kill9');
  }

  /**
   * Resolves once `ip netns exec` has entered the namespace and exec'd the program (or the process is
   * gone): from then on the pid is the program's, in its namespace.
   */
  async entered(): Promise<void> {
    await until(() => {
      try {
        return readFileSync(`/proc/${this.pid}/cmdline`, 'utf8').startsWith('ip\0netns\0exec\0') ? undefined : true;
      } catch {
        return true;
      }
    }, 10_000, `pid ${this.pid} entering ${this.ns}`);
  }

  /** SIGSTOP to the process group (the program, not `ip` before it); resolves once the kernel reports it stopped. */
  async stop(): Promise<void> {
    await this.entered();
    this.signal('SIGSTOP');
    await until(() => (this.procState() === 'T' || !this.running ? true : undefined), 5_000, `stop pid ${this.pid}`);
  }

  /** SIGCONT to the process group; resolves once it is no longer stopped. */
  async cont(): Promise<void> {
    this.signal('SIGCONT');
    await until(() => (this.procState() !== 'T' ? true : undefined), 5_000, `cont pid ${this.pid}`);
  }

  /** SIGTERM (and SIGCONT, so a stopped process can act on it); SIGKILL if still there after graceMs. */
  async terminate(graceMs = 5_000): Promise<ExitStatus> {
    this.signal('SIGTERM');
    this.signal('SIGCONT');
    try {
      return await this.exitWithin(graceMs, 'terminate');
    } catch {
      return this.kill9();
    }
  }

  stdout(): string {
    return existsSync(this.stdoutFile) ? readFileSync(this.stdoutFile, 'utf8') : '';
  }

  stderr(): string {
    return existsSync(this.stderrFile) ? readFileSync(this.stderrFile, 'utf8') : '';
  }

  /** Waits until standard output matches; throws (with the process's stderr) on timeout or exit. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    return until(
      () => {
        const m = pattern.exec(this.stdout());
        if (m) return m;
        if (!this.running) throw new Error(`pid ${this.pid} exited ${JSON.stringify(this.status)} before printing ${pattern}: ${this.stderr().slice(-2000)}`);
        return undefined;
      },
      timeoutMs,
      () => `waiting for ${pattern} from ${this.argv.join(' ')} (stderr: ${this.stderr().slice(-500)})`,
    );
  }
}
