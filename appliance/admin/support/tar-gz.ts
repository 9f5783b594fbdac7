// A small in-memory tar.gz writer for the support bundle: the appliance ships no tar library at
// run time (tar-stream is a build-time dependency of the OVA), and the bundle is a few text files.
// POSIX USTAR (POSIX.1-1988 ustar header), regular files only, names of at most 100 bytes.
import { gzipSync } from 'node:zlib';

export interface TarFile {
  readonly name: string;
  readonly data: Buffer;
}

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, length, 'utf8');
}

/** An octal number in `length - 1` digits and a NUL, as USTAR numeric fields are written. */
const octal = (n: number, length: number): string => `${n.toString(8).padStart(length - 1, '0')}\0`;

function header(name: string, size: number, mtime: number): Buffer {
  if (Buffer.byteLength(name) > 100 || !/^[\x21-\x7e]+$/.test(name)) throw new Error(`tar: ${JSON.stringify(name)} is not a printable ASCII name of at most 100 bytes`);
  const h = Buffer.alloc(BLOCK);
  field(h, 0, 100, name);
  field(h, 100, 8, octal(0o644, 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(mtime, 12));
  field(h, 148, 8, '        '); // the checksum is computed with its own field as spaces
  field(h, 156, 1, '0');
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  field(h, 265, 32, 'root');
  field(h, 297, 32, 'root');
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** The files as a gzip-compressed USTAR archive. */
export function tarGz(files: readonly TarFile[], mtime = new Date()): Buffer {
  const seconds = Math.floor(mtime.getTime() / 1000);
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(header(f.name, f.data.length, seconds), f.data);
    const pad = (BLOCK - (f.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}
