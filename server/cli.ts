// `keyhaven …`: the key server's commands, as a table (lib/cli.ts) that the appliance's `keyhaven`
// extends with the image side's commands (appliance/cli.ts); the server knows nothing of those.
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dispatch, processIo, readInput, usageError, type CliCommand, type CliIo } from '../lib/cli.js';
import { loadConfig, parseConfig, type Config } from './config.js';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { ensureDevPki, PKI_USAGE, runPkiCli } from './pki/index.js';
import { ttlvCommand } from './ttlv-command.js';
import { BACKUP_USAGE } from './backup-cli.js';

// The server itself (KMIP operations, the store, the logger) is loaded by the commands that run it,
// not with the table: the appliance's `keyhaven` builds its menu, helper and worker on this table
// (server/index.ts), and none of those needs the server loaded.
const running = () => import('./server.js');
const rollbackGuard = () => import('./store/rollback-guard.js');

function usage(message: string): never {
  throw usageError(message);
}

function configFrom(values: { config?: string | undefined; 'data-dir'?: string | undefined }): Config {
  if (values.config) return loadConfig(values.config);
  if (values['data-dir']) return parseConfig({ dataDir: resolve(values['data-dir']) }, '--data-dir');
  usage('give --config FILE or --data-dir DIR');
}

function waitForSignal(): Promise<string> {
  return new Promise((done) => {
    const handler = (sig: string) => done(sig);
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}

type MirrorBanner = { address: string; node: string; group: string; peers: number };

async function serve(config: Config, io: CliIo, banner?: (kmip: { host: string; port: number }, mirror?: MirrorBanner) => string): Promise<number> {
  const [{ createLogger }, { startServer }] = await Promise.all([import('./log.js'), running()]);
  const log = createLogger(config.log.level);
  // Listening for the signal before starting: a stop requested while the server starts waits for
  // the start to finish and then stops cleanly (the final rollback anchor is written).
  const stopped = waitForSignal();
  // SIGHUP (systemctl kill from the admin helper's renewal) reloads the certificates; one during the start is moot
  // (the start reads the files) but must not end the process, Node's default for SIGHUP.
  let reload = (): void => log.info('SIGHUP during start: the certificates are read by the start itself');
  const onHup = () => reload();
  process.on('SIGHUP', onHup);
  const server = await startServer(config, log).catch((err: unknown) => {
    process.off('SIGHUP', onHup);
    throw err;
  });
  reload = () => {
    log.info('SIGHUP: reloading the server certificate, key and CRL');
    server.reloadTls();
  };
  // SIGUSR2 (the menu's "Back up now", through the admin helper): a backup now, when backups are configured.
  const backupNow = () => {
    if (!server.backups) log.warn('SIGUSR2: no backups are configured (the "backup" section)');
    else void server.backups.runNow();
  };
  process.on('SIGUSR2', backupNow);
  if (banner) {
    const m = server.mirror;
    const peers = m ? m.group.members().filter((x) => x.node !== m.identity.node && !x.removed).length : 0;
    io.stdout.write(banner(server.kmip, m ? { address: m.address, node: m.identity.node, group: m.identity.group, peers } : undefined));
  }
  const signal = await stopped;
  log.info({ signal }, 'stopping');
  process.off('SIGHUP', onHup);
  process.off('SIGUSR2', backupNow);
  await server.close();
  return 0;
}

function portOption(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) usage(`--${name} ${value} is not a port number`);
  return port;
}

async function dev(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'kmip-port': { type: 'string' },
      host: { type: 'string' },
      'mirror-port': { type: 'string' },
      'join-from': { type: 'string' },
      'services-port': { type: 'string' },
    },
  });
  const dir = values['data-dir'];
  if (!dir) usage('dev needs --data-dir DIR');
  const port = portOption('kmip-port', values['kmip-port'], 6000)!;
  const mirrorPort = portOption('mirror-port', values['mirror-port']);
  const servicesPort = portOption('services-port', values['services-port']);
  const host = values.host ?? '127.0.0.1';
  if (values['join-from'] && mirrorPort === undefined) usage('--join-from needs --mirror-port (the port this server mirrors on)');
  const dataDir = resolve(dir);
  const config = parseConfig(
    {
      dataDir,
      listeners: { kmip: { host, port }, ...(servicesPort !== undefined ? { services: { host, port: servicesPort } } : {}) },
      ...(mirrorPort !== undefined ? { mirror: { host, port: mirrorPort } } : {}),
    },
    'dev defaults',
  );
  if (values['join-from']) {
    // A shortcut for one machine: the token and the group's trust come from the member's directory itself.
    const { issueJoinToken, joinGroup } = await import('./mirror-cli.js');
    const { joinAddress } = await import('./mirror/join-token.js');
    const member = parseConfig({ dataDir: resolve(values['join-from']) }, '--join-from');
    // The token is asked for only when this server is not a member yet: started again, it resumes, even with the other one down.
    const done = await joinGroup(config, async () => (await issueJoinToken(member)).token, joinAddress(host, mirrorPort!));
    if (done.result === 'joined') io.stdout.write(`joined the mirror group of ${member.dataDir}\n`);
  }
  // Before the dev PKI is made: a half-restored directory must not get a new CA (startServer refuses it too).
  const interrupted = (await import('./backup/restore-journal.js')).interruptedRestore(dataDir);
  if (interrupted) throw new KeyhavenError(ErrorCodes.BACKUP_RESTORE_REFUSED, `not started: ${interrupted}`);
  const pki = await ensureDevPki(dataDir);
  return serve(config, io, (kmip, mirror) =>
    [
      `Keyhaven dev server: KMIP on ${kmip.host}:${kmip.port} (mutual TLS)`,
      ...(servicesPort !== undefined ? [`  encryption services: ${host}:${servicesPort} (Encrypt, Decrypt; the keys stay on the server)`] : []),
      ...(mirror ? [`  mirroring:           ${mirror.address}, server ${mirror.node} of group ${mirror.group}, ${mirror.peers} other members`] : []),
      `  CA certificate:      ${pki.caCert}`,
      `  client certificate:  ${pki.clientCert}`,
      `  client key:          ${pki.clientKey}`,
      `  key store:           ${join(dataDir, 'keyhaven.db')} (master key ${join(dataDir, 'master.key')})`,
      `Connect with any KMIP client using those three files, e.g. PyKMIP (pykmip.conf):`,
      `  [client]`,
      `  host=${kmip.host}`,
      `  port=${kmip.port}`,
      `  certfile=${pki.clientCert}`,
      `  keyfile=${pki.clientKey}`,
      `  ca_certs=${pki.caCert}`,
      `Stop with Ctrl-C.`,
      '',
    ].join('\n'),
  );
}

async function audit(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, n: { type: 'string', short: 'n' } },
  });
  const config = configFrom(values);
  const [{ openStore }, { describeHeads, inspectStore }] = await Promise.all([running(), rollbackGuard()]);
  const opened = openStore(config, { create: false });
  const { db, audit: log } = opened;
  try {
    if (sub === 'verify') {
      const r = log.verify();
      if (!r.ok) {
        io.stderr.write(`AUDIT LOG TAMPERED: ${r.problem} (${r.records} records verified before it)\n`);
        return 1;
      }
      io.stdout.write(`audit log intact: ${r.records} records, chain and sealed head verified\n`);
      // An intact chain may still be an older one: compare it with the anchor (rollback-guard.ts).
      const found = inspectStore(opened);
      if (found.problems.length > 0) {
        io.stderr.write(`KEY STORE ROLLED BACK or changed outside Keyhaven:\n${found.problems.map((p) => `  - ${p}\n`).join('')}${describeHeads(found)}\n`);
        return 1;
      }
      return 0;
    }
    if (sub === 'tail') {
      const n = Number(values.n ?? 20);
      if (!Number.isInteger(n) || n < 1) usage(`-n ${values.n} is not a positive number`);
      for (const r of log.tail(n)) {
        io.stdout.write(`${r.seq}\t${r.time}\t${r.identity}\t${r.address}\t${r.operation}\t${r.objectId || '-'}\t${r.result}\t${r.reason}\n`);
      }
      return 0;
    }
    usage(`unknown audit command "${sub ?? ''}"`);
  } finally {
    db.close();
  }
}

/** `keyhaven store check|accept-rollback` (server/store/rollback-guard.ts). */
async function store(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'check' && sub !== 'accept-rollback') usage(`unknown store command "${sub ?? ''}"`);
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, yes: { type: 'boolean' } },
  });
  if (values.yes && sub === 'check') usage('--yes is for store accept-rollback');
  const config = configFrom(values);
  const [{ openStore }, { acceptRollback, describeHeads, inspectStore }] = await Promise.all([running(), rollbackGuard()]);
  const opened = openStore(config, { create: false });
  try {
    const found = inspectStore(opened);
    io.stdout.write(`key store ${opened.paths.database}, rollback anchor ${opened.anchor.path}:\n${describeHeads(found)}\n`);
    if (found.problems.length === 0) {
      io.stdout.write(sub === 'check' ? 'the key store agrees with its anchor and its digest\n' : 'nothing to accept: the key store agrees with its anchor and its digest\n');
      return 0;
    }
    io.stdout.write(`found:\n${found.problems.map((p) => `  - ${p}\n`).join('')}`);
    if (sub === 'check') return 1;
    if (!values.yes) {
      io.stderr.write(
        'nothing was changed. If you restored this older store on purpose, stop the key server and run this again with --yes: ' +
          'its keys become current as they are in this copy (a key revoked since may be active again), and the acceptance is recorded in the audit log.\n',
      );
      return 2;
    }
    let who = 'the operator';
    try {
      who = `user ${userInfo().username}`;
    } catch {
      /* no passwd entry: keep the generic name */
    }
    const { seq } = acceptRollback(opened, found, who);
    io.stdout.write(`accepted: recorded as audit record ${seq} (Accept Rollback); the anchor now names this store\n`);
    return 0;
  } finally {
    opened.db.close();
  }
}

async function credential(args: string[], io: CliIo): Promise<number> {
  if (args[0] !== 'hash') usage('use: keyhaven credential hash  (password on standard input)');
  const password = (await readInput(io)).toString('utf8').replace(/\r?\n$/, '');
  if (password.length < 12) {
    throw usageError('the password must be at least 12 characters long');
  }
  const { hashPassword } = await import('./net/credentials.js');
  io.stdout.write(`${hashPassword(password)}\n`);
  return 0;
}

/** The key server's commands; the usage lines are what `keyhaven --help` shows. */
export const serverCommands: readonly CliCommand[] = [
  {
    name: 'serve',
    usage: 'serve --config FILE          run the key server with a JSON configuration file',
    run: async (args, io) => {
      const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
      if (!values.config) usage('serve needs --config FILE');
      return serve(loadConfig(values.config), io);
    },
  },
  {
    name: 'dev',
    usage: `dev --data-dir DIR           try it out: creates a CA, a localhost server certificate and the
    [--kmip-port N]          client certificate DIR/pki/clients/dev.{crt,key} on first run,
    [--host ADDR]            then serves KMIP on 127.0.0.1 (or ADDR; port 6000 unless given)
    [--mirror-port M]        and mirrors keys on ADDR:M (the first server of a group)
    [--join-from DIR2]       joining the group of the running server whose data directory is DIR2
                             (run again later, it resumes as the same member)
    [--services-port S]      and serves the encryption services (Encrypt, Decrypt) on ADDR:S`,
    run: dev,
  },
  {
    name: 'mirror',
    usage: `mirror status (--config FILE | --data-dir DIR) [--json]
                             each peer: connected since when, queue depth, lag, last error and
                             digest comparison; exit 3 when the server is not running
mirror token (--config FILE | --data-dir DIR)
                             a single-use join token (30 minutes) for a new server of the group
mirror join --config FILE    join the group of the token on standard input (a server with an empty
                             store; the configuration's "mirror" section says where it is reached)
mirror remove (--config FILE | --data-dir DIR) NODE
                             remove server NODE from the group (final) and revoke its certificate`,
    run: async (args, io) => (await import('./mirror-cli.js')).mirrorCommand(args, io, configFrom),
  },
  {
    name: 'backup',
    usage: BACKUP_USAGE,
    run: async (args, io) => (await import('./backup-cli.js')).backupCommand(args, io, configFrom),
  },
  { name: 'pki', usage: 'pki <command> …              manage the CA and certificates (keyhaven pki --help)', help: PKI_USAGE, run: (args, io) => runPkiCli(args, io) },
  {
    name: 'audit',
    usage: `audit verify (--config FILE | --data-dir DIR)
                             check the audit log's hash chain; exit 1 if it was tampered with
audit tail (--config FILE | --data-dir DIR) [-n N]
                             print the last N audit records (default 20)`,
    run: audit,
  },
  {
    name: 'store',
    usage: `store check (--config FILE | --data-dir DIR)
                             compare the key store with its rollback anchor and its sealed
                             digest; exit 1 if it was rolled back or changed outside Keyhaven
store accept-rollback (--config FILE | --data-dir DIR) [--yes]
                             with the server stopped: take a knowingly restored older store as
                             it is (recorded in the audit log); without --yes only shows both heads`,
    run: store,
  },
  {
    name: 'credential',
    usage: `credential hash              read a password on standard input, print its hash for the
                             "credentials" setting`,
    run: credential,
  },
  ttlvCommand,
];

/** `keyhaven ARGS` with the key server's commands only (the appliance adds its own: appliance/cli.ts). */
export function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  return dispatch('keyhaven', serverCommands, argv, io);
}
