// The admin menu in a real pseudo-terminal (tmux), driven as a person would, against a helper's socket.
import assert from 'node:assert/strict';
import { MENU_OPTIONS } from '../../../appliance/menu/options/index.js';
import { Terminal } from '../../support/terminal.js';
import { KEYHAVEN } from './admin-sandbox.js';

export class Menu {
  /** The screen before the last keys were sent: expect() waits for a match that is new since then. */
  private before = '';
  private constructor(readonly t: Terminal) {}

  static async open(socket: string, env: Record<string, string> = {}): Promise<Menu> {
    const t = Terminal.start([process.execPath, KEYHAVEN, 'menu'], { KEYHAVEN_ADMIN_SOCKET: socket, ...env });
    const m = new Menu(t);
    await m.t.waitFor(/\? Main menu/, 30_000);
    return m;
  }

  /** Everything the terminal showed (scrollback included), wrapped lines joined. */
  history(): string {
    return this.t.history();
  }

  private send(fn: () => void): void {
    this.before = this.history();
    fn();
  }

  press(...keys: string[]): void {
    this.send(() => this.t.press(...keys));
  }

  type(text: string): void {
    this.send(() => this.t.type(text));
  }

  enter(text = ''): void {
    this.send(() => {
      if (text) this.t.type(text);
      this.t.press('Enter');
    });
  }

  /** Waits until `pattern` matches more often than before the last keys were sent. */
  async expect(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const g = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
    const count = (text: string) => text.match(g)?.length ?? 0;
    const base = count(this.before);
    const until = Date.now() + timeoutMs;
    for (;;) {
      const now = this.history();
      if (count(now) > base) return now;
      if (Date.now() > until) throw new Error(`the terminal never showed ${pattern} (again); it shows:\n${now.replace(/\n{3,}/g, '\n\n').slice(-6000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The main menu is the active prompt (at the bottom of the screen). */
  async atMainMenu(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.t.screen(0);
      const bottom = screen.slice(screen.lastIndexOf('\n? ') + 1);
      if (bottom.startsWith('? Main menu') && /navigate/.test(bottom)) return;
      if (Date.now() > until) throw new Error(`the main menu is not the active prompt; screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async choose(label: string): Promise<void> {
    await this.atMainMenu();
    const i = MENU_OPTIONS.findIndex((o) => o.label === label);
    assert.ok(i >= 0, label);
    this.press(...Array<string>(i).fill('Down'), 'Enter');
    await this.expect(new RegExp(`✔ Main menu ${label.replace(/[()/]/g, '\\$&')}\n`));
  }

  close(): void {
    this.t.close();
  }
}
