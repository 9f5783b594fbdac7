// A consistent copy of what a backup holds, taken while the server serves: the key store with its
// audit log and mirroring state (SQLite's VACUUM INTO: one read transaction, so one committed state,
// compacted, without the -wal file; writers are not blocked), the master key, and the PKI directory
// (copied under the PKI lock, so no certificate is half-issued). Mirroring's full copy streams rows
// to a peer and cannot give a file; this is the file-level snapshot, and nothing in it is written
// back to the live store.
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { VERSION } from '../../lib/version.js';
import type { ResolvedPaths } from '../config.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { ENUM_VALUE_NAMES } from '../kmip/tables.js';
import { pkiPaths, readIndex, withLock } from '../pki/store.js';
import { entryFor, type BackupContents, type Manifest, type ManifestEntry } from './backup-archive.js';

/** Where each part lives inside a backup. */
export const ENTRY = { store: 'store/keyhaven.db', masterKey: 'store/master.key' } as const;
export const PKI_PREFIX = 'pki';
/** Files named by the configuration's backup.include (restore.ts puts them aside for their owner). */
export const EXTRA_PREFIX = 'extra';

export interface Snapshot {
  manifest: Manifest;
  /** Backup path -> the staged file holding it. */
  files: Map<string, string>;
}

/** What a store copy holds, for the manifest and `backup verify`'s listing. Opens it read-only. */
export function describeStore(file: string, pkiDataDir?: string): BackupContents {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const byType: Record<string, number> = {};
    const byState: Record<string, number> = {};
    let objects = 0;
    for (const r of db.prepare('SELECT object_type AS t, state AS s, count(*) AS n FROM objects GROUP BY object_type, state').all() as { t: number; s: number; n: number }[]) {
      const type = ENUM_VALUE_NAMES.ObjectType.get(r.t) ?? `type ${r.t}`;
      const state = ENUM_VALUE_NAMES.State.get(r.s) ?? `state ${r.s}`;
      byType[type] = (byType[type] ?? 0) + r.n;
      byState[state] = (byState[state] ?? 0) + r.n;
      objects += r.n;
    }
    const audit = db.prepare('SELECT count(*) AS n, min(time) AS first, max(time) AS last FROM audit').get() as { n: number; first: string | null; last: string | null };
    const identity = db.prepare("SELECT value FROM meta WHERE key = 'mirror_identity'").get() as { value: Buffer } | undefined;
    let mirror: BackupContents['mirror'] = null;
    if (identity) {
      const j = JSON.parse(String(identity.value)) as { node: string; group: string };
      const members = (db.prepare('SELECT count(*) AS n FROM mirror_members WHERE removed = 0').get() as { n: number }).n;
      mirror = { node: j.node, group: j.group, members };
    }
    let certificates = 0;
    if (pkiDataDir && existsSync(pkiPaths(pkiDataDir).index)) certificates = readIndex(pkiPaths(pkiDataDir)).certificates.length;
    return { objects, byType, byState, auditRecords: audit.n, firstAudit: audit.first, lastAudit: audit.last, mirror, certificates };
  } finally {
    db.close();
  }
}

/** Runs snapshot-worker.ts: the store copied (VACUUM INTO) and described, on a worker thread. */
function copyStoreOffThread(source: string, copy: string): Promise<BackupContents> {
  const here = import.meta.url;
  const ts = here.endsWith('.ts');
  const worker = new URL(ts ? './snapshot-worker.ts' : './snapshot-worker.js', here).href;
  // Workers do not inherit tsx's loader (a source checkout registers it in the launcher): register it there too.
  const boot = ts ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); })` : `import(${JSON.stringify(worker)})`;
  return new Promise((resolve, reject) => {
    const w = new Worker(boot, { eval: true, workerData: { source, copy } });
    let answered = false;
    w.once('message', (m: { ok: true; contents: BackupContents } | { ok: false; message: string }) => {
      answered = true;
      if (m.ok) resolve(m.contents);
      else reject(new KeyhavenError(ErrorCodes.STORE_MISSING, `cannot copy the key store ${source} for the backup: ${m.message}`));
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (!answered) reject(new Error(`the store copy's worker ended (${code}) without an answer`));
    });
  });
}

/** Files of the PKI directory, relative to it (its lock and half-written temporary files left out). */
function pkiFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
    if (d.name.startsWith('.')) continue; // .lock, and writeFileAtomic's temporary files
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...pkiFiles(root, r));
    else if (d.isFile()) out.push(r);
  }
  return out.sort();
}

/**
 * Copies the parts of a backup from a data directory into `staging` (new, private) and describes
 * them. Safe while the server runs: it reads the store in one transaction and writes nothing to it.
 */
export async function takeSnapshot(o: { paths: ResolvedPaths; dataDir: string; staging: string; generation: number; include?: Readonly<Record<string, string>>; now?: Date }): Promise<Snapshot> {
  const files = new Map<string, string>();
  /** The live files' modes (the copies' follow the umask). */
  const modes = new Map<string, number>([[ENTRY.store, 0o600], [ENTRY.masterKey, 0o600]]);
  const storeCopy = join(o.staging, 'keyhaven.db');
  const copied = await copyStoreOffThread(o.paths.database, storeCopy);
  files.set(ENTRY.store, storeCopy);
  const keyCopy = join(o.staging, 'master.key');
  copyFileSync(o.paths.masterKey, keyCopy);
  files.set(ENTRY.masterKey, keyCopy);
  const pki = pkiPaths(o.dataDir);
  const pkiCopy = join(o.staging, 'pki-data');
  if (existsSync(pki.root)) {
    await withLock(pki, () => {
      for (const rel of pkiFiles(pki.root)) {
        const to = join(pkiCopy, 'pki', ...rel.split('/'));
        mkdirSync(join(to, '..'), { recursive: true, mode: 0o700 });
        const from = join(pki.root, ...rel.split('/'));
        copyFileSync(from, to);
        files.set(`${PKI_PREFIX}/${rel}`, to);
        modes.set(`${PKI_PREFIX}/${rel}`, statSync(from).mode);
      }
    }, { waitMs: 60_000 });
  }
  // Each is copied whole (their writers replace them by rename, so a copy is never half-written).
  const missing: string[] = [];
  for (const [name, from] of Object.entries(o.include ?? {})) {
    if (!existsSync(from)) {
      missing.push(name);
      continue;
    }
    const to = join(o.staging, EXTRA_PREFIX, name);
    mkdirSync(join(to, '..'), { recursive: true, mode: 0o700 });
    copyFileSync(from, to);
    files.set(`${EXTRA_PREFIX}/${name}`, to);
  }
  const entries: ManifestEntry[] = [];
  for (const [path, file] of files) entries.push(await entryFor(path, file, modes.get(path)));
  const manifest: Manifest = {
    format: 1,
    created: (o.now ?? new Date()).toISOString(),
    keyhaven: VERSION,
    source: { host: hostname(), dataDir: o.dataDir },
    generation: o.generation,
    entries,
    contents: { ...copied, certificates: existsSync(pkiCopy) ? readIndex(pkiPaths(pkiCopy)).certificates.length : 0 },
    ...(missing.length > 0 ? { missing } : {}),
  };
  return { manifest, files };
}
