// The backup host (an IP address: the firewall lets SFTP out to it only), the account and directory
// there, its pinned host key, and the schedule; or backups off. The key server's configuration is
// rewritten and it restarts, so its scheduler follows (boot/server-config.ts).
import { z } from 'zod';
import { scheduleSchema } from '../../../server/index.js';
import { defineAction } from '../action.js';
import { addressText, editSettings } from '../settings-edit.js';

const set = z
  .object({
    host: addressText,
    username: z.string().max(64),
    directory: z.string().max(255),
    hostKeySha256: z.string().max(100),
    schedule: scheduleSchema,
    keep: z.number().int(),
  })
  .strict();

export const backupConfigure = defineAction({
  name: 'backup.configure',
  title: 'Set Backup Host',
  schema: z.union([set, z.object({ off: z.literal(true) }).strict()]),
  async run(p, ctx) {
    if ('off' in p) {
      await editSettings(ctx, (s) => ({ ...s, network: { ...s.network, backupHost: undefined }, backup: undefined }));
      return { result: { off: true }, summary: 'scheduled backups off; SFTP to the backup host closed', objectId: 'backup' };
    }
    const s = await editSettings(ctx, (s) => ({
      ...s,
      network: { ...s.network, backupHost: p.host },
      backup: { username: p.username, directory: p.directory, hostKeySha256: p.hostKeySha256, schedule: p.schedule, keep: p.keep },
    }));
    const b = s.backup!;
    return {
      result: { off: false },
      summary: `backups to ${b.username}@${s.network.backupHost}:${b.directory} (host key ${b.hostKeySha256}), ${b.schedule.every === 'day' ? 'daily' : 'weekly'} at ${b.schedule.at}, keeping ${b.keep}`,
      objectId: 'backup',
    };
  },
});
