// Backups against issue 14's goals, on the scale section's large store (filled through the server's
// own Create path) while its server runs: `keyhaven backup create` timed from its start to its exit
// (process start included), the file's size against the store's, Get throughput with N connections
// in a window during the backup against a window just before it, and `keyhaven backup restore` of
// that file onto a new directory, timed the same way.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackupKey } from '../../server/backup/backup-key.js';
import type { ScenarioResult } from './load.js';
import { fmtBytes, fmtInt, fmtPct } from './report.js';

const KEYHAVEN = fileURLToPath(new URL('../../appliance/bin/keyhaven.js', import.meta.url));

export interface BackupBenchResult {
  backupSeconds: number;
  restoreSeconds: number;
  fileBytes: number;
  storeBytes: number;
  getIdle: ScenarioResult;
  getDuring: ScenarioResult;
  /** Whether the Get window ended before the backup did (else the figure mixes in idle time). */
  windowInside: boolean;
}

function run(args: string[], input?: string): { done: Promise<{ code: number | null; stderr: string; ms: number }> } {
  const t0 = performance.now();
  const child = spawn(process.execPath, [KEYHAVEN, ...args], { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  if (input !== undefined) child.stdin!.end(input);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return { done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr, ms: performance.now() - t0 }))) };
}

export async function backupBench(o: {
  dir: string;
  restoreDir: string;
  /** A Get window of the bench's N connections against the running server. */
  getWindow: () => Promise<ScenarioResult>;
  log: (line?: string) => void;
}): Promise<BackupBenchResult> {
  const store = join(o.dir, 'keyhaven.db');
  const storeBytes = statSync(store).size + (existsSync(`${store}-wal`) ? statSync(`${store}-wal`).size : 0);
  const { shares } = await initBackupKey({ dataDir: o.dir, masterKeyFile: join(o.dir, 'master.key'), count: 3, threshold: 2, rekey: false });
  const file = join(o.dir, '..', 'bench-backup.khbak');
  const getIdle = await o.getWindow();
  const backup = run(['backup', 'create', '--data-dir', o.dir, '--out', file]);
  let backupEnded = false;
  void backup.done.then(() => (backupEnded = true));
  const getDuring = await o.getWindow();
  const windowInside = !backupEnded;
  const b = await backup.done;
  if (b.code !== 0) throw new Error(`keyhaven backup create failed: ${b.stderr}`);
  const fileBytes = statSync(file).size;
  o.log(`  backup of the ${fmtBytes(storeBytes)} store: ${(b.ms / 1000).toFixed(1)} s, file ${fmtBytes(fileBytes)} (${(fileBytes / storeBytes).toFixed(2)}× the store)`);
  const r = await run(['backup', 'restore', '--file', file, '--data-dir', o.restoreDir], shares.slice(0, 2).join('\n')).done;
  if (r.code !== 0) throw new Error(`keyhaven backup restore failed: ${r.stderr}`);
  o.log(`  restore onto a new directory: ${(r.ms / 1000).toFixed(1)} s`);
  o.log(`  Get, idle: ${fmtInt(getIdle.opsPerSec)} ops/s; during the backup: ${fmtInt(getDuring.opsPerSec)} ops/s (${fmtPct(getDuring.opsPerSec / getIdle.opsPerSec)})` +
    (windowInside ? '' : ' — the backup ended before the window did: the figure includes idle time'));
  return { backupSeconds: b.ms / 1000, restoreSeconds: r.ms / 1000, fileBytes, storeBytes, getIdle, getDuring, windowInside };
}

/** The goals' lines; true when all hold. */
export function judgeBackup(r: BackupBenchResult, keys: number, log: (line?: string) => void, verdict: (ok: boolean) => string): boolean {
  const scale = keys / 1_000_000;
  const lines: [string, boolean][] = [
    [`backup of ${fmtInt(keys)} keys: ${r.backupSeconds.toFixed(1)} s (goal ≤ ${(60 * scale).toFixed(0)} s${scale === 1 ? '' : ', 60 s per million'})`, r.backupSeconds <= 60 * scale],
    [`restore of ${fmtInt(keys)} keys: ${r.restoreSeconds.toFixed(1)} s (goal ≤ ${(120 * scale).toFixed(0)} s${scale === 1 ? '' : ', 120 s per million'})`, r.restoreSeconds <= 120 * scale],
    [`backup file: ${(r.fileBytes / r.storeBytes).toFixed(2)}× the store (goal ≤ 1.2×)`, r.fileBytes <= 1.2 * r.storeBytes],
    [`Get during a backup: ${fmtPct(r.getDuring.opsPerSec / r.getIdle.opsPerSec)} of idle (goal ≥ 80 %)`, r.getDuring.opsPerSec >= 0.8 * r.getIdle.opsPerSec && r.windowInside],
  ];
  for (const [text, ok] of lines) log(`${text}: ${verdict(ok)}`);
  return lines.every(([, ok]) => ok);
}
