// What the first-boot wizard changes on the appliance, behind one interface: the real system (as root)
// or, for tests driving the wizard in a pseudo-terminal, a sandbox directory where the same files are
// written and the commands that would run are recorded. PKI is real in both.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initPki, issueServer, pkiPaths } from '../../server/pki/index.js';
import { checkPassword } from '../accounts/password-policy.js';
import { setAdminPassword } from '../accounts/admin-account.js';
import { giveBackToOwner } from '../admin/data-dir.js';
import { appliancePaths } from '../admin/paths.js';
import { applySettings, PATHS, saveSettings } from '../boot/configure.js';
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
  beginChanges(): void;
  applySettings(s: ApplianceSettings): Promise<void>;
  createPki(s: ApplianceSettings): Promise<PkiSummary>;
  setPassword(password: string, hostname: string): Promise<void>;
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

const fingerprintOfFile = (path: string): string => new X509Certificate(readFileSync(path)).fingerprint256;

async function createPkiIn(dataDir: string, s: ApplianceSettings): Promise<PkiSummary> {
  const p = pkiPaths(dataDir);
  if (existsSync(p.caCert) && existsSync(p.serverCert)) {
    return { caFingerprint: fingerprintOfFile(p.caCert), serverFingerprint: fingerprintOfFile(p.serverCert), kept: true };
  }
  const ca = await initPki(dataDir, { name: s.hostname });
  const server = await issueServer(dataDir, { dns: [s.hostname], ip: s.address.mode === 'static' ? [s.address.address] : [] });
  return { caFingerprint: ca.fingerprint, serverFingerprint: server.fingerprint, kept: false };
}

/** Removes everything under the data directory an interrupted run left (the key server never ran). */
function emptyDir(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) rmSync(join(dir, e), { recursive: true, force: true });
}

export function realSystem(): FirstBootSystem {
  const systemctl = (...args: string[]) => run('/usr/bin/systemctl', args);
  return {
    readSettings: () => (existsSync(PATHS.settings) ? readApplianceSettings(PATHS.settings) : parseApplianceSettings({}, 'defaults')),
    beginChanges: () => {
      if (firstBootStarted()) emptyDir(PATHS.dataDir);
      markStarted();
    },
    applySettings: async (s) => {
      saveSettings(s);
      await applySettings(s);
    },
    createPki: async (s) => {
      const summary = await createPkiIn(PATHS.dataDir, s);
      giveBackToOwner(PATHS.dataDir); // the wizard runs as root; the directory is the key server's
      return summary;
    },
    setPassword: (password, hostname) => setAdminPassword(password, { hostname }),
    complete: async (s) => {
      markComplete();
      const problems: string[] = [];
      try {
        recordFirstBoot(appliancePaths('/'), s, (line) => process.stderr.write(`${line}\n`));
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
  const dataDir = join(root, 'var/lib/keyhaven');
  const log = (line: string) => appendFileSync(join(root, 'commands.log'), `${line}\n`);
  mkdirSync(dataDir, { recursive: true });
  return {
    readSettings: () => initial,
    beginChanges: () => {
      if (firstBootStarted(root)) {
        emptyDir(dataDir);
        log('reset partial first boot');
      }
      markStarted(root);
    },
    applySettings: async (s) => {
      mkdirSync(join(root, 'etc/keyhaven'), { recursive: true });
      writeFileSync(join(root, 'etc/keyhaven/appliance.json'), `${JSON.stringify(s, null, 2)}\n`);
      log('apply settings');
    },
    createPki: (s) => createPkiIn(dataDir, s),
    setPassword: async (password, hostname) => {
      const v = checkPassword(password, { username: 'admin', hostname });
      if (!v.ok) throw new Error(v.reasons.join(' '));
      log('set admin password');
    },
    complete: async (s) => {
      markComplete(root);
      recordFirstBoot(appliancePaths(root), s, log);
      log('systemctl start keyhaven.service');
      if (s.network.ssh.enabled) log('systemctl enable --now ssh.service');
      return [];
    },
    handOver: async (tty) => log(`hand over ${tty}`),
  };
}
