// Changing the appliance settings from an action: the edit is checked with the appliance settings
// schema (the one the boot path uses), so a refusal names the setting (`network.ntpServers[1]: …`)
// and nothing is written; an accepted edit is saved and applied.
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { parseApplianceSettings, type ApplianceSettings } from '../settings.js';
import type { ActionContext } from './action.js';

/** Addresses and networks arrive as text; the settings schema decides whether they are valid. */
export const addressText = z.string().max(64);
export const addressList = z.array(addressText).max(64);

export function checkSettings(value: unknown): ApplianceSettings {
  try {
    return parseApplianceSettings(value, 'the request');
  } catch (err) {
    if (err instanceof KeyhavenError && err.code === ErrorCodes.CONFIG_INVALID) {
      throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, err.message.replace(/^invalid appliance settings in the request:\n/, ''));
    }
    throw err;
  }
}

export async function editSettings(ctx: ActionContext, edit: (s: ApplianceSettings) => ApplianceSettings): Promise<ApplianceSettings> {
  const next = checkSettings(edit(structuredClone(ctx.settings.read())));
  await ctx.settings.change(next);
  return next;
}

export const listText = (xs: readonly string[]): string => (xs.length ? xs.join(', ') : '(none)');
