// What a backup holds, before encryption: a tar stream (tar-stream) whose first entry is
// manifest.json — every other entry's path, size, mode and SHA-256, and a summary of the contents —
// followed by those entries. Unpacking writes only the entries the manifest names, under a
// directory of the caller's, checking each one's size and digest; anything else is refused.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fchmodSync, fsyncSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ErrorCodes, KeyhavenError } from '../errors.js';

export const MANIFEST = 'manifest.json';
const MAX_MANIFEST = 1024 * 1024;

export interface ManifestEntry {
  /** Relative path inside the backup: segments of [A-Za-z0-9._-], never '.' or '..'. */
  path: string;
  size: number;
  sha256: string;
  mode: number;
}

export interface BackupContents {
  objects: number;
  /** Objects by KMIP object type name, then by state name. */
  byType: Record<string, number>;
  byState: Record<string, number>;
  auditRecords: number;
  firstAudit: string | null;
  lastAudit: string | null;
  /** The mirror group the server was in (null: none). */
  mirror: { node: string; group: string; members: number } | null;
  certificates: number;
}

export interface Manifest {
  format: 1;
  created: string;
  /** The Keyhaven release that made it. */
  keyhaven: string;
  source: { host: string; dataDir: string };
  generation: number;
  entries: ManifestEntry[];
  contents: BackupContents;
  /** Files of the configuration's backup.include that did not exist when the backup was taken. */
  missing?: string[];
}

function invalid(message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.BACKUP_FILE_INVALID, message);
}

const SEGMENT = /^[A-Za-z0-9._-]{1,200}$/;

/** Whether a path may appear in a backup (and so be written under the restore directory). */
export function safeEntryPath(p: string): boolean {
  const parts = p.split('/');
  return parts.length <= 6 && parts.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..') && p !== MANIFEST;
}

export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(file)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

/** A manifest entry for a file that will not change any more (a snapshot's copy). */
export async function entryFor(path: string, file: string, mode = statSync(file).mode): Promise<ManifestEntry> {
  if (!safeEntryPath(path)) throw new Error(`bug: unsafe backup entry path ${path}`);
  const { sha256, size } = await sha256File(file);
  // Only the permission bits, and never more than readable by all: a restore writes no executable.
  return { path, size, sha256, mode: mode & 0o644 };
}

/** The tar stream: the manifest, then each entry read from `files[path]`. */
export function packArchive(manifest: Manifest, files: ReadonlyMap<string, string>): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  const fill = async () => {
    const m = Buffer.from(JSON.stringify(manifest, null, 2), 'utf8');
    await new Promise<void>((ok, fail) => pack.entry({ name: MANIFEST, size: m.length, mode: 0o600 }, m, (err) => (err ? fail(err) : ok())));
    for (const e of manifest.entries) {
      const entry = pack.entry({ name: e.path, size: e.size, mode: e.mode });
      await pipeline(createReadStream(files.get(e.path)!), entry);
    }
    pack.finalize();
  };
  fill().catch((err: Error) => pack.destroy(err));
  pack.on('error', (err) => out.destroy(err));
  pack.pipe(out);
  return out;
}

function checkManifest(value: unknown): Manifest {
  const m = value as Manifest;
  const ok =
    m !== null && typeof m === 'object' && m.format === 1 && typeof m.created === 'string' && Number.isInteger(m.generation) && Array.isArray(m.entries) &&
    m.contents !== null && typeof m.contents === 'object' &&
    m.entries.every((e) => e && typeof e.path === 'string' && safeEntryPath(e.path) && Number.isSafeInteger(e.size) && e.size >= 0 && /^[0-9a-f]{64}$/.test(e.sha256) && Number.isInteger(e.mode));
  if (!ok) throw invalid('the backup manifest is not one Keyhaven writes');
  if (new Set(m.entries.map((e) => e.path)).size !== m.entries.length) throw invalid('the backup manifest names a file twice');
  return m;
}

async function readAll(stream: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) throw invalid('the backup manifest is too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Unpacks the tar stream into `dir` (which must be new and private). Returns the manifest once every
 * entry it names was written and matched its size and digest, and nothing else was in the archive.
 */
export async function unpackArchive(input: Readable, dir: string): Promise<Manifest> {
  const extract = tar.extract();
  const done = pipeline(input, extract);
  let manifest: Manifest | undefined;
  const seen = new Set<string>();
  const reading = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      if (!manifest) {
        if (h.name !== MANIFEST || h.type !== 'file') throw invalid(`the backup does not start with its manifest (found ${h.name})`);
        try {
          manifest = checkManifest(JSON.parse((await readAll(entry as AsyncIterable<Buffer>, MAX_MANIFEST)).toString('utf8')));
        } catch (err) {
          if (err instanceof KeyhavenError) throw err;
          throw invalid('the backup manifest is not readable');
        }
        continue;
      }
      const want = manifest.entries.find((e) => e.path === h.name);
      if (!want || h.type !== 'file') throw invalid(`the backup holds ${h.name}, which its manifest does not name`);
      if (seen.has(h.name)) throw invalid(`the backup holds ${h.name} twice`);
      seen.add(h.name);
      const target = join(dir, ...h.name.split('/'));
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      const hash = createHash('sha256');
      let size = 0;
      // Written synchronously chunk by chunk: bounded memory, and the file is synced before it counts.
      const fd = openSync(target, 'wx', 0o600);
      try {
        for await (const c of entry as AsyncIterable<Buffer>) {
          size += c.length;
          if (size > want.size) throw invalid(`${h.name} in the backup is larger than its manifest says`);
          hash.update(c);
          writeSync(fd, c);
        }
        fchmodSync(fd, want.mode & 0o644);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const sha = hash.digest('hex');
      if (size !== want.size || sha !== want.sha256) throw invalid(`${h.name} in the backup does not match its manifest (size ${size}, expected ${want.size}; digest ${sha.slice(0, 12)}…, expected ${want.sha256.slice(0, 12)}…)`);
    }
  })();
  // Either side may fail first (a chunk failing authentication upstream, a bad entry here): stop
  // both, wait for both, and report the first error Keyhaven itself raised.
  const results = await Promise.allSettled([
    done,
    reading.catch((err: unknown) => {
      extract.destroy(err as Error);
      input.destroy(err as Error);
      throw err;
    }),
  ]);
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) throw errors.find((e) => e instanceof KeyhavenError) ?? errors[0];
  if (!manifest) throw invalid('the backup holds no manifest');
  const missing = manifest.entries.filter((e) => !seen.has(e.path)).map((e) => e.path);
  if (missing.length > 0) throw invalid(`the backup lacks ${missing.join(', ')}, which its manifest names`);
  return manifest;
}
