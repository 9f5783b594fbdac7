// The appliance at a glance: services, key count, certificate expiry, date, time and its
// synchronisation, uptime, disk. Each part that cannot be read says why instead of failing the whole report.
import { existsSync, readlinkSync, statfsSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defineAction, type ActionContext } from '../action.js';
import { describeNtp, type NtpState } from '../chrony.js';
import { asDataOwner } from '../data-owner.js';
import { CLIENT_EXPIRY_WARNING_DAYS } from '../menu-shared.js';
import type { BackupStatusResult } from '../../backup/backup-worker-ops.js';

export const STATUS_UNITS = ['keyhaven.service', 'keyhaven-firewall.service', 'keyhaven-configure.service', 'ssh.service', 'chrony.service', 'systemd-networkd.service'];
const DAY_MS = 86_400_000;

export interface StatusReport {
  hostname: string;
  services: { unit: string; state: string }[];
  keys: { objects: number; withMaterial: number } | { error: string };
  certificates: { name: string; notAfter: string; daysLeft: number }[];
  clientsExpiringSoon: number;
  clock: { now: string; timeZone?: string; uptimeSeconds: number };
  time: NtpState;
  disks: { path: string; sizeBytes: number; freeBytes: number; usedPercent: number }[];
  /** Scheduled backups (null: not set up): the key server's scheduler status. */
  backups: { status: BackupStatusResult | null; keyGeneration: number | null } | { error: string } | null;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function services(ctx: ActionContext): Promise<StatusReport['services']> {
  const r = await ctx.system.run('/usr/bin/systemctl', ['is-active', ...STATUS_UNITS], { allowFailure: true }).catch(() => ({ stdout: '' }));
  const states = r.stdout.split('\n');
  return STATUS_UNITS.map((unit, i) => ({ unit, state: states[i]?.trim() || 'unknown' }));
}

/** The key count and certificate expiry, read in the data directory as its owner (data-owner.ts). */
async function dataDirectory(ctx: ActionContext, now: number): Promise<Pick<StatusReport, 'keys' | 'certificates' | 'clientsExpiringSoon'>> {
  try {
    const d = await asDataOwner(ctx.paths, 'status.data', { expiryWarningDays: CLIENT_EXPIRY_WARNING_DAYS });
    const certificates = d.certificates.map((c) => ({ name: c.name, notAfter: c.notAfter, daysLeft: Math.floor((new Date(c.notAfter).getTime() - now) / DAY_MS) }));
    return { keys: d.keys, certificates, clientsExpiringSoon: d.clientsExpiringSoon };
  } catch (err) {
    return { keys: { error: message(err) }, certificates: [], clientsExpiringSoon: 0 };
  }
}

async function backups(ctx: ActionContext): Promise<StatusReport['backups']> {
  if (!ctx.settings.read().backup) return null;
  try {
    const s = await asDataOwner(ctx.paths, 'backup.state', {});
    return { status: s.status, keyGeneration: s.key?.generation ?? null };
  } catch (err) {
    return { error: message(err) };
  }
}

async function time(ctx: ActionContext): Promise<StatusReport['time']> {
  try {
    // Both at once: sources explains an unsynchronised clock, and waiting for tracking first only adds its time.
    const [tracking, sources] = await Promise.all([
      ctx.system.run('/usr/bin/chronyc', ['-n', 'tracking'], { allowFailure: true }),
      ctx.system.run('/usr/bin/chronyc', ['-n', 'sources'], { allowFailure: true }).catch(() => undefined),
    ]);
    return describeNtp(tracking.stdout, sources?.code === 0 ? sources.stdout : undefined, tracking.stderr);
  } catch (err) {
    return { synchronized: undefined, text: `unknown: ${message(err)}` };
  }
}

/** The configured time zone: /etc/localtime's link into the zoneinfo database; none for UTC. */
function timeZone(ctx: ActionContext): string | undefined {
  try {
    const zone = /zoneinfo\/(.+)$/.exec(readlinkSync(join(ctx.paths.root, 'etc/localtime')))?.[1];
    if (!zone || /^(Etc\/)?(UTC|UCT|Universal|Zulu|GMT)$/.test(zone)) return undefined;
    return zone;
  } catch {
    return undefined; // no link: UTC
  }
}

function disks(ctx: ActionContext): StatusReport['disks'] {
  return [ctx.paths.root, ctx.paths.dataDir]
    .filter((p, i, all) => existsSync(p) && all.indexOf(p) === i)
    .map((path) => {
      const s = statfsSync(path);
      const size = s.blocks * s.bsize;
      const free = s.bavail * s.bsize;
      return { path, sizeBytes: size, freeBytes: free, usedPercent: size ? Math.round(((size - free) / size) * 100) : 0 };
    });
}

export const status = defineAction({
  name: 'status',
  title: 'Status',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const now = Date.now();
    const zone = timeZone(ctx);
    // The probes are independent: the data worker's start dominates, the rest runs meanwhile.
    const [serviceStates, data, ntp, backup] = await Promise.all([services(ctx), dataDirectory(ctx, now), time(ctx), backups(ctx)]);
    const result: StatusReport = {
      hostname: ctx.settings.read().hostname,
      services: serviceStates,
      ...data,
      clock: { now: new Date(now).toISOString(), ...(zone ? { timeZone: zone } : {}), uptimeSeconds: Math.floor(uptime()) },
      time: ntp,
      disks: disks(ctx),
      backups: backup,
    };
    return { result, summary: 'read the status' };
  },
});
