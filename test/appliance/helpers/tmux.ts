// A program in a pseudo-terminal under tmux, on a tmux server of its own (-L): other test suites
// that start or kill tmux servers on the machine cannot end it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export class PrivateTmux {
  readonly socket = `kh-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  private constructor() {}

  /** Starts argv in a 120×50 terminal; when it ends, its exit status is shown and the pane stays. */
  static start(argv: string[], env: Record<string, string> = {}): PrivateTmux {
    const t = new PrivateTmux();
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const exports = Object.entries(env).map(([k, v]) => `${k}=${q(v)} `).join('');
    t.tmux('new-session', '-d', '-s', 'main', '-x', '120', '-y', '50', `${exports}${argv.map(q).join(' ')}; echo "[exit status $?]"; sleep 600`);
    return t;
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** The visible screen. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', 'main');
  }

  /** Everything shown, scrollback included, wrapped lines joined. */
  history(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-5000', '-t', 'main');
  }

  type(text: string): void {
    this.tmux('send-keys', '-t', 'main', '-l', '--', text);
  }

  /** Keys by tmux name: Enter, Down, BSpace, C-c, C-z, C-d, C-\\ … */
  press(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'main', ...keys);
  }

  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = this.history();
      if (pattern.test(s)) return s;
      if (Date.now() > until) throw new Error(`the terminal never showed ${pattern}; it shows:\n${s.replace(/\n{3,}/g, '\n\n').slice(-6000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async exitStatus(timeoutMs = 20_000): Promise<number> {
    return Number(/\[exit status (\d+)\]/.exec(await this.waitFor(/\[exit status \d+\]/, timeoutMs))![1]);
  }

  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}
