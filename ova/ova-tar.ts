// The OVA: a POSIX USTAR archive of the package files (DSP0243 1.0 §5.3): the descriptor first, then
// the manifest, then the files in References order. Written with tar-stream, one file at a time from
// disk, so the disk image is streamed and never held in memory.
//
// Kept strictly USTAR: names of at most 100 bytes (no prefix field, no PAX headers) and files smaller
// than 8 GiB (the 11-octal-digit size field; tar-stream would otherwise fall back to a GNU base-256 size).
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack } from 'tar-stream';
import { ErrorCodes, KeyhavenError } from './errors.js';

/** The largest file a USTAR header can describe: 8 GiB - 1. */
export const USTAR_MAX_FILE_SIZE = 8 * 1024 ** 3 - 1;

export interface OvaEntry {
  /** Path of the file to add; its name in the archive is `name` or the file's base name. */
  readonly path: string;
  readonly name?: string;
}

export interface WriteOvaOptions {
  readonly outFile: string;
  /** In archive order: the .ovf, the .mf, then the disks. */
  readonly entries: readonly OvaEntry[];
  /** Modification time of every entry; pass a fixed time for a reproducible archive. Default: now. */
  readonly mtime?: Date;
}

export interface OvaMember {
  readonly name: string;
  readonly size: number;
}

function checkOrder(names: readonly string[]): void {
  const problems: string[] = [];
  if (!names[0]?.endsWith('.ovf')) problems.push(`the first entry must be the .ovf descriptor, not ${JSON.stringify(names[0])}`);
  const mf = names.findIndex((n) => n.endsWith('.mf'));
  if (mf >= 0 && mf !== 1) problems.push('the .mf manifest must come right after the descriptor');
  if (names.filter((n) => n.endsWith('.ovf')).length > 1) problems.push('there must be only one .ovf descriptor');
  for (const name of names) {
    if (!/^[\x21-\x7e]+$/.test(name) || name.includes('/') || name.length > 100) {
      problems.push(`entry name ${JSON.stringify(name)} must be a plain ASCII file name of at most 100 characters, without "/" or spaces`);
    }
  }
  if (new Set(names).size !== names.length) problems.push('entry names repeat');
  if (problems.length > 0) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `OVA: ${problems.join('; ')}`);
}

/**
 * Writes the OVA, streaming each file into the archive. The archive is written to `outFile.partial`
 * and renamed into place when complete. Returns the members in order.
 */
export async function writeOva(options: WriteOvaOptions): Promise<OvaMember[]> {
  const names = options.entries.map((e) => e.name ?? basename(e.path));
  checkOrder(names);
  const members: OvaMember[] = [];
  for (const [i, entry] of options.entries.entries()) {
    const s = await stat(entry.path);
    if (!s.isFile()) throw new KeyhavenError(ErrorCodes.OVA_INVALID, `OVA: ${entry.path} is not a regular file`);
    if (s.size > USTAR_MAX_FILE_SIZE) {
      throw new KeyhavenError(ErrorCodes.OVA_INVALID, `OVA: ${entry.path} is ${s.size} bytes; a USTAR archive holds files under 8 GiB`);
    }
    members.push({ name: names[i] as string, size: s.size });
  }
  const mtime = new Date(Math.floor((options.mtime ?? new Date()).getTime() / 1000) * 1000);
  const partial = `${options.outFile}.partial`;
  const pack = tarPack();
  const output = pipeline(pack, createWriteStream(partial, { mode: 0o644 }));
  try {
    for (const [i, member] of members.entries()) {
      const sink = pack.entry({ name: member.name, size: member.size, mode: 0o644, mtime, type: 'file', uid: 0, gid: 0, uname: 'root', gname: 'root' });
      // The sink fails if the file changes size while it is read (tar-stream checks the byte count).
      await pipeline(createReadStream((options.entries[i] as OvaEntry).path), sink);
    }
    pack.finalize();
    await output;
    await rename(partial, options.outFile);
  } catch (e) {
    pack.destroy();
    await output.catch(() => undefined);
    await rm(partial, { force: true });
    throw e;
  }
  return members;
}
