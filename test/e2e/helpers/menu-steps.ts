// Driving the admin menu over SSH on a slow guest (sshDialog steps), and waiting on it: shared by the
// multi-VM end-to-end scenarios.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MENU_OPTIONS } from '../../../appliance/menu/options/index.js';
import type { ClientFiles } from '../../support/kmip-client.js';
import { sshDialog, type SshOptions } from './ssh-session.js';

/** The terminal output without colour codes and carriage returns. */
// eslint-disable-next-line no-control-regex
export const plain = (s: string): string => s.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r/g, '');

/** A menu's failure line (the helper's refusal or error). */
export const FAILED = /\n(Refused|Failed): [^\n]*\n/;

/**
 * Steps that move the highlight of the select prompt `prompt` down to `target`, then Enter: one key at
 * a time, each once the menu has drawn the last (keys sent in a burst to a slow guest are taken
 * against a stale highlight: a choice a row short, no choice at all).
 */
export function pick(prompt: RegExp, labels: readonly string[], target: string): { expect: RegExp; send: string }[] {
  const to = labels.indexOf(target);
  assert.ok(to >= 0, target);
  const moves = labels.slice(1, to + 1).map((l) => ({ expect: new RegExp(`❯ ${l.replace(/[()/?.*+]/g, '\\$&')}`), send: '\x1b[B' }));
  const steps = [{ expect: prompt, send: '' }, ...moves];
  // Each step sends once its pattern shows: shift the keys one step later, then Enter on the target.
  return steps.map((st, i) => ({ expect: st.expect, send: i + 1 < steps.length ? steps[i + 1]!.send : '\r' }));
}

export const mainMenu = (target: string) => pick(/Main menu/, MENU_OPTIONS.map((o) => o.label), target);

/** A submenu's select prompt: its "?" and message are styled apart (colour codes between them in the raw output). */
export const submenu = (title: string, labels: readonly string[], target: string) => pick(new RegExp(`\\?(?:\\x1b\\[[0-9;]*m)* (?:\\x1b\\[[0-9;]*m)*${title}\\b`), labels, target);

export async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  let last = '';
  for (const until = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 2000))) {
    try {
      if (await check()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (last error: ${last})` : ''}`);
  }
}

export async function retry<T>(what: string, ms: number, attempt: () => Promise<T>): Promise<T> {
  let last = '';
  for (const until = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 3000))) {
    try {
      return await attempt();
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000} s (last error: ${last})`);
  }
}

/** The menu's Issue a client certificate with its defaults (vcenter, PEM): the bundle written into `dir`. */
export async function issueClientBundle(ssh: Omit<SshOptions, 'command' | 'keys' | 'waitFor'>, dir: string): Promise<ClientFiles> {
  const issued = plain(
    await sshDialog(
      ssh,
      [
        ...mainMenu('Issue a client certificate'),
        { expect: /For which client\?/, send: '\r' },
        { expect: /Name \(becomes/, send: '\r' },
        { expect: /DNS names of the client/, send: '\r' },
        { expect: /How do you want to copy it\?/, send: '\r' },
      ],
      new RegExp(`Done: issued[^\\n]*\\n|${FAILED.source}`),
    ),
  );
  assert.doesNotMatch(issued, FAILED);
  const blockOf = (text: string, name: string) => new RegExp(`===== BEGIN ${name.replace(/\./g, '\\.')} =====\\n([\\s\\S]*?)\\n===== END`).exec(text)?.[1];
  const files: ClientFiles = { ca: join(dir, 'ca.crt'), cert: join(dir, 'vcenter.crt'), key: join(dir, 'vcenter.key') };
  for (const [file, name] of [[files.ca, 'keyhaven-ca.crt'], [files.cert, 'vcenter.crt'], [files.key, 'vcenter.key']] as const) {
    const pem = blockOf(issued, name);
    assert.ok(pem, `${name} between markers in the menu:\n${issued.slice(-1500)}`);
    writeFileSync(file, `${pem}\n`, { mode: 0o600 });
  }
  return files;
}
