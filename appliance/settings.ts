// The appliance configuration (/etc/keyhaven/appliance.json): host name, how the interface gets its
// address, and the network policy — the firewall's own schema (firewall/settings.ts), whose DNS,
// NTP and syslog addresses also configure the resolver, chrony and log forwarding, so each address
// is written once. Which addresses each role accepts is firewall/address.ts's to say, for this schema
// (the menu's helper, the first-boot wizard, the saved file) and the vApp properties alike.
import { isIP } from 'node:net';
import { z } from 'zod';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { Ports } from '../firewall/ports.js';
import { staticAddressProblems } from '../firewall/address.js';
import { networkPolicySettingsSchema } from '../firewall/settings.js';
import { backupSettingsSchema } from './backup/backup-settings.js';
import { describeZodError } from '../lib/zod-issues.js';
import { readJsonFile } from '../lib/json-file.js';
import { OvaCodes } from '../ova/errors.js';
import type { VappSettings } from '../ova/vapp-properties.js';

/** RFC 1123 host name, lower case, at most 253 characters. */
const hostname = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a host name (letters, digits, hyphens; dot-separated labels)');

const address = z
  .discriminatedUnion('mode', [
    z.object({ mode: z.literal('dhcp') }).strict(),
    z
      .object({
        mode: z.literal('static'),
        address: z.string().refine((a) => isIP(a) !== 0, 'must be an IPv4 or IPv6 address'),
        prefix: z.number().int().min(1).max(128),
        gateway: z.string().refine((a) => isIP(a) !== 0, 'must be an IPv4 or IPv6 address'),
      })
      .strict(),
  ])
  .default({ mode: 'dhcp' });

export const applianceSettingsSchema = z
  .object({
    hostname: hostname.default('keyhaven'),
    address,
    /** The firewall policy and the service addresses it pins (see firewall/settings.ts). */
    network: networkPolicySettingsSchema.default({}),
    /** Scheduled backups by SFTP to network.backupHost (backup/backup-settings.ts); absent: none. */
    backup: backupSettingsSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.backup && s.network.backupHost === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['network', 'backupHost'], message: 'backups need the backup host\'s address (the firewall lets SFTP out to it only)' });
    }
    // A static address: a host's unicast address, a prefix that fits its family, a gateway of the same
    // family inside the subnet (an IPv6 one may be link-local) — the rules the vApp properties follow.
    if (s.address.mode !== 'static') return;
    for (const p of staticAddressProblems(s.address, { address: 'address.address', prefix: 'address.prefix' })) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['address', p.field], message: p.message });
    }
  });

export type ApplianceSettings = z.output<typeof applianceSettingsSchema>;

export function parseApplianceSettings(value: unknown, source: string): ApplianceSettings {
  const r = applianceSettingsSchema.safeParse(value);
  if (!r.success) throw new KeyhavenError(ErrorCodes.CONFIG_INVALID, `invalid appliance settings in ${source}:\n${describeZodError(r.error)}`);
  return r.data;
}

export function readApplianceSettings(file: string): ApplianceSettings {
  return parseApplianceSettings(readJsonFile(file), file);
}

/** The syslog port the firewall opens: other ports would be dropped. */
const SYSLOG_PORT = Ports.syslog;

/**
 * Settings from the vApp properties of the OVF environment. SSH stays closed here: it opens when the
 * administrator finishes first boot on the console.
 */
export function settingsFromVapp(v: VappSettings): ApplianceSettings {
  const wrongPort = v.syslog.find((s) => s.port !== SYSLOG_PORT);
  if (wrongPort) {
    throw new KeyhavenError(
      OvaCodes.OVF_ENV_INVALID,
      `keyhaven.syslog: ${wrongPort.host}:${wrongPort.port} uses port ${wrongPort.port}; the appliance sends syslog to port ${SYSLOG_PORT} only`,
    );
  }
  return parseApplianceSettings(
    {
      hostname: v.hostname,
      address: v.network,
      network: {
        adminNetworks: v.adminNetworks,
        siemHosts: [...new Set(v.syslog.map((s) => s.host))],
        ntpServers: v.ntp,
        dnsServers: v.dns,
      },
    },
    'the OVF environment',
  );
}
