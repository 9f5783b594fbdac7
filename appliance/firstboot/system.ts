// What the first-boot wizard changes on the appliance, behind one interface: the real system (as root)
// or, for tests driving the wizard in a pseudo-terminal, a sandbox directory where the same files are
// written and the commands that would run are recorded. PKI is real in both.
//
// The wizard runs as root, but the key server's data directory is its account's: what first boot
// does there (remove an interrupted run's leftovers, create the CA and the server certificate, the
// master key) is done by the data worker as that account (admin/data-owner.ts), in both.
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkPassword } from '../accounts/password-policy.js';
import { setAdminPassword } from '../accounts/admin-account.js';
import { asDataOwner } from '../admin/data-owner.js';
import { appliancePaths, type AppliancePaths } from '../admin/paths.js';
import { applySettings, PATHS, saveSettings } from '../boot/configure.js';
import { ensureHostKeys, type HostKeyFingerprint } from '../ssh/host-keys.js';
import { parseApplianceSettings, readApplianceSettings, type ApplianceSettings } from '../settings.js';
import { recordFirstBoot } from './first-boot-record.js';
import { firstBootStarted, markComplete, markStarted } from './state.js';

const run = promisify(execFile);

export interface PkiSummary {
  readonly caFingerprint: string;
  readonly serverFingerprint: string;
  /** A CA placed on the disk before first boot (never by an earlier, interrupted wizard) was kept. */
  readonly kept: boolean;
}

export interface FirstBootSystem {
  /** The settings this boot applied (from the OVF environment), or the defaults. */
  readSettings(): ApplianceSettings;
  /** Undoes what an interrupted earlier run created; then records that this run changes things. */
  beginChanges(): Promise<void>;
  applySettings(s: ApplianceSettings): Promise<void>;
  createPki(s: ApplianceSettings): Promise<PkiSummary>;
  setPassword(password: string, hostname: string): Promise<void>;
  /** Makes this appliance's own SSH host keys (none are shipped in the image); their fingerprints. */
  sshHostKeys(): Promise<HostKeyFingerprint[]>;
  /**
   * Records completion (and first boot in the administration audit log), then starts the key server
   * (and SSH when it is open). Returns what could not
   * be started: completion stands regardless (the menu can restart services; first boot must not
   * repeat once the password and CA exist).
   */
  complete(s: ApplianceSettings): Promise<string[]>;
  /** Stops the wizard on the other console; each wizard's unit starts the login prompts once it has exited. */
  handOver(tty: string): Promise<void>;
}

/** The CA and server certificate (a CA placed on the disk before first boot is kept), made by the data directory's owner. */
function createPkiIn(paths: AppliancePaths, s: ApplianceSettings): Promise<PkiSummary> {
  return asDataOwner(paths, 'first-boot.pki', { hostname: s.hostname, ip: s.address.mode === 'static' ? [s.address.address] : [] });
}

/** Removes everything under the data directory an interrupted run left (the key server never ran). */
async function emptyDataDir(paths: AppliancePaths): Promise<void> {
  if (existsSync(paths.dataDir)) await asDataOwner(paths, 'first-boot.reset', {});
}

export function realSystem(): FirstBootSystem {
  const systemctl = (...args: string[]) => run('/usr/bin/systemctl', args);
  const paths = appliancePaths('/');
  return {
    readSettings: () => (existsSync(PATHS.settings) ? readApplianceSettings(PATHS.settings) : parseApplianceSettings({}, 'defaults')),
    beginChanges: async () => {
      if (firstBootStarted()) await emptyDataDir(paths);
      markStarted();
    },
    applySettings: async (s) => {
      saveSettings(s);
      await applySettings(s);
    },
    createPki: (s) => createPkiIn(paths, s),
    setPassword: (password, hostname) => setAdminPassword(password, { hostname }),
    sshHostKeys: () => ensureHostKeys('/'),
    complete: async (s) => {
      markComplete();
      const problems: string[] = [];
      try {
        await recordFirstBoot(paths, s, (line) => process.stderr.write(`${line}\n`));
      } catch (err) {
        problems.push(`first boot was not recorded in the administration audit log: ${(err as Error).message}`);
      }
      const attempt = (what: string, ...args: string[]) => systemctl(...args).catch((e: { stderr?: string; message: string }) => void problems.push(`${what}: ${(e.stderr ?? e.message).trim()}`));
      await attempt('the key server did not start', 'start', 'keyhaven.service');
      if (s.network.ssh.enabled) await attempt('SSH did not start', 'enable', '--now', 'ssh.service');
      await attempt('the status banner was not updated', 'restart', 'keyhaven-banner.service');
      return problems;
    },
    handOver: async (tty) => {
      const others = ['tty1', 'ttyS0'].filter((t) => t !== tty).map((t) => `keyhaven-first-boot@${t}.service`);
      await systemctl('--no-block', 'stop', ...others).catch(() => undefined);
    },
  };
}

/** Tests: files under `root`, commands appended to root/commands.log, passwords checked but not set. */
export function sandboxSystem(root: string, initial: ApplianceSettings = parseApplianceSettings({}, 'defaults')): FirstBootSystem {
  const paths = appliancePaths(root);
  const log = (line: string) => appendFileSync(join(root, 'commands.log'), `${line}\n`);
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  return {
    readSettings: () => initial,
    beginChanges: async () => {
      if (firstBootStarted(root)) {
        await emptyDataDir(paths);
        log('reset partial first boot');
      }
      markStarted(root);
    },
    applySettings: async (s) => {
      mkdirSync(join(root, 'etc/keyhaven'), { recursive: true });
      writeFileSync(join(root, 'etc/keyhaven/appliance.json'), `${JSON.stringify(s, null, 2)}\n`);
      log('apply settings');
    },
    createPki: (s) => createPkiIn(paths, s),
    setPassword: async (password, hostname) => {
      const v = checkPassword(password, { username: 'admin', hostname });
      if (!v.ok) throw new Error(v.reasons.join(' '));
      log('set admin password');
    },
    sshHostKeys: async () => {
      mkdirSync(join(root, 'etc/ssh'), { recursive: true });
      return ensureHostKeys(root);
    },
    complete: async (s) => {
      markComplete(root);
      await recordFirstBoot(paths, s, log);
      log('systemctl start keyhaven.service');
      if (s.network.ssh.enabled) log('systemctl enable --now ssh.service');
      return [];
    },
    handOver: async (tty) => log(`hand over ${tty}`),
  };
}
