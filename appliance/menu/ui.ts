// What a menu option can do: ask (inquirer prompts that Ctrl-C, Ctrl-D, a closed connection or the
// idle timeout interrupt), paste several lines, print, and call the privileged helper.
import { confirm, input, password } from '@inquirer/prompts';
import { createInterface, emitKeypressEvents } from 'node:readline';
import { PassThrough } from 'node:stream';
import { callHelper } from '../admin/client.js';
import { ApplianceCodes } from '../errors.js';
import { selectPrompt } from './select-prompt.js';

/** Why a prompt did not complete. */
export type InterruptKind = 'ctrl-c' | 'eof' | 'closed' | 'idle';

export class Interrupted extends Error {
  constructor(readonly kind: InterruptKind) {
    super(`interrupted: ${kind}`);
    this.name = 'Interrupted';
  }
}

/** The helper refused or failed the request; the message says what to do. */
export class ActionRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The user can fix it by asking differently (the code's, sent by the helper). */
    readonly userFault: boolean,
  ) {
    super(message);
    this.name = 'ActionRefused';
  }
}

export interface Choice<T> {
  readonly name: string;
  readonly value: T;
  readonly description?: string;
}

export type Validate = (value: string) => string | true;

export interface Ui {
  /** ↑↓ and Enter only (select-prompt.ts); `default` is highlighted first: give the current setting. */
  select<T>(message: string, choices: readonly Choice<T>[], options?: { default?: T }): Promise<T>;
  input(message: string, options?: { default?: string; validate?: Validate }): Promise<string>;
  password(message: string, validate?: Validate): Promise<string>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
  /** Lines pasted until one matches `end` (included), or an empty line or Ctrl-D once something was pasted. */
  paste(message: string, end: RegExp): Promise<string>;
  print(text: string): void;
  /** Runs an action in the helper; throws ActionRefused with the helper's message. */
  call<R>(action: string, params?: Record<string, unknown>): Promise<{ result: R; summary: string }>;
  /** Stops reading the keyboard so the process can end. */
  close(): void;
}

export interface UiOptions {
  readonly socket: string;
  /** The SSH client address or "console", sent along for the audit record. */
  readonly clientAddress: string;
  readonly idleMs: number;
  readonly input?: NodeJS.ReadStream;
  readonly output?: NodeJS.WriteStream;
}

const MAX_PASTE_BYTES = 64 * 1024;

export function terminalUi(o: UiOptions): Ui {
  const stdin = o.input ?? process.stdin;
  const stdout = o.output ?? process.stdout;
  // The terminal stays in raw mode for the whole session, so Ctrl-C, Ctrl-Z and Ctrl-\ never become
  // signals, for this or any child process. The prompts read a filtered copy of the keyboard without
  // Ctrl-Z and Ctrl-\: readline would otherwise leave raw mode and stop the process on Ctrl-Z.
  if (stdin.isTTY) stdin.setRawMode(true);
  const keys = new PassThrough();
  let ended = false;
  stdin.on('data', (chunk: Buffer) => {
    const clean = Buffer.from(chunk.filter((b) => b !== 0x1a && b !== 0x1c));
    if (clean.length > 0) keys.write(clean);
  });
  const end = () => {
    ended = true;
    keys.end();
  };
  stdin.once('end', end);
  stdin.once('close', end);
  stdin.resume();
  emitKeypressEvents(keys);
  const ctx = { input: keys, output: stdout };

  /** Runs one prompt with Ctrl-D, end of input and idleness turned into Interrupted. */
  async function guarded<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (ended) throw new Interrupted('closed');
    const abort = new AbortController();
    let idle: NodeJS.Timeout;
    const rearm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort('idle'), o.idleMs);
    };
    const onKey = (_s: string, key?: { ctrl?: boolean; name?: string }) => {
      if (key?.ctrl && key.name === 'd') abort.abort('eof');
      else rearm();
    };
    const onEnd = () => abort.abort('closed');
    rearm();
    keys.on('keypress', onKey);
    keys.once('end', onEnd);
    try {
      return await run(abort.signal);
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === 'AbortPromptError') throw new Interrupted(abort.signal.reason as InterruptKind);
      if (name === 'ExitPromptError') throw new Interrupted('ctrl-c');
      throw err;
    } finally {
      clearTimeout(idle!);
      keys.off('keypress', onKey);
      keys.off('end', onEnd);
    }
  }

  return {
    select: (message, choices, opts = {}) => guarded((signal) => selectPrompt({ message, choices, ...('default' in opts ? { default: opts.default } : {}) }, { ...ctx, signal })),
    input: (message, opts = {}) =>
      guarded((signal) => input({ message, ...(opts.default !== undefined ? { default: opts.default } : {}), ...(opts.validate ? { validate: opts.validate } : {}) }, { ...ctx, signal })),
    password: (message, validate) => guarded((signal) => password({ message, mask: '*', ...(validate ? { validate } : {}) }, { ...ctx, signal })),
    confirm: (message, defaultValue = false) => guarded((signal) => confirm({ message, default: defaultValue }, { ...ctx, signal })),
    paste: (message, end) =>
      guarded(
        (signal) =>
          new Promise<string>((resolve, reject) => {
            stdout.write(`${message}\n`);
            const rl = createInterface({ input: keys, output: stdout, terminal: true, prompt: '' });
            const lines: string[] = [];
            let size = 0;
            let settled = false;
            const onAbort = () => finish(new Interrupted(signal.reason as InterruptKind));
            const finish = (err?: Error) => {
              if (settled) return;
              settled = true;
              signal.removeEventListener('abort', onAbort);
              // Only our own listeners: close() must still run readline's cleanup, which takes its
              // keypress listener off `keys` (left there, every old paste echoed each key again).
              rl.off('line', onLine).off('SIGINT', onSigint).off('close', onClose);
              rl.close();
              if (err) reject(err);
              else if (lines.length === 0) reject(new Interrupted('eof'));
              else resolve(`${lines.join('\n')}\n`);
            };
            const onSigint = () => finish(new Interrupted('ctrl-c'));
            const onClose = () => finish(ended ? new Interrupted('closed') : undefined);
            const onLine = (line: string) => {
              if (line.trim() === '' && lines.length > 0) return finish();
              if (line.trim() === '') return;
              size += line.length + 1;
              if (size > MAX_PASTE_BYTES) return finish(new ActionRefused(ApplianceCodes.ADMIN_REQUEST_INVALID, `the pasted text is longer than ${MAX_PASTE_BYTES / 1024} KiB`, true));
              lines.push(line.trim());
              if (end.test(line)) finish();
            };
            signal.addEventListener('abort', onAbort, { once: true });
            rl.on('SIGINT', onSigint);
            rl.on('close', onClose);
            rl.on('line', onLine);
          }),
      ),
    print: (text) => void stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    close() {
      stdin.removeAllListeners('data');
      stdin.pause();
      // A terminal that hung up cannot be switched back (setRawMode emits EIO): nothing to restore then.
      if (stdin.isTTY && !stdin.destroyed && !ended) {
        const ignore = () => undefined;
        stdin.on('error', ignore);
        stdin.setRawMode(false);
        stdin.off('error', ignore);
      }
    },
    async call<R>(action: string, params: Record<string, unknown> = {}) {
      const r = await callHelper(o.socket, { action, params, client: { address: o.clientAddress } });
      if (!r.ok) throw new ActionRefused(r.code, r.message, r.userFault);
      return { result: r.result as R, summary: r.summary };
    },
  };
}
