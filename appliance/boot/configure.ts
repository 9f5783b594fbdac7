// `keyhaven appliance configure`, run by keyhaven-configure.service early at every boot (before any
// interface is up): until first boot is complete, reads the OVF environment (vSphere vApp
// properties, through VMware Tools or the iso transport's CD) and turns it into the appliance
// settings; afterwards the saved settings (changed only through the wizard and the menu) are
// authoritative, so a vApp property left in vCenter cannot undo them. Then applies them — host name,
// interface address, resolver, time sources, firewall. Invalid settings leave the appliance fail-closed.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KeyhavenError } from '../errors.js';
import { renderPolicy } from '../../firewall/policy.js';
import { renderFailClosed } from '../../firewall/fail-closed.js';
import { nftApply } from '../../firewall/nft.js';
import { parseOvfEnvironment, readOvfEnvironment } from '../../ova/ovf-environment.js';
import { propertiesToSettings } from '../../ova/vapp-properties.js';
import { parseApplianceSettings, readApplianceSettings, settingsFromVapp, type ApplianceSettings } from '../settings.js';
import { firstBootComplete } from '../firstboot/state.js';
import { writeSystemFiles, type UnitChanges } from './system-files.js';
import { ownAddress } from './own-address.js';
import { writeAtomic } from './write-atomic.js';

const run = promisify(execFile);

export const PATHS = {
  settings: '/etc/keyhaven/appliance.json',
  firewall: '/etc/keyhaven/firewall.nft',
  dataDir: '/var/lib/keyhaven',
  cdMount: '/run/keyhaven/ovf-cd',
} as const;

export interface ConfigureIo {
  log: (line: string) => void;
}

/** Mounts the first CD that carries an ovf-env.xml (iso transport) and returns its path. */
async function mountOvfCd(log: ConfigureIo['log']): Promise<{ file: string; unmount: () => Promise<void> } | undefined> {
  // The CD drive is probed by udev while this runs: wait for the device queue to settle (bounded),
  // rather than for a drive that a VM without the iso transport never gets.
  await run('/usr/bin/udevadm', ['settle', '--timeout=10']).catch(() => undefined);
  const drives = existsSync('/sys/class/block') ? readdirSync('/sys/class/block').filter((d) => /^sr\d+$/.test(d)) : [];
  mkdirSync(PATHS.cdMount, { recursive: true, mode: 0o700 });
  for (const d of drives) {
    try {
      await run('/usr/bin/mount', ['-t', 'iso9660', '-o', 'ro,nosuid,nodev,noexec', `/dev/${d}`, PATHS.cdMount]);
    } catch {
      continue; // no medium
    }
    const file = ['ovf-env.xml', 'OVF-ENV.XML', 'ovf_env.xml'].map((n) => join(PATHS.cdMount, n)).find((f) => existsSync(f));
    if (file) {
      log(`OVF environment CD found on /dev/${d}`);
      return { file, unmount: async () => void (await run('/usr/bin/umount', [PATHS.cdMount]).catch(() => undefined)) };
    }
    await run('/usr/bin/umount', [PATHS.cdMount]).catch(() => undefined);
  }
  return undefined;
}

/** The settings this boot applies: from the OVF environment if there is one, else the saved ones. */
export async function currentSettings(io: ConfigureIo): Promise<ApplianceSettings> {
  if (firstBootComplete() && existsSync(PATHS.settings)) {
    io.log(`applying ${PATHS.settings} (first boot is complete: the OVF environment is no longer read)`);
    return readApplianceSettings(PATHS.settings);
  }
  const cd = await mountOvfCd(io.log);
  try {
    const env = await readOvfEnvironment({ vmtoolsd: '/usr/bin/vmtoolsd', isoFiles: cd ? [cd.file] : [] });
    if (env) {
      io.log(`reading vApp properties from ${env.transport} (${env.origin})`);
      const settings = settingsFromVapp(propertiesToSettings(parseOvfEnvironment(env.document)));
      saveSettings(settings);
      return settings;
    }
  } finally {
    await cd?.unmount();
  }
  if (existsSync(PATHS.settings)) {
    io.log(`no OVF environment; applying ${PATHS.settings}`);
    return readApplianceSettings(PATHS.settings);
  }
  io.log('no OVF environment and no saved settings; using the defaults (DHCP)');
  return parseApplianceSettings({}, 'defaults');
}

/**
 * Applies settings to the running system (system-files.ts, the kernel's host name, the firewall, and
 * the ruleset boot loads first). Returns the units that must re-read their changed files; at boot
 * they have not started yet.
 */
export async function applySettings(settings: ApplianceSettings): Promise<UnitChanges> {
  // With DHCP the key server's mirror address is the one the interface has now (none at boot:
  // keyhaven.service writes it when it starts, server-config.ts).
  const changes = writeSystemFiles(settings, '/', settings.address.mode === 'dhcp' ? await ownAddress() : undefined);
  writeFileSync('/proc/sys/kernel/hostname', settings.hostname);
  const ruleset = renderPolicy(settings.network, 'network.');
  await nftApply(ruleset);
  writeAtomic(PATHS.firewall, ruleset, 0o600);
  return changes;
}

/** Saves settings (after the first-boot wizard or a menu change) so every later boot applies them. */
export function saveSettings(settings: ApplianceSettings): void {
  writeAtomic(PATHS.settings, `${JSON.stringify(settings, null, 2)}\n`);
}

export async function configureAppliance(io: ConfigureIo): Promise<number> {
  let settings: ApplianceSettings;
  try {
    settings = await currentSettings(io);
    await applySettings(settings);
  } catch (err) {
    const message = err instanceof KeyhavenError ? err.message : (err as Error).stack ?? String(err);
    io.log(`settings cannot be applied, the appliance stays closed: ${message}`);
    await nftApply(renderFailClosed()).catch((e: Error) => io.log(`loading the fail-closed ruleset failed: ${e.message}`));
    return 1;
  }
  const a = settings.address;
  io.log(`host ${settings.hostname}, ${a.mode === 'static' ? `${a.address}/${a.prefix} via ${a.gateway}` : 'DHCP'}; firewall applied`);
  return 0;
}
