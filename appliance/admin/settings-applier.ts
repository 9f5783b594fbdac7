// Saving and applying the appliance settings. On the appliance this is the boot path's own code
// (appliance/boot/configure.ts: saveSettings, applySettings — host name, address, resolver, chrony
// sources, log forwarding, the key server's configuration, firewall) followed by restarting what
// reads changed files; in tests (a root prefix) the
// same files are written under the prefix and the commands are only recorded.
import { existsSync, readFileSync } from 'node:fs';
import { renderPolicy } from '../../firewall/policy.js';
import { unitCommands, writeSystemFiles } from '../boot/system-files.js';
import { writeAtomic } from '../boot/write-atomic.js';
import { parseApplianceSettings, type ApplianceSettings } from '../settings.js';
import type { AppliancePaths } from './paths.js';
import type { SystemRunner } from './system-runner.js';

export interface SettingsApplier {
  /** The saved settings, or the defaults when none were saved yet. */
  read(): ApplianceSettings;
  /** Saves and applies; on failure restores and re-applies the previous settings, then throws. */
  change(next: ApplianceSettings): Promise<void>;
  /**
   * Saves and applies the firewall only: for a change that touches nothing else (the mirroring
   * peers), so networkd, chrony and the key server are left alone. On failure as change().
   */
  changeFirewall(next: ApplianceSettings): Promise<void>;
}

interface Backend {
  save(s: ApplianceSettings): void;
  apply(s: ApplianceSettings): Promise<void>;
  applyFirewall(s: ApplianceSettings): Promise<void>;
}

function applier(paths: AppliancePaths, backend: Backend): SettingsApplier {
  const read = (): ApplianceSettings =>
    existsSync(paths.settings) ? parseApplianceSettings(JSON.parse(readFileSync(paths.settings, 'utf8')), paths.settings) : parseApplianceSettings({}, 'defaults');
  const changeWith = async (next: ApplianceSettings, apply: (s: ApplianceSettings) => Promise<void>) => {
    const previous = read();
    backend.save(next);
    try {
      await apply(next);
    } catch (err) {
      backend.save(previous);
      await apply(previous).catch(() => undefined);
      throw err;
    }
  };
  return {
    read,
    change: (next) => changeWith(next, (s) => backend.apply(s)),
    changeFirewall: (next) => changeWith(next, (s) => backend.applyFirewall(s)),
  };
}

/** The running appliance: configure.ts's save/apply, then networkd and chrony re-read their files. */
export async function realSettingsApplier(paths: AppliancePaths, system: SystemRunner): Promise<SettingsApplier> {
  const { applySettings, saveSettings } = await import('../boot/configure.js');
  const { nftApply } = await import('../../firewall/nft.js');
  return applier(paths, {
    save: saveSettings,
    async apply(s) {
      for (const args of unitCommands(await applySettings(s))) await system.run('/usr/bin/systemctl', args);
    },
    async applyFirewall(s) {
      const ruleset = renderPolicy(s.network, 'network.');
      await nftApply(ruleset);
      writeAtomic(paths.firewall, ruleset, 0o600);
    },
  });
}

/** Tests: the same files under the root prefix; loading the firewall and restarts are recorded. */
export function sandboxSettingsApplier(paths: AppliancePaths, system: SystemRunner): SettingsApplier {
  const applyFirewall = async (s: ApplianceSettings) => {
    const ruleset = renderPolicy(s.network, 'network.');
    await system.run('/usr/sbin/nft', ['-f', '-'], { input: ruleset });
    writeAtomic(paths.firewall, ruleset, 0o600);
  };
  return applier(paths, {
    applyFirewall,
    save: (s) => writeAtomic(paths.settings, `${JSON.stringify(s, null, 2)}\n`),
    async apply(s) {
      const changes = writeSystemFiles(s, paths.root);
      const ruleset = renderPolicy(s.network, 'network.');
      await system.run('/usr/sbin/nft', ['-f', '-'], { input: ruleset });
      writeAtomic(paths.firewall, ruleset, 0o600);
      for (const args of unitCommands(changes)) await system.run('/usr/bin/systemctl', args);
    },
  });
}
