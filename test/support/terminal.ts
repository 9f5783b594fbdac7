// A program in a real pseudo-terminal, driven as a person would: tmux(1) runs it in a detached
// session, send-keys types, capture-pane reads the screen. For the first-boot wizard, the admin menu
// and the menu over ssh.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export class Terminal {
  readonly session = `kh-${randomBytes(4).toString('hex')}`;
  /** A tmux server of its own: nothing another test does to its tmux sessions reaches this one. */
  private readonly socket = `kh-test-${randomBytes(4).toString('hex')}`;
  private constructor() {}

  /** -f /dev/null: no ~/.tmux.conf or /etc/tmux.conf changes what the tests see. */
  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** Starts `command` (argv) in a 120×50 terminal; the pane stays after exit so its output and status can be read. */
  static start(command: string[], env: Record<string, string> = {}): Terminal {
    const t = new Terminal();
    const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const exports = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}' `).join('');
    // The wrapper shell ignores the terminal's signals, as systemd's direct start of the program would
    // have no shell to kill: only the program under test reacts to Ctrl-C, Ctrl-\\ and Ctrl-Z.
    t.tmux(['new-session', '-d', '-s', t.session, '-x', '120', '-y', '50', `trap '' INT QUIT TSTP; ${exports}${quoted}; echo "[exit status $?]"; sleep 600`]);
    return t;
  }

  /** The screen and the `scrollback` lines above it (0: the visible screen only), wrapped lines joined. */
  screen(scrollback = 200): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', String(-scrollback), '-t', this.session]);
  }

  /** Everything shown, scrollback included (up to 5000 lines), wrapped lines joined. */
  history(): string {
    return this.screen(5000);
  }

  /** Types literal text (no key names interpreted). */
  type(text: string): void {
    this.tmux(['send-keys', '-t', this.session, '-l', '--', text]);
  }

  /** Presses keys by tmux name: Enter, BSpace, Down, C-c, C-z, C-d, C-\\ … */
  press(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.session, ...keys]);
  }

  /** Waits until the screen matches (text after `since` characters of the screen, if given). */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (pattern.test(s)) return s;
      if (Date.now() > until) throw new Error(`terminal never showed ${pattern}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Waits until the last non-empty lines (the active prompt and its message) match: text earlier on
   * the screen, from a previous round of the same question, does not count.
   */
  async waitForTail(pattern: RegExp, timeoutMs = 20_000, lines = 3): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const tail = this.screen().split('\n').filter((l) => l.trim()).slice(-lines).join('\n');
      if (pattern.test(tail)) return tail;
      if (Date.now() > until) throw new Error(`terminal never ended with ${pattern}; last lines:\n${tail}\nscreen:\n${this.screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The program's exit status once it ended. */
  async exitStatus(timeoutMs = 20_000): Promise<number> {
    const m = /\[exit status (\d+)\]/.exec(await this.waitFor(/\[exit status \d+\]/, timeoutMs));
    return Number(m![1]);
  }

  close(): void {
    try {
      execFileSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}
