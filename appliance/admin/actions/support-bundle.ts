// The support bundle: what support asks for first (versions, services, recent journal, firewall,
// settings, the key server's configuration, unit sandboxing, resources, certificate expiry) as one
// tar.gz the menu prints as base64. Secrets are kept out twice: only known-safe things are collected
// (no file of the data directory is read, certificates are described, never copied), then every
// text goes through the redaction pass (support/redact.ts). A command that is missing or fails
// leaves a note in the bundle; it never fails the bundle.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { VERSION } from '../../../lib/version.js';
import { ErrorCodes, KeyhavenError } from '../../errors.js';
import { SERVER_CONFIG } from '../../boot/server-config.js';
import { defineAction, type ActionContext } from '../action.js';
import { asDataOwner } from '../data-owner.js';
import { CLIENT_EXPIRY_WARNING_DAYS } from '../menu-shared.js';
import { scrub, withoutSecretFields } from '../support/redact.js';
import { tarGz, type TarFile } from '../support/tar-gz.js';

/** Units whose state, and Keyhaven's whose sandboxing (systemd-analyze security), support needs. */
const UNITS = ['keyhaven.service', 'keyhaven-firewall.service', 'keyhaven-configure.service', 'keyhaven-banner.service', 'keyhaven-admin.socket', 'ssh.service', 'chrony.service', 'rsyslog.service', 'systemd-networkd.service', 'systemd-journald.service'];
const KEYHAVEN_SERVICES = ['keyhaven.service', 'keyhaven-firewall.service', 'keyhaven-configure.service', 'keyhaven-banner.service'];
/** Journal lines asked for at first; halved while the archive is over MAX_ARCHIVE_BYTES. */
export const JOURNAL_LINES = 1000;
const MIN_JOURNAL_LINES = 50;
/**
 * The archive's limit: as base64 in 76-character lines it is about 1,200 lines, which a terminal's
 * default scrollback (2,000 lines in PuTTY and tmux) still holds for copying.
 */
export const MAX_ARCHIVE_BYTES = 64 * 1024;
/** Any one command's output, before compression (a runaway journal line or ruleset is cut). */
const MAX_OUTPUT_CHARS = 512 * 1024;
const COMMAND_TIMEOUT_MS = 20_000;

export interface SupportBundle {
  /** The tar.gz archive, base64. */
  readonly base64: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly directory: string;
  readonly files: { name: string; bytes: number }[];
  /** What was cut or left out to fit, in words. */
  readonly truncated: string[];
  /** Pieces of text the redaction pass removed, all files together. */
  readonly redactions: number;
}

interface Section {
  readonly title: string;
  readonly text: string;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Keeps the end of a log, the start of anything else, and says so. */
function bounded(text: string, keep: 'head' | 'tail', what: string, truncated: string[]): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  truncated.push(`${what}: ${keep === 'tail' ? 'only the last' : 'only the first'} ${MAX_OUTPUT_CHARS} characters of ${text.length}`);
  return keep === 'tail' ? `[… cut: ${text.length - MAX_OUTPUT_CHARS} characters before]\n${text.slice(-MAX_OUTPUT_CHARS)}` : `${text.slice(0, MAX_OUTPUT_CHARS)}\n[… cut: ${text.length - MAX_OUTPUT_CHARS} characters after]`;
}

class Collector {
  readonly truncated: string[] = [];
  /** Notes by the order things were asked for: the commands run at the same time, finish in any order. */
  private readonly noted: [number, string][] = [];
  private asked = 0;
  constructor(private readonly ctx: ActionContext) {}

  get notes(): string[] {
    return this.noted.sort((a, b) => a[0] - b[0]).map(([, n]) => n);
  }

  note(text: string, at = this.asked++): void {
    this.noted.push([at, text]);
  }

  /** One command's output under a heading with its exit status; a failure is a note, not an error. */
  async command(command: string, args: readonly string[], keep: 'head' | 'tail' = 'head'): Promise<Section> {
    const at = this.asked++;
    const line = [command, ...args].join(' ');
    try {
      const r = await this.ctx.system.run(command, args, { allowFailure: true, timeoutMs: COMMAND_TIMEOUT_MS });
      const err = r.stderr.trim();
      if (r.code !== 0) this.note(`${line}: exit status ${r.code}${err ? ` (${err.split('\n')[0]!.slice(0, 200)})` : ''}`, at);
      return { title: `$ ${line}   [exit ${r.code}]`, text: bounded(r.stdout, keep, line, this.truncated) + (err ? `\n[stderr]\n${bounded(err, 'tail', `${line} (stderr)`, this.truncated)}` : '') };
    } catch (e) {
      const why = existsSync(command) ? message(e) : `${command} is not installed here`;
      this.note(`${line}: not run: ${why.slice(0, 300)}`, at);
      return { title: `$ ${line}   [not run]`, text: why };
    }
  }

  /** A root-owned file outside the data directory (release files, the saved ruleset), by name. */
  file(path: string): Section {
    const full = join(this.ctx.paths.root, path);
    try {
      return { title: path, text: bounded(readFileSync(full, 'utf8'), 'head', path, this.truncated) };
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `not readable (${(e as NodeJS.ErrnoException).code ?? message(e)})`;
      this.note(`${path}: ${why}`);
      return { title: path, text: `[${why}]` };
    }
  }
}

const render = (sections: readonly Section[]): string => sections.map((s) => `==== ${s.title}\n${s.text.trimEnd()}\n`).join('\n');

/** The key server's configuration as JSON with secret-named fields replaced, or why it is not there. */
function serverConfig(ctx: ActionContext, c: Collector): string {
  const file = join(ctx.paths.root, SERVER_CONFIG);
  try {
    return `${JSON.stringify(withoutSecretFields(JSON.parse(readFileSync(file, 'utf8'))), null, 2)}\n`;
  } catch (e) {
    // A parse error quotes the file: only the kind of failure goes in.
    const code = (e as NodeJS.ErrnoException).code;
    const why = e instanceof SyntaxError ? 'is not valid JSON' : code === 'ENOENT' ? 'does not exist' : `is not readable (${code ?? message(e)})`;
    c.note(`${SERVER_CONFIG}: ${why}`);
    return `[${SERVER_CONFIG} ${why}]\n`;
  }
}

/** The certificates the appliance CA issued and the key count, described (never the files themselves). */
async function certificates(ctx: ActionContext, c: Collector, publicHex: Set<string>): Promise<string> {
  // Three data workers, started together: each is a process start as the data directory's owner.
  const [ca, issued, data] = await Promise.allSettled([
    asDataOwner(ctx.paths, 'pki.ca-certificate', {}),
    asDataOwner(ctx.paths, 'pki.list', {}),
    asDataOwner(ctx.paths, 'status.data', { expiryWarningDays: CLIENT_EXPIRY_WARNING_DAYS }),
  ]);
  const lines: string[] = [];
  if (ca.status === 'fulfilled') {
    publicHex.add(ca.value.fingerprint);
    lines.push(`CA ${ca.value.subject}`, `   SHA-256 ${ca.value.fingerprint}`, `   valid ${ca.value.notBefore} to ${ca.value.notAfter}`, '');
  } else {
    c.note(`CA certificate: ${message(ca.reason)}`);
    lines.push(`CA: not available: ${message(ca.reason)}`, '');
  }
  if (issued.status === 'fulfilled') {
    lines.push(`${issued.value.length} certificates issued by the CA:`, 'kind    status   not after                 serial                            name / subject');
    for (const i of issued.value) {
      publicHex.add(i.serial);
      lines.push(`${i.kind.padEnd(7)} ${i.status.padEnd(8)} ${i.notAfter.padEnd(25)} ${i.serial.padEnd(33)} ${i.name} / ${i.subject}`);
    }
  } else {
    c.note(`certificate list: ${message(issued.reason)}`);
    lines.push(`certificate list: not available: ${message(issued.reason)}`);
  }
  if (data.status === 'fulfilled') {
    const d = data.value;
    lines.push('', 'error' in d.keys ? `keys: not available: ${d.keys.error}` : `keys: ${d.keys.objects} managed objects, ${d.keys.withMaterial} holding key material`);
    lines.push(`client certificates expiring within ${CLIENT_EXPIRY_WARNING_DAYS} days: ${d.clientsExpiringSoon}`);
  } else {
    c.note(`key store: ${message(data.reason)}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Collected {
  readonly host: string;
  readonly time: Date;
  readonly directory: string;
  /** File name and text; a journal's text is cut to the lines asked for when the archive is built. */
  readonly texts: readonly [string, string | Section][];
  readonly publicHex: ReadonlySet<string>;
  readonly collector: Collector;
}

/** What was cut, in words: the journals' shortening first. */
const cutsOf = (c: Collector, journalLines: number): string[] => [
  ...(journalLines < JOURNAL_LINES ? [`journals: the last ${journalLines} lines of each, not ${JOURNAL_LINES}, to stay under ${MAX_ARCHIVE_BYTES / 1024} KiB`] : []),
  ...c.truncated,
];

/** The last `n` lines of a journal section. */
function lastLines(s: Section, n: number): string {
  const lines = s.text.trimEnd().split('\n');
  return render([{ title: s.title, text: lines.length > n ? lines.slice(-n).join('\n') : s.text }]);
}

async function collect(ctx: ActionContext): Promise<Collected> {
  const c = new Collector(ctx);
  const now = new Date();
  const host = (() => {
    try {
      return ctx.settings.read().hostname;
    } catch {
      return hostname();
    }
  })();
  const directory = `keyhaven-support-${host.replace(/[^a-z0-9-]/gi, '_').slice(0, 40)}-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
  const journal = ['--no-pager', '--quiet', '-o', 'short-iso-precise', '-n', String(JOURNAL_LINES)];
  const run = c.command.bind(c);
  // Every query at once: each has its own time limit, so the whole waits for the slowest, not the sum.
  const publicHex = new Set<string>();
  const [versionInfo, services, systemJournal, keyServerJournal, firewall, security, resources, network, certs] = await Promise.all([
    Promise.all([run('/usr/bin/uname', ['-a']), run('/usr/bin/uptime', [])]).then((cmds) => render([{ title: 'Keyhaven', text: VERSION }, { title: 'Node.js', text: process.version }, { title: 'host name', text: host }, c.file('/etc/debian_version'), c.file('/etc/os-release'), ...cmds])),
    Promise.all([run('/usr/bin/systemctl', ['status', '--no-pager', '--full', '--lines=0', ...UNITS]), run('/usr/bin/systemctl', ['list-units', '--failed', '--no-pager'])]).then(render),
    run('/usr/bin/journalctl', journal, 'tail'),
    run('/usr/bin/journalctl', [...journal, '-u', 'keyhaven.service'], 'tail'),
    run('/usr/sbin/nft', ['list', 'ruleset']).then((r) => render([r, c.file('/etc/keyhaven/firewall.nft')])),
    Promise.all(KEYHAVEN_SERVICES.map((unit) => run('/usr/bin/systemd-analyze', ['security', '--no-pager', unit]))).then(render),
    Promise.all([run('/usr/bin/df', ['-hT']), run('/usr/bin/free', ['-h'])]).then(render),
    Promise.all([run('/usr/sbin/ip', ['-brief', 'address']), run('/usr/sbin/ip', ['route']), run('/usr/bin/ss', ['-ltnu']), run('/usr/bin/chronyc', ['-n', 'tracking']), run('/usr/bin/chronyc', ['-n', 'sources'])]).then(render),
    certificates(ctx, c, publicHex),
  ]);
  let settings: string;
  try {
    settings = `${JSON.stringify(ctx.settings.read(), null, 2)}\n`;
  } catch (e) {
    c.note(`appliance settings: ${message(e)}`);
    settings = `[the appliance settings cannot be read: ${message(e)}]\n`;
  }
  const texts: [string, string | Section][] = [
    ['version.txt', versionInfo],
    ['services.txt', services],
    ['journal-system.txt', systemJournal],
    ['journal-keyserver.txt', keyServerJournal],
    ['firewall.txt', firewall],
    ['settings.json', settings],
    ['keyhaven.json', serverConfig(ctx, c)],
    ['security.txt', security],
    ['resources.txt', resources],
    ['network.txt', network],
    ['certificates.txt', certs],
  ];
  return { host, time: now, directory, texts, publicHex, collector: c };
}

/** The archive's files with each journal cut to its last `journalLines` lines, every text scrubbed. */
function build(b: Collected, ctx: ActionContext, journalLines: number): { files: TarFile[]; redactions: number } {
  const { host, directory, publicHex, collector: c } = b;
  const now = b.time;
  let redactions = 0;
  const files: TarFile[] = [];
  const perFile: string[] = [];
  for (const [name, content] of b.texts) {
    const s = scrub(typeof content === 'string' ? content : lastLines(content, journalLines), publicHex);
    const n = Object.values(s.removed).reduce((a, b) => a + b, 0);
    redactions += n;
    if (n) perFile.push(`  ${name}: ${Object.entries(s.removed).map(([k, v]) => `${v} ${k}`).join(', ')}`);
    files.push({ name: `${directory}/${name}`, data: Buffer.from(s.text, 'utf8') });
  }
  const readme = [
    `Keyhaven support bundle of ${host}, made ${now.toISOString()} by ${ctx.actor.user} (${ctx.actor.address}).`,
    '',
    'Collected: versions, service states, the last lines of the system journal and of the key server log,',
    'the firewall ruleset, the appliance settings, the key server configuration (secret fields removed),',
    'systemd-analyze security of the Keyhaven services, disk, memory and network state, and certificate',
    'subjects, serials and expiry. Never collected: keys, the master key, private keys, PKCS#12 bundles,',
    'password hashes, SSH keys, the key store or its audit log.',
    '',
    `Journal: the last ${journalLines} lines of each journal.`,
    '',
    'Text that looks like a secret was removed (marked "[removed: …]"):',
    ...(perFile.length ? perFile : ['  nothing']),
    '',
    'Cut to fit:',
    ...cutsOf(c, journalLines).map((t) => `  ${t}`),
    ...(cutsOf(c, journalLines).length ? [] : ['  nothing']),
    '',
    'Notes (commands missing or failing here, files not readable):',
    ...(c.notes.length ? c.notes.map((n) => `  ${n}`) : ['  none']),
    '',
  ].join('\n');
  files.unshift({ name: `${directory}/README.txt`, data: Buffer.from(scrub(readme, publicHex).text, 'utf8') });
  return { files, redactions };
}

export const supportBundle = defineAction({
  name: 'support.bundle',
  title: 'Create Support Bundle',
  schema: z.object({}).strict(),
  async run(_p, ctx) {
    const collected = await collect(ctx);
    const c = collected.collector;
    // Fewer journal lines until the archive fits what a terminal can hold for copying.
    for (let lines = JOURNAL_LINES; ; lines = Math.floor(lines / 2)) {
      const b = build(collected, ctx, lines);
      const archive = tarGz(b.files, collected.time);
      if (archive.length > MAX_ARCHIVE_BYTES) {
        if (lines / 2 >= MIN_JOURNAL_LINES) continue;
        throw new KeyhavenError(ErrorCodes.ADMIN_ACTION_FAILED, `the support bundle is ${archive.length} bytes even with ${lines} journal lines, over its ${MAX_ARCHIVE_BYTES}-byte limit`);
      }
      const truncated = cutsOf(c, lines);
      const sha256 = createHash('sha256').update(archive).digest('hex');
      const result: SupportBundle = { base64: archive.toString('base64'), bytes: archive.length, sha256, directory: collected.directory, files: b.files.map((f) => ({ name: f.name, bytes: f.data.length })), truncated, redactions: b.redactions };
      return { result, summary: `created a support bundle: ${archive.length} bytes, SHA-256 ${sha256}, ${b.files.length} files, ${b.redactions} redactions, ${c.notes.length} notes`, objectId: sha256 };
    }
  },
});
