// What the first-boot wizard changes on the appliance, behind one interface: the real system (as root)
// or, for tests driving the wizard in a pseudo-terminal, a sandbox directory where the same files are
// written and the commands that would run are recorded. PKI is real in both.
//
// The wizard runs as root, but the key server's data directory is its account's: what first boot
// does there (remove an interrupted run's leftovers, create the CA and the server certificate, the
// master key) is done by the data worker as that account (admin/data-owner.ts), in both.
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminAuditLog } from '../admin/admin-audit.js';
import { promisify } from 'node:util';
import { checkPassword } from '../accounts/password-policy.js';
import { setAdminPassword } from '../accounts/admin-account.js';
import { asDataOwner } from '../admin/data-owner.js';
import type { WorkerResult } from '../admin/data-worker.js';
import { appliancePaths, type AppliancePaths } from '../admin/paths.js';
import { applySettings, PATHS, saveSettings } from '../boot/configure.js';
import { ownAddress } from '../boot/own-address.js';
import { ensureHostKeys, type HostKeyFingerprint } from '../ssh/host-keys.js';
import { parseApplianceSettings, readApplianceSettings, type ApplianceSettings } from '../settings.js';
import { recordFirstBoot } from './first-boot-record.js';
import type { BackupHost } from './restore-form.js';
import { firstBootStarted, markComplete, markStarted } from './state.js';

const run = promisify(execFile);

export interface PkiSummary {
  readonly caFingerprint: string;
  readonly serverFingerprint: string;
  /** A CA placed on the disk before first boot (never by an earlier, interrupted wizard) was kept. */
  readonly kept: boolean;
}

/** The mirror group this appliance joined (data-worker.ts 'mirror.join'). */
export type JoinedGroup = WorkerResult<'mirror.join'>;

/** A backup restored at first boot (backup/backup-worker-ops.ts 'backup.restore'). */
export interface RestoredBackup {
  readonly name: string;
  readonly made: string;
  readonly host: string;
  readonly contents: WorkerResult<'backup.restore'>['contents'];
  /** The backup's appliance settings (JSON text), when it carries them. */
  readonly settings?: string;
  /** 'restored', or why this appliance starts a new administration log instead. */
  readonly adminLog: string;
}

export interface FirstBootSystem {
  /** The settings this boot applied (from the OVF environment), or the defaults. */
  readSettings(): ApplianceSettings;
  /** Undoes what an interrupted earlier run created; then records that this run changes things. */
  beginChanges(): Promise<void>;
  applySettings(s: ApplianceSettings): Promise<void>;
  /** With DHCP, the address the interface has now (the group reaches the key server there). */
  ownAddress(): Promise<string | undefined>;
  /** Joins the group the token names, before the key server first starts; a failure leaves nothing behind. */
  joinGroup(token: string, advertise: string): Promise<JoinedGroup>;
  /** The appliance's SSH key for the backup host (made on first use): its public line. */
  backupSshKey(): Promise<string>;
  listBackups(host: BackupHost): Promise<WorkerResult<'backup.list'>>;
  /** Restores `name` into the empty data directory; the backup's administration log becomes this appliance's. */
  restoreBackup(host: BackupHost, name: string, shares: string[]): Promise<RestoredBackup>;
  /** Empties the data directory again (a restore given up for a new appliance). */
  resetData(): Promise<void>;
  /** The server certificate, and the CA unless the appliance joined a group (it has the group's then). */
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

function joinIn(paths: AppliancePaths, token: string, advertise: string): Promise<JoinedGroup> {
  return asDataOwner(paths, 'mirror.join', { token, advertise, anchorFile: paths.anchorFile });
}

async function backupSshKeyIn(paths: AppliancePaths): Promise<string> {
  return (await asDataOwner(paths, 'backup.ssh-key', { create: true })).publicKey!;
}

/**
 * The backup's administration log put in place as this appliance's, once it verifies with the
 * restored master key (its chain key derives from it); otherwise set aside, and a new log starts.
 */
function installAdminLog(paths: AppliancePaths, bytes: Buffer | undefined): string {
  if (!bytes) return 'the backup holds no administration log: a new one starts here';
  mkdirSync(paths.adminAuditDir, { recursive: true, mode: 0o755 });
  const candidate = `${paths.adminAudit}.restored`;
  rmSync(candidate, { force: true });
  writeFileSync(candidate, bytes, { mode: 0o600 });
  let problem: string | undefined;
  try {
    const log = AdminAuditLog.open({ ...paths, adminAudit: candidate }, { create: false });
    try {
      const v = log.verify();
      if (!v.ok) problem = v.problem;
    } finally {
      log.close();
    }
  } catch (err) {
    problem = (err as Error).message;
  }
  if (problem) {
    renameSync(candidate, `${paths.adminAudit}.unverified-${Date.now()}`);
    return `the backup's administration log does not verify (${problem}): it is kept aside in ${paths.adminAuditDir}, and a new one starts here`;
  }
  for (const side of ['', '-wal', '-shm']) rmSync(`${paths.adminAudit}${side}`, { force: true });
  renameSync(candidate, paths.adminAudit);
  return 'restored';
}

async function restoreIn(paths: AppliancePaths, host: BackupHost, name: string, shares: string[]): Promise<RestoredBackup> {
  const r = await asDataOwner(paths, 'backup.restore', { target: host, name, shares, replace: false, anchorFile: paths.anchorFile, who: 'admin at the console (first boot)' });
  const adminLog = installAdminLog(paths, r.appliance.adminAuditBase64 ? Buffer.from(r.appliance.adminAuditBase64, 'base64') : undefined);
  return { name: r.name, made: r.made, host: r.host, contents: r.contents, ...(r.appliance.settings ? { settings: r.appliance.settings } : {}), adminLog };
}

/** Removes everything under the data directory an interrupted run left (the key server never ran). */
async function emptyDataDir(paths: AppliancePaths): Promise<void> {
  if (existsSync(paths.dataDir)) await asDataOwner(paths, 'first-boot.reset', { anchorFile: paths.anchorFile });
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
    ownAddress,
    joinGroup: (token, advertise) => joinIn(paths, token, advertise),
    backupSshKey: () => backupSshKeyIn(paths),
    listBackups: (host) => asDataOwner(paths, 'backup.list', { target: host }),
    restoreBackup: (host, name, shares) => restoreIn(paths, host, name, shares),
    resetData: () => emptyDataDir(paths),
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
    ownAddress: async () => '192.0.2.10',
    joinGroup: async (token, advertise) => {
      const joined = await joinIn(paths, token, advertise);
      log(`joined mirror group as ${joined.node}`);
      return joined;
    },
    backupSshKey: () => backupSshKeyIn(paths),
    listBackups: (host) => asDataOwner(paths, 'backup.list', { target: host }),
    restoreBackup: async (host, name, shares) => {
      const r = await restoreIn(paths, host, name, shares);
      log(`restored ${name}`);
      return r;
    },
    resetData: async () => {
      await emptyDataDir(paths);
      log('reset data directory');
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
