// The appliance at a glance: services, key count, certificate expiry, time synchronisation, disk.
// Each part that cannot be read says why instead of failing the whole report.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { z } from 'zod';
import { listIssued, pkiPaths } from '../../../server/pki/index.js';
import { defineAction, type ActionContext } from '../action.js';
import { withServerStore } from '../server-store.js';

export const STATUS_UNITS = ['keyhaven.service', 'keyhaven-firewall.service', 'keyhaven-configure.service', 'ssh.service', 'chrony.service', 'systemd-networkd.service'];
const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export interface StatusReport {
  hostname: string;
  services: { unit: string; state: string }[];
  keys: { objects: number; withMaterial: number } | { error: string };
  certificates: { name: string; notAfter: string; daysLeft: number }[];
  clientsExpiringSoon: number;
  time: { synchronized: boolean | undefined; detail: string };
  disks: { path: string; sizeBytes: number; freeBytes: number; usedPercent: number }[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function services(ctx: ActionContext): Promise<StatusReport['services']> {
  const r = await ctx.system.run('/usr/bin/systemctl', ['is-active', ...STATUS_UNITS], { allowFailure: true }).catch(() => ({ stdout: '' }));
  const states = r.stdout.split('\n');
  return STATUS_UNITS.map((unit, i) => ({ unit, state: states[i]?.trim() || 'unknown' }));
}

function keys(ctx: ActionContext): StatusReport['keys'] {
  try {
    return withServerStore(ctx.paths, (db) => {
      const row = db.prepare('SELECT COUNT(*) AS objects, COUNT(material) AS withMaterial FROM objects').get() as { objects: number; withMaterial: number };
      return { objects: row.objects, withMaterial: row.withMaterial };
    });
  } catch (err) {
    return { error: message(err) };
  }
}

function certificates(ctx: ActionContext, now: number): Pick<StatusReport, 'certificates' | 'clientsExpiringSoon'> {
  const p = pkiPaths(ctx.paths.dataDir);
  const certificates = [
    { name: 'CA', file: p.caCert },
    { name: 'server', file: p.serverCert },
  ]
    .filter((c) => existsSync(c.file))
    .map((c) => {
      const notAfter = new Date(new X509Certificate(readFileSync(c.file)).validTo);
      return { name: c.name, notAfter: notAfter.toISOString(), daysLeft: Math.floor((notAfter.getTime() - now) / DAY_MS) };
    });
  let clientsExpiringSoon = 0;
  try {
    clientsExpiringSoon = listIssued(ctx.paths.dataDir).filter((c) => c.kind === 'client' && c.status === 'valid' && new Date(c.notAfter).getTime() - now < EXPIRY_WARNING_DAYS * DAY_MS).length;
  } catch {
    // no PKI yet
  }
  return { certificates, clientsExpiringSoon };
}

async function time(ctx: ActionContext): Promise<StatusReport['time']> {
  try {
    const r = await ctx.system.run('/usr/bin/chronyc', ['-n', 'tracking'], { allowFailure: true });
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(r.stdout)?.[1]?.trim();
    const leap = field('Leap status');
    if (!leap) return { synchronized: undefined, detail: r.stderr.trim() || 'chrony gave no tracking information' };
    return { synchronized: leap !== 'Not synchronised', detail: `${field('Reference ID') ?? '?'}; ${field('System time') ?? ''}`.trim() };
  } catch (err) {
    return { synchronized: undefined, detail: message(err) };
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
    const result: StatusReport = {
      hostname: ctx.settings.read().hostname,
      services: await services(ctx),
      keys: keys(ctx),
      ...certificates(ctx, now),
      time: await time(ctx),
      disks: disks(ctx),
    };
    return { result, summary: 'read the status' };
  },
});
