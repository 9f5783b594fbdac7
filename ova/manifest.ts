// The OVF manifest (DSP0243 1.0 §5.1): one line per file of the package, `SHA256(name)= hex`.
// SHA-256 manifests are accepted from vSphere 6.5 (older vSphere and ovftool read only SHA1).
// Files are hashed as streams, so a multi-hundred-MB disk is never held in memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, KeyhavenError } from './errors.js';

export interface ManifestEntry {
  /** The file name as it appears in the package (and in the OVF References). */
  readonly name: string;
  /** Lower-case hexadecimal SHA-256 of the file. */
  readonly sha256: string;
}

/** The exact form of a manifest line. */
export const MANIFEST_LINE = /^SHA256\(([^)]+)\)= ([0-9a-f]{64})$/;

/** SHA-256 of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Renders the manifest text: one `SHA256(name)= hex` line per entry, each ending in \n. */
export function renderManifest(entries: readonly ManifestEntry[]): string {
  const seen = new Set<string>();
  return entries
    .map((e) => {
      if (!/^[^()/\\\n\r]+$/.test(e.name)) {
        throw new KeyhavenError(ErrorCodes.OVA_INVALID, `manifest: file name ${JSON.stringify(e.name)} cannot be listed (no parentheses, slashes or line breaks)`);
      }
      if (!/^[0-9a-f]{64}$/.test(e.sha256)) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `manifest: ${e.name}: ${JSON.stringify(e.sha256)} is not a lower-case SHA-256`);
      if (seen.has(e.name)) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `manifest: ${e.name} is listed twice`);
      seen.add(e.name);
      return `SHA256(${e.name})= ${e.sha256}\n`;
    })
    .join('');
}

/** Hashes the files (in order) and renders their manifest; names are the files' base names. */
export async function createManifest(paths: readonly string[]): Promise<{ text: string; entries: ManifestEntry[] }> {
  const entries: ManifestEntry[] = [];
  for (const path of paths) entries.push({ name: basename(path), sha256: await sha256File(path) });
  return { text: renderManifest(entries), entries };
}

/** Parses manifest text strictly; throws KeyhavenError(KH_OVA_INVALID) naming the bad line. */
export function parseManifest(text: string): ManifestEntry[] {
  if (text !== '' && !text.endsWith('\n')) throw new KeyhavenError(ErrorCodes.OVA_INVALID, 'manifest: the last line does not end in a newline');
  const lines = text === '' ? [] : text.slice(0, -1).split('\n');
  return lines.map((line, i) => {
    const m = MANIFEST_LINE.exec(line);
    if (!m) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `manifest line ${i + 1} ${JSON.stringify(line)} is not of the form "SHA256(name)= <64 hex digits>"`);
    return { name: m[1] as string, sha256: m[2] as string };
  });
}
