// "Back up now": the key server's scheduler makes a backup at once (SIGUSR2 to keyhaven.service, the
// one process that holds the store) and the answer waits for its first attempt's outcome, which the
// key server also records in its audit log (and so at the SIEM).
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { backupTarget } from '../../backup/backup-settings.js';
import { defineAction } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import type { BackupStatusResult } from '../../backup/backup-worker-ops.js';

export interface BackupNowOutcome {
  outcome: 'stored' | 'failed' | 'running';
  status: BackupStatusResult | null;
}

/** The first attempt's outcome is awaited this long; a longer one goes on (see the status). */
const WAIT_MS = 150_000;

export const backupNow = defineAction<z.ZodObject<Record<string, never>, 'strict'>, BackupNowOutcome>({
  name: 'backup.now',
  title: 'Back Up Now',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    backupTarget(ctx.settings.read());
    const before = await asDataOwner(ctx.paths, 'backup.state', {});
    if (!before.key) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, 'there is no backup key yet: create it first (Backups → Backup key and custodian shares)');
    const active = (await ctx.system.run('/usr/bin/systemctl', ['is-active', 'keyhaven.service'], { allowFailure: true })).stdout.trim();
    if (active !== 'active') throw new KeyhavenError(ErrorCodes.ADMIN_ACTION_FAILED, `the key server is ${active || 'not running'}: it makes the backups; restart it (Restart the key server) and try again`);
    const since = new Date().toISOString();
    await ctx.system.run('/usr/bin/systemctl', ['kill', '--kill-whom=main', '--signal=SIGUSR2', 'keyhaven.service']);
    for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; await sleep(1000)) {
      const s = (await asDataOwner(ctx.paths, 'backup.state', {})).status;
      if (s?.lastSuccess && s.lastSuccess.at >= since) {
        return { result: { outcome: 'stored', status: s }, summary: `backup ${s.lastSuccess.name} stored on the backup host (${s.lastSuccess.size} bytes)`, objectId: s.lastSuccess.name };
      }
      if (s?.lastFailure && s.lastFailure.at >= since) {
        const later = s.retryAt ? `; it is retried at ${s.retryAt}` : '';
        return { result: { outcome: 'failed', status: s }, summary: `backup attempt failed: ${s.lastFailure.reason} [${s.lastFailure.code}]${later}`, objectId: 'backup' };
      }
    }
    return { result: { outcome: 'running', status: null }, summary: `the backup is still running after ${WAIT_MS / 1000} s; its outcome will be in the backup status and the audit log`, objectId: 'backup' };
  },
});
