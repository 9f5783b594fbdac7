// A session whose terminal goes away (the SSH connection drops, the client is closed): the menu ends
// as a hung-up login session does, by SIGHUP, and prints no error. Under Node 20 a normal exit on a
// terminal that is gone aborts the process (it cannot restore the terminal mode), which auditd
// records as an abnormal end (ANOM_ABEND sig=6) on every dropped session; it was seen on the appliance.
// A real pseudo-terminal, made the menu's controlling terminal, closed by its master side: what sshd
// does when the connection ends. Debian's Python drives it (Node has no pseudo-terminal API).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { MENU_OPTIONS } from '../../appliance/menu/options/index.js';
import { AdminSandbox, KEYHAVEN } from './helpers/admin-sandbox.js';

const PYTHON = '/usr/bin/python3';

/**
 * Runs argv in a new session with a pseudo-terminal as its controlling terminal (stderr to a pipe);
 * waits for `expect` on the screen, types `keys` (one write each), waits for `then`, closes the terminal, and reports
 * how the process ended. Every wait has a deadline.
 */
const HARNESS = String.raw`
import fcntl, json, os, re, select, subprocess, sys, termios, time
spec = json.loads(sys.argv[1])
master, slave = os.openpty()
def controlling():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
p = subprocess.Popen(spec['argv'], stdin=slave, stdout=slave, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=controlling if spec['controlling'] else None, env=spec['env'])
os.close(slave)
screen = b''
def wait_for(pattern, seconds, since=0):
    global screen
    deadline = time.time() + seconds
    while time.time() < deadline:
        if re.search(pattern.encode(), screen[since:]): return True
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try: screen += os.read(master, 65536)
            except OSError: return False
    return False
seen = wait_for(spec['expect'], 60)
if seen and spec.get('keys'):
    # The menu drops keys typed while it draws: let the list settle first.
    wait_for('Log out', 10); time.sleep(1)
    typed = len(screen)
    for k in spec['keys']:
        os.write(master, k.encode()); time.sleep(0.5)
    seen = wait_for(spec['then'], 60, typed)
os.close(master)
try:
    code = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill(); code = p.wait()
    print(json.dumps({'seen': seen, 'hung': True})); sys.exit()
print(json.dumps({'seen': seen, 'hung': False, 'signal': -code if code < 0 else None, 'exit': code if code >= 0 else None, 'stderr': p.stderr.read().decode(errors='replace')[-3000:], 'screen': screen.decode(errors='replace')[-1500:]}))
`;

interface Ended {
  seen: boolean;
  hung: boolean;
  signal: number | null;
  exit: number | null;
  stderr: string;
  screen: string;
}

let box: AdminSandbox;
before(async () => {
  box = await AdminSandbox.start();
});
after(async () => {
  await box?.stop();
});

/**
 * `keys`: what is typed, one write each, half a second apart (as a person presses keys); `then` is
 * looked for in what came after them. `controlling`: the terminal is the menu's controlling terminal
 * (the kernel sends SIGHUP when it goes); without, the hang-up reaches the menu only as end of input.
 */
function hangUp(expect: string, keys?: string[], then?: string, controlling = true): Ended {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', LANG: 'C.UTF-8', KEYHAVEN_ADMIN_SOCKET: box.socket };
  const spec = { argv: [process.execPath, KEYHAVEN, 'menu'], env, expect, keys, then, controlling };
  const r = spawnSync(PYTHON, ['-c', HARNESS, JSON.stringify(spec)], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `the pseudo-terminal harness failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Ended;
}

const SIGHUP = 1;

test('the terminal goes away at the main menu: the menu ends by SIGHUP, with no error', () => {
  const e = hangUp('Main menu');
  assert.ok(e.seen, `the main menu was shown: ${e.screen}`);
  assert.equal(e.hung, false, 'the menu ended');
  assert.equal(e.signal, SIGHUP, `ended by SIGHUP, not signal ${e.signal} or exit ${e.exit}: ${e.stderr}`);
  assert.doesNotMatch(e.stderr, /Assertion failed|Error|EIO/, e.stderr);
});

test('the terminal goes away in a form: the same', () => {
  // Down to Network settings and Enter: its first question waits for input when the terminal goes.
  const down = MENU_OPTIONS.findIndex((o) => o.label === 'Network settings');
  assert.ok(down > 0);
  const e = hangUp('Main menu', [...Array<string>(down).fill('\x1b[B'), '\r'], 'Host name.{0,20}\\(keyhaven\\)');
  assert.ok(e.seen, `the form's first question was shown: ${e.screen}`);
  assert.equal(e.hung, false, 'the menu ended');
  assert.equal(e.signal, SIGHUP, `ended by SIGHUP, not signal ${e.signal} or exit ${e.exit}: ${e.stderr}`);
  assert.doesNotMatch(e.stderr, /Assertion failed|Error|EIO/, e.stderr);
});

test('a terminal that goes away without a SIGHUP (not the controlling terminal): the same, from the end of input', () => {
  const e = hangUp('Main menu', undefined, undefined, false);
  assert.ok(e.seen, `the main menu was shown: ${e.screen}`);
  assert.equal(e.hung, false, 'the menu ended');
  assert.equal(e.signal, SIGHUP, `ended by SIGHUP, not signal ${e.signal} or exit ${e.exit}: ${e.stderr}`);
  assert.doesNotMatch(e.stderr, /Assertion failed|Error|EIO/, e.stderr);
});
