// `keyhaven menu`: the admin account's only program (its login shell and sshd's ForceCommand).
// Whatever happens it never hands out a shell: job-control and quit keys are ignored, Ctrl-C and
// Ctrl-D in an entry return to the menu, Ctrl-D at the menu, "Log out", a closed connection or 15
// minutes without input end the session, and an unexpected error returns to the menu. When this
// process ends, the session ends (there is no shell behind it).
import { hostname } from 'node:os';
import { ADMIN_SOCKET } from '../admin/paths.js';
import type { MenuOption } from './option.js';
import { MENU_OPTIONS } from './options/index.js';
import { ActionRefused, Interrupted, terminalUi, type Ui } from './ui.js';

export const IDLE_MINUTES = 15;
const LOGOUT = Symbol('logout');

export interface MenuOptions {
  readonly ui: Ui;
  readonly version: string;
  readonly options?: readonly MenuOption[];
}

/** The SSH client's address (sshd's SSH_CONNECTION), or "console". */
export function clientAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.SSH_CONNECTION?.split(' ')[0] || 'console';
}

export async function runMenuLoop(o: MenuOptions): Promise<'logout' | 'closed' | 'idle'> {
  const options = o.options ?? MENU_OPTIONS;
  const { ui } = o;
  ui.print(`\nKeyhaven ${o.version} administration — ${hostname()}\nArrow keys and Enter to choose; Ctrl-C cancels an entry; Ctrl-D or "Log out" ends the session.`);
  for (;;) {
    let choice: MenuOption | typeof LOGOUT;
    try {
      choice = await ui.select<MenuOption | typeof LOGOUT>('Main menu', [...options.map((op) => ({ name: op.label, value: op, description: op.description })), { name: 'Log out', value: LOGOUT }]);
    } catch (err) {
      if (err instanceof Interrupted) {
        if (err.kind === 'ctrl-c') continue;
        return err.kind === 'eof' ? 'logout' : err.kind;
      }
      throw err;
    }
    if (choice === LOGOUT) return 'logout';
    try {
      await choice.run(ui);
    } catch (err) {
      if (err instanceof Interrupted) {
        if (err.kind === 'closed' || err.kind === 'idle') return err.kind;
        ui.print('\nCancelled: back to the main menu.\n');
      } else if (err instanceof ActionRefused) {
        ui.print(err.userFault ? `\nRefused: ${err.message}\nNothing was changed.\n` : `\nFailed: ${err.message} [${err.code}]\n`);
      } else {
        ui.print(`\nSomething went wrong: ${(err as Error)?.message ?? String(err)}\nBack to the main menu.\n`);
      }
    }
  }
}

/**
 * The terminal hung up (the SSH connection or the console session ended): end as a hung-up login
 * session does, by SIGHUP's default action, at once. A normal exit would have Node restore the
 * terminal's mode on a terminal that is gone, and Node 20 aborts when that fails (SIGABRT, which
 * auditd reports as an abnormal end, on every dropped session; nodejs/node#51519, fixed after Node 20).
 * Nothing is lost: the helper finishes and records a request whose answer nobody reads.
 */
function hangUp(): Promise<never> {
  process.removeAllListeners('SIGHUP');
  process.kill(process.pid, 'SIGHUP');
  return new Promise(() => undefined); // not reached: the signal ends the process
}

/** Every sign of a hang-up ends the session by hangUp, whichever comes first and whatever the menu is doing. */
function endOnHangUp(): void {
  const gone = () => void hangUp();
  // The kernel's SIGHUP (ours comes before the prompt library's, which would otherwise only cancel a prompt).
  process.on('SIGHUP', gone);
  // End of input on a terminal is a hang-up (Ctrl-D is a key in raw mode); reading or writing it fails with EIO.
  process.stdin.once('end', gone);
  process.stdin.once('close', gone);
  process.stdin.on('error', gone);
  process.stdout.on('error', gone);
}

export async function runMenu(version: string): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stdout.write('The Keyhaven admin menu needs a terminal: connect with ssh -t (no commands can be run).\n');
    return 1;
  }
  endOnHangUp();
  // Keys that would stop, quit or interrupt the process reach it as signals only outside prompts.
  for (const sig of ['SIGINT', 'SIGTSTP', 'SIGQUIT', 'SIGTTIN', 'SIGTTOU'] as const) process.on(sig, () => undefined);
  const idleSeconds = Number(process.env.KEYHAVEN_MENU_IDLE_SECONDS) || IDLE_MINUTES * 60;
  const ui = terminalUi({ socket: process.env.KEYHAVEN_ADMIN_SOCKET || ADMIN_SOCKET, clientAddress: clientAddress(), idleMs: idleSeconds * 1000 });
  let end: Awaited<ReturnType<typeof runMenuLoop>>;
  try {
    end = await runMenuLoop({ ui, version });
  } catch (err) {
    process.stdout.write(`\nThe menu stopped: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  } finally {
    ui.close();
  }
  if (end === 'closed') return hangUp();
  if (end === 'idle') process.stdout.write(`\nLogged out after ${Math.round(idleSeconds / 60)} minutes without input.\n`);
  else if (end === 'logout') process.stdout.write('\nLogged out.\n');
  return 0;
}
