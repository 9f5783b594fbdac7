// `keyhaven ttlv print [FILE]`: shows KMIP TTLV bytes (a captured request or response) item by
// item with spec names, for debugging a client. The input is binary TTLV or hex text (white space
// and line breaks ignored, as `xxd -p` writes it); without FILE, standard input.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readInput, usageError, type CliCommand, type CliIo } from '../lib/cli.js';

/** Hex text if the input is nothing but hex digit pairs and white space, else the bytes themselves. */
export function ttlvInput(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  if (/^[\s0-9a-fA-F]*$/.test(text)) {
    const digits = text.replace(/\s+/g, '');
    if (digits.length % 2 !== 0) throw usageError(`the hex input has an odd number of digits (${digits.length})`);
    return Buffer.from(digits, 'hex');
  }
  return raw;
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'max-bytes': { type: 'string' } } });
  const [sub, file, ...extra] = positionals;
  if (sub !== 'print') throw usageError(`unknown ttlv command "${sub ?? ''}"`);
  if (extra.length > 0) throw usageError(`one FILE at most (got ${positionals.length - 1})`);
  const maxBytes = Number(values['max-bytes'] ?? 32);
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw usageError(`--max-bytes ${values['max-bytes']} is not a positive number`);
  let raw: Buffer;
  try {
    raw = file !== undefined && file !== '-' ? await readFile(file) : await readInput(io);
  } catch (e) {
    throw usageError(`cannot read ${file ?? 'standard input'}: ${(e as Error).message}`);
  }
  // The KMIP tables and codec load when the command runs, not with the command table (server/index.ts is light).
  const { printTtlv } = await import('./kmip/ttlv-print.js');
  io.stdout.write(`${printTtlv(ttlvInput(raw), { maxBytes })}\n`);
  return 0;
}

export const ttlvCommand: CliCommand = {
  name: 'ttlv',
  usage: `ttlv print [FILE] [--max-bytes N]
                             print KMIP TTLV (binary, or hex) from FILE or standard input item by
                             item, with tag, type and enumeration names; Byte Strings cut at N bytes`,
  run,
};
