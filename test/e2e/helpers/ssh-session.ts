// An SSH client session from a chosen local address (ssh2): what an administrator's terminal shows
// after logging in with a password, optionally asking for a command instead of the login program.
import { spawn } from 'node:child_process';
import { Client, type ClientChannel } from 'ssh2';

export interface SshOptions {
  readonly host: string;
  readonly from: string;
  readonly username: string;
  readonly password: string;
  /** A command to request (ForceCommand must override it); default: an interactive session. */
  readonly command?: string;
  /** Keys typed once the session shows `waitFor`, each after the previous output settled. */
  readonly keys?: readonly string[];
  readonly waitFor: RegExp;
  readonly timeoutMs: number;
}

/** Returns everything the session printed (ANSI sequences included) once `waitFor` matched and keys were sent. */
export function sshSession(o: SshOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let output = '';
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`SSH session never showed ${o.waitFor}; output:\n${output.slice(-2000)}`));
    }, o.timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      client.destroy(); // the guest is killed afterwards and would never close the connection
      resolve(output);
    };
    const drive = (channel: ClientChannel) => {
      let sent = false;
      channel.on('data', (d: Buffer) => {
        output += d.toString('utf8');
        if (!sent && o.waitFor.test(output)) {
          sent = true;
          const keys = [...(o.keys ?? [])];
          const next = () => {
            const k = keys.shift();
            if (k === undefined) return void setTimeout(finish, 1500);
            channel.write(k);
            setTimeout(next, 1500);
          };
          next();
        }
      });
      channel.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
      channel.on('close', () => (o.waitFor.test(output) ? finish() : (clearTimeout(timer), reject(new Error(`SSH session closed before ${o.waitFor}; output:\n${output}`)))));
    };
    client.on('ready', () => {
      const pty = { term: 'xterm', cols: 120, rows: 40 };
      if (o.command) client.exec(o.command, { pty }, (err, ch) => (err ? reject(err) : drive(ch)));
      else client.shell(pty, (err, ch) => (err ? reject(err) : drive(ch)));
    });
    client.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    client.connect({ host: o.host, port: 22, localAddress: o.from, username: o.username, password: o.password, readyTimeout: o.timeoutMs, tryKeyboard: false });
  });
}

/** Whether the server accepts this password (one attempt): true once authenticated, false when refused. */
export function sshAuthenticates(o: Pick<SshOptions, 'host' | 'from' | 'username' | 'password' | 'timeoutMs'>): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('ready', () => {
      client.destroy();
      resolve(true);
    });
    client.on('error', (err: Error & { level?: string }) => {
      client.destroy();
      if (err.level === 'client-authentication') resolve(false);
      else reject(err);
    });
    client.connect({ host: o.host, port: 22, localAddress: o.from, username: o.username, password: o.password, readyTimeout: o.timeoutMs, tryKeyboard: false });
  });
}

/**
 * An interactive session logged in with the password, driven step by step: each step waits for its
 * pattern in what arrived since the previous one, then types its text. Returns all the output.
 */
export function sshDialog(o: Omit<SshOptions, 'command' | 'keys' | 'waitFor'>, steps: readonly { expect: RegExp; send: string }[], final: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let output = '';
    let from = 0;
    let step = 0;
    const timer = setTimeout(() => {
      client.destroy();
      reject(new Error(`SSH dialog stuck at step ${step} (${String(steps[step]?.expect ?? final)}); output:\n${output.slice(-2000)}`));
    }, o.timeoutMs);
    client.on('ready', () => {
      client.shell({ term: 'xterm', cols: 120, rows: 40 }, (err, channel) => {
        if (err) return reject(err);
        channel.on('data', (d: Buffer) => {
          output += d.toString('utf8');
          for (;;) {
            const want = steps[step]?.expect ?? final;
            const m = want.exec(output.slice(from));
            if (!m) return;
            from += m.index + m[0].length;
            if (step === steps.length) {
              clearTimeout(timer);
              client.destroy();
              return resolve(output);
            }
            channel.write(steps[step]!.send);
            step++;
          }
        });
      });
    });
    client.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    client.connect({ host: o.host, port: 22, localAddress: o.from, username: o.username, password: o.password, readyTimeout: o.timeoutMs, tryKeyboard: false });
  });
}

export interface OpenSshResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** OpenSSH's own client (`ssh -b FROM …`), as an administrator runs it; never blocks this process. */
export function openSsh(args: readonly string[], timeoutMs = 120_000): Promise<OpenSshResult> {
  return new Promise((resolve) => {
    const child = spawn('ssh', ['-F', '/dev/null', '-o', 'ConnectTimeout=60', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
