// The saved appliance settings, for the menu to show current values before a change.
import { z } from 'zod';
import type { ApplianceSettings } from '../../settings.js';
import { defineAction } from '../action.js';

export const settingsShow = defineAction({
  name: 'settings.show',
  title: 'Show Settings',
  schema: z.object({}).strict(),
  async run(_params, ctx) {
    const result: ApplianceSettings = ctx.settings.read();
    return { result, summary: 'read the appliance settings' };
  },
});
