// Shared pieces of the option forms: lists typed as text, checks that give the appliance settings
// schema's own verdict while the administrator types, and how a result is shown.
import { splitList } from '../../firewall/address.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { checkSettings } from '../admin/settings-edit.js';
import type { ApplianceSettings } from '../settings.js';
import type { Ui, Validate } from './ui.js';

/**
 * "a, b" → ["a", "b"]; "none" or nothing → []. An empty entry ("a, , b", "a,") stays "" so the
 * checks refuse it as the vApp path and the wizard do (firewall/address.ts splitList).
 */
export function parseList(text: string): string[] {
  return text.trim().toLowerCase() === 'none' ? [] : splitList(text);
}

export const showList = (xs: readonly string[]): string => (xs.length ? xs.join(', ') : 'none');

/** The date of an ISO 8601 time (UTC), as the menu shows validity. */
export const day = (iso: string): string => iso.slice(0, 10);

/**
 * A validator: applies the typed value to the settings and reports what the schema says, or true.
 * With `only`, just the problems of those settings (a static address is asked field by field: the
 * gateway, asked last, must not refuse the address typed before it).
 */
export function settingsCheck(base: ApplianceSettings, change: (s: ApplianceSettings, value: string) => ApplianceSettings, extra?: Validate, only?: readonly string[]): Validate {
  return (value) => {
    const pre = extra?.(value);
    if (pre !== undefined && pre !== true) return pre;
    try {
      checkSettings(change(structuredClone(base), value));
      return true;
    } catch (err) {
      if (!(err instanceof KeyhavenError && err.code === ErrorCodes.ADMIN_REQUEST_INVALID)) return (err as Error).message;
      const lines = err.message.split('\n').filter((l) => !only || only.some((f) => l.startsWith(`${f}:`)));
      return lines.length ? lines.join('; ') : true;
    }
  };
}

export async function currentSettings(ui: Ui): Promise<ApplianceSettings> {
  return (await ui.call<ApplianceSettings>('settings.show')).result;
}

/** Prints text between markers the administrator can select and copy as a whole. */
export function block(ui: Ui, title: string, body: string): void {
  ui.print(`\n===== BEGIN ${title} =====\n${body.trimEnd()}\n===== END ${title} =====`);
}

export const done = (ui: Ui, summary: string): void => ui.print(`\nDone: ${summary}.\n`);
