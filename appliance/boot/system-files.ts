// The files the appliance settings turn into, and which service re-reads each one. One list for the
// boot path (configure.ts), the menu's helper (admin/settings-applier.ts) and the tests' sandbox, so
// a setting cannot reach one of them and miss another.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_BACKUP_DROPIN, renderAdminBackupAccess } from '../backup/helper-network.js';
import type { ApplianceSettings } from '../settings.js';
import { siemForwarding, SIEM_CONF } from './log-forwarding.js';
import { CHRONY_SOURCES, NETWORK_FILE, renderChronySources, renderHosts, renderNetworkConfig, renderResolvConf } from './network-config.js';
import { renderServerConfig, SERVER_CONFIG } from './server-config.js';
import { writeAtomic } from './write-atomic.js';

export interface SystemFile {
  readonly path: string;
  readonly text: string;
  /** The unit that must be restarted (if running) to read a changed file. */
  readonly unit?: string;
  /** Start the unit even if it is not running (it runs only while its file asks for work). */
  readonly start?: boolean;
  /** A unit drop-in: systemd reloads its units to read it (new instances of the unit then use it). */
  readonly dropIn?: boolean;
}

/** What to tell systemd after the files were written. */
export interface UnitChanges {
  /** `systemctl try-restart`: restarted if running. */
  readonly tryRestart: string[];
  /** `systemctl restart`: started or restarted (their unit decides whether there is work). */
  readonly restart: string[];
  /** `systemctl daemon-reload` first: a unit drop-in changed. */
  readonly daemonReload: boolean;
}

/** `dhcpAddress`: with DHCP, the address the interface has now (the key server's mirror address). */
export function systemFiles(s: ApplianceSettings, dhcpAddress?: string): SystemFile[] {
  return [
    { path: NETWORK_FILE, text: renderNetworkConfig(s), unit: 'systemd-networkd.service' },
    { path: '/etc/resolv.conf', text: renderResolvConf(s) },
    { path: CHRONY_SOURCES, text: renderChronySources(s), unit: 'chrony.service' },
    { path: '/etc/hostname', text: `${s.hostname}\n` },
    { path: '/etc/hosts', text: renderHosts(s) },
    { path: SIEM_CONF, text: siemForwarding(s), unit: 'rsyslog.service', start: true },
    { path: SERVER_CONFIG, text: renderServerConfig(s, dhcpAddress), unit: 'keyhaven.service' },
    { path: ADMIN_BACKUP_DROPIN, text: renderAdminBackupAccess(s), dropIn: true },
  ];
}

/**
 * Writes the files under `root` (each atomically) and returns the units whose files changed, in
 * list order without repeats. networkd and chrony are always restarted: they also pick up a host
 * name or an address change that left their own files as they were.
 */
export function writeSystemFiles(s: ApplianceSettings, root = '/', dhcpAddress?: string): UnitChanges {
  const tryRestart = new Set<string>(['systemd-networkd.service', 'chrony.service']);
  const restart = new Set<string>();
  let daemonReload = false;
  for (const f of systemFiles(s, dhcpAddress)) {
    const path = join(root, f.path);
    const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (before === f.text) continue;
    writeAtomic(path, f.text);
    if (f.unit) (f.start ? restart : tryRestart).add(f.unit);
    if (f.dropIn) daemonReload = true;
  }
  return { tryRestart: [...tryRestart], restart: [...restart], daemonReload };
}

/** The systemctl command lines for `changes`. */
export function unitCommands(changes: UnitChanges): string[][] {
  return [
    ...(changes.daemonReload ? [['daemon-reload']] : []),
    ['try-restart', ...changes.tryRestart],
    ...(changes.restart.length ? [['restart', ...changes.restart]] : []),
  ];
}
