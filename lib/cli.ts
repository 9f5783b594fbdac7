// The command line's shape, shared by `keyhaven` and its command groups (pki, firewall, appliance):
// a table of commands from which both the usage text and the dispatch are made, so that the help
// lists exactly what runs. Exit statuses: 0 done, 1 failed, 2 usage error.
import { CoreCodes, KeyhavenError } from './errors.js';

export interface CliOutput {
  write(chunk: string): unknown;
}

export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  /** Read by `keyhaven credential hash` and `keyhaven ttlv print` (default: the process's). */
  readonly stdin?: NodeJS.ReadableStream;
}

/** Everything on the command's standard input. */
export async function readInput(io: CliIo): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin ?? process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });

export interface CliCommand {
  readonly name: string;
  /** Its lines in the usage, starting with the name; none for a command that is not for people. */
  readonly usage?: string;
  /** What `NAME --help` prints (default: the usage lines); a command group gives its own usage. */
  readonly help?: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** A usage error: the dispatcher prints it with the command's usage and exits 2. */
export function usageError(message: string): KeyhavenError {
  return new KeyhavenError(CoreCodes.CLI_USAGE, message);
}

export function usageText(program: string, commands: readonly CliCommand[]): string {
  const lines = commands.flatMap((c) => (c.usage ? c.usage.trimEnd().split('\n') : []));
  return `usage: ${program} <command> [options]\n\n${lines.map((l) => `  ${l}\n`).join('')}`;
}

/** One command's usage lines, each form with the program's name. */
function commandUsage(program: string, c: CliCommand): string {
  if (!c.usage) return '';
  const pad = ' '.repeat(program.length + 1);
  return `usage:\n${c.usage.trimEnd().split('\n').map((l) => `  ${l.startsWith(c.name) ? `${program} ` : pad}${l}\n`).join('')}`;
}

const HELP = new Set(['help', '--help', '-h']);

/**
 * Runs `program NAME ARGS…`. `NAME --help` prints that command's help without running it; a
 * KeyhavenError ends with its message and code (exit 2 for CLI_USAGE, else 1), not a stack trace.
 */
export async function dispatch(program: string, commands: readonly CliCommand[], argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  const usage = usageText(program, commands);
  if (name === undefined || HELP.has(name)) {
    io.stdout.write(usage);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`${program}: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  const own = command.help ?? commandUsage(program, command);
  if (args[0] === '--help' || args[0] === '-h') {
    io.stdout.write(own);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof KeyhavenError) {
      const usageFault = err.code === CoreCodes.CLI_USAGE;
      io.stderr.write(`${program}: ${err.message} [${err.code}]\n${usageFault && own ? `\n${own}` : ''}`);
      return usageFault ? 2 : 1;
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`${program}: ${err.message}\n\n${own}`);
      return 2;
    }
    throw err;
  }
}
