// Starting and stopping the key server from a checked configuration.
import { existsSync } from 'node:fs';
import { VERSION } from '../lib/version.js';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { AuditLog, type AuditRecord } from './audit/audit-log.js';
import { BackupScheduler } from './backup/backup-scheduler.js';
import { interruptedRestore } from './backup/restore-journal.js';
import { SyslogForwarder } from './audit/syslog-forwarder.js';
import { resolvePaths, type Config } from './config.js';
import { KmipService } from './kmip-service.js';
import type { Logger } from './log.js';
import { credentialChecker } from './net/credentials.js';
import { KmipListener } from './net/tls-listener.js';
import { portPolicy } from './ops/pipeline/port-roles.js';
import { CertificateExpiryWatch } from './net/server-certificate.js';
import { refreshCrl } from './pki/index.js';
import { openDatabase } from './store/database.js';
import { WalDurability } from './store/durability.js';
import { KeyStore } from './store/key-store.js';
import { deriveKeys, loadMasterKey } from './store/master-key.js';
import { AnchorFile } from './store/anchor.js';
import { AnchorKeeper, anchorNewStore, checkRollback } from './store/rollback-guard.js';
import { AuditWatch, headSummary } from './audit/audit-watch.js';
import { MirrorService } from './mirror/mirror-service.js';

export const PRODUCT = { vendor: 'Keyhaven', product: 'Keyhaven Key Server', version: VERSION };

/** Unsynced read-only commits (their audit records) are fsynced at least this often. */
const AUDIT_SYNC_MS = 1000;
const CRL_REFRESH_MS = 12 * 3600 * 1000;

export interface RunningServer {
  kmip: { host: string; port: number };
  /** The encryption services port, when configured (listeners.services). */
  services?: { host: string; port: number };
  store: KeyStore;
  audit: AuditLog;
  /** Forwarding of audit records, when audit.syslog is configured. */
  syslog?: SyslogForwarder;
  /** Key mirroring, when configured. */
  mirror?: MirrorService;
  /** Scheduled backups, when configured. */
  backups?: BackupScheduler;
  /**
   * Re-reads the server certificate, key and CRL (on SIGHUP, which the admin helper's renewal has systemd send): new
   * handshakes get them, open connections stay. False when they were refused (the old ones stay).
   */
  reloadTls(): boolean;
  close(): Promise<void>;
}

/** Opens the store with the master key, for the server and for offline commands (audit verify). */
export function openStore(config: Config, options: { create: boolean }) {
  const paths = resolvePaths(config);
  const master = loadMasterKey(paths.masterKey, { create: options.create && config.store.createMasterKey });
  const keys = deriveKeys(master.key);
  master.key.fill(0);
  if (!options.create && !existsSync(paths.database)) {
    throw new KeyhavenError(ErrorCodes.STORE_MISSING, `no key store at ${paths.database}: the key server creates it when it first starts; if it has started, check --data-dir or dataDir in the configuration`);
  }
  const { db, created } = openDatabase(paths.database, { create: options.create });
  const anchor = new AnchorFile(paths.anchor, keys.anchor);
  try {
    db.pragma('busy_timeout = 2000');
    const store = new KeyStore(db, keys);
    const audit = new AuditLog(db, keys.audit);
    if (created) anchorNewStore({ db, store, audit, anchor });
    return { paths, db, store, audit, anchor, masterKeyCreated: master.created };
  } catch (err) {
    db.close();
    throw err;
  }
}

export async function startServer(config: Config, log: Logger, options: { clock?: () => number } = {}): Promise<RunningServer> {
  // Everything the server writes (WAL, CRL, logs) is private to its user.
  process.umask(0o077);
  // A restore that was moving files into place: serving what is there would serve half of it.
  const interrupted = interruptedRestore(config.dataDir);
  if (interrupted) throw new KeyhavenError(ErrorCodes.BACKUP_RESTORE_REFUSED, `not started: ${interrupted}`);
  const { paths, db, store, audit, anchor, masterKeyCreated } = openStore(config, { create: true });
  if (masterKeyCreated) log.warn({ file: paths.masterKey }, 'created a new master key: back it up, the key store is useless without it');
  if (audit.startProblem) log.error({ problem: audit.startProblem }, 'the audit log was tampered with while the server was stopped; recorded in the log');
  const durability = new WalDurability(`${paths.database}-wal`);
  // A store older than its anchor is refused before anything is served (rollback-guard.ts).
  let keeper: AnchorKeeper;
  let watch: AuditWatch | undefined;
  try {
    const found = checkRollback({ db, store, audit, anchor }, paths.database);
    if (found.tampering) log.error({ problem: found.tampering }, 'the audit log was tampered with while the server was stopped; recorded in the log');
    keeper = await AnchorKeeper.start({
      db, store, audit, anchor, durability,
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
      onProblem: (problem) => watch?.report(problem),
    });
  } catch (err) {
    durability.close();
    db.close();
    throw err;
  }
  const startHead = headSummary(audit.head);

  const refresh = async () => {
    try {
      const r = await refreshCrl(paths.pkiDataDir, { ifExpiresWithinDays: 7 });
      if (r.resigned) log.info({ nextUpdate: r.nextUpdate }, 're-signed the CRL');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not refresh the CRL; clients will be refused once it expires');
    }
  };
  await refresh();

  const syslogConf = config.audit.syslog;
  const forwarder = syslogConf
    ? new SyslogForwarder({
        // The schema requires path with unix, host otherwise.
        ...(syslogConf.transport === 'unix'
          ? { transport: 'unix' as const, path: syslogConf.path! }
          : { transport: syslogConf.transport, host: syslogConf.host!, port: syslogConf.port }),
        facility: syslogConf.facility,
        appName: syslogConf.appName,
        maxQueued: syslogConf.maxQueued,
        maxDatagramBytes: syslogConf.maxDatagramBytes,
        log: (level, msg, fields) => log[level](fields ?? {}, msg),
      })
    : undefined;

  const service = new KmipService({
    store,
    audit,
    durability,
    server: PRODUCT,
    limits: { maxLocateItems: config.limits.maxLocateItems, maxLocateScan: config.limits.maxLocateScan },
    maxResponseSize: config.limits.maxResponseBytes,
    maxBatchItems: config.limits.maxBatchItems,
    authenticate: credentialChecker(config.credentials),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(forwarder ? { onAudit: (record: AuditRecord) => forwarder.send(record) } : {}),
    onInternalError: (err) => log.error({ err: err instanceof Error ? { message: err.message, code: (err as { code?: string }).code, stack: err.stack } : String(err) }, 'internal error'),
  });

  service.warmRsaPool([2048, 3072]); // 4096 is pooled after its first use: it costs seconds of CPU
  const kmipConf = config.listeners.kmip;
  const servicesConf = config.listeners.services?.enabled ? config.listeners.services : undefined;
  const listenerFor = (conf: typeof kmipConf, name: string) => new KmipListener({
    host: conf.host,
    port: conf.port,
    policy: portPolicy(name, conf.operations),
    pkiDataDir: paths.pkiDataDir,
    minVersion: config.tls.minVersion,
    handshakeTimeoutMs: config.limits.handshakeTimeoutMs,
    helloTimeoutMs: config.limits.helloTimeoutMs,
    maxConnections: config.limits.maxConnections,
    maxPendingHandshakes: config.limits.maxPendingHandshakes,
    maxPendingHandshakesPerSource: config.limits.maxPendingHandshakesPerSource,
    limits: {
      maxMessageBytes: config.limits.maxMessageBytes,
      readTimeoutMs: config.limits.readTimeoutMs,
      idleTimeoutMs: config.limits.idleTimeoutMs,
      maxQueuedMessages: 16,
    },
    service,
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
  });
  const listener = listenerFor(kmipConf, `the KMIP port ${kmipConf.port}`);
  const servicesListener = servicesConf ? listenerFor(servicesConf, `the encryption services port ${servicesConf.port}`) : undefined;
  let kmip: { host: string; port: number };
  let services: { host: string; port: number } | undefined;
  let mirror: MirrorService | undefined;
  try {
    // Mirroring records every write from the first one served: it starts before the KMIP listener.
    if (config.mirror) {
      mirror = await MirrorService.start({
        host: config.mirror.host,
        port: config.mirror.port,
        ...(config.mirror.advertise ? { advertise: config.mirror.advertise } : {}),
        ...(config.mirror.acknowledge === 'peer' ? { peerAcknowledgement: { timeoutMs: config.mirror.peerTimeoutMs, whenNoPeer: config.mirror.whenNoPeer } } : {}),
        dataDir: paths.pkiDataDir,
        db,
        store,
        service,
        log: (level, msg, fields) => log[level](fields ?? {}, msg),
      });
    }
    kmip = kmipConf.enabled ? await listener.listen() : { host: kmipConf.host, port: 0 };
    try {
      services = servicesListener ? await servicesListener.listen() : undefined;
    } catch (err) {
      await listener.close(); // the KMIP port is open already: it closes with the start that failed
      throw err;
    }
  } catch (err) {
    await mirror?.close();
    await forwarder?.close();
    await keeper.stop();
    throw err;
  }
  service.auditEvent({ identity: 'keyhaven', address: '-' }, 'Server Start', `KMIP on ${kmip.host}:${kmip.port}${services ? `, encryption services on ${services.host}:${services.port}` : ''}; ${startHead}`, 'success');
  watch = new AuditWatch({
    audit,
    db,
    record: (operation, reason, result) => service.auditEvent({ identity: 'keyhaven', address: '-' }, operation, reason, result),
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
    checkpointMs: config.audit.checkpointMinutes * 60_000,
    tailCheckMs: config.audit.tailCheckSeconds * 1000,
    tailRecords: config.audit.tailCheckRecords,
  });
  watch.start();
  // The SIEM hears of the server certificate's coming expiry through the audit log: at start, then daily.
  const expiry = new CertificateExpiryWatch({
    certificate: () => listener.serverCertificate,
    warn: (message) => {
      log.warn(message);
      service.auditEvent({ identity: 'keyhaven', address: '-' }, 'Server Certificate Expiry', message);
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  expiry.start();
  const backups = config.backup
    ? new BackupScheduler({
        config,
        audit: (operation, detail, result) => service.auditEvent({ identity: 'keyhaven', address: '-' }, operation, detail, result),
        log: (level, msg, fields) => log[level](fields ?? {}, msg),
      })
    : undefined;
  backups?.start();
  log.info({ kmip, ...(services ? { services } : {}), database: paths.database }, 'key server started');

  const syncTimer = setInterval(() => durability.flush(), AUDIT_SYNC_MS);
  const crlTimer = setInterval(() => void refresh(), CRL_REFRESH_MS);
  syncTimer.unref();
  crlTimer.unref();

  return {
    kmip,
    store,
    audit,
    ...(forwarder ? { syslog: forwarder } : {}),
    ...(mirror ? { mirror } : {}),
    ...(backups ? { backups } : {}),
    ...(services ? { services } : {}),
    // Both ports present the same certificate: each reloads it (a refusal keeps both on the old one).
    reloadTls: () => [listener, servicesListener].filter((l) => l !== undefined).map((l) => l.reloadPki()).every(Boolean),
    async close() {
      backups?.stop();
      expiry.stop();
      clearInterval(syncTimer);
      clearInterval(crlTimer);
      watch?.stop();
      await mirror?.close();
      await keeper.stop();
      await Promise.all([listener.close(), servicesListener?.close()]);
      service.auditEvent({ identity: 'keyhaven', address: '-' }, 'Server Stop', 'shutdown', 'success');
      service.commit();
      await Promise.all([
        new Promise<void>((resolve) => durability.whenDurable(durability.latest, () => resolve())),
        // Sends what is queued (the Server Stop record included) within its close timeout.
        forwarder?.close(),
      ]);
      keeper.writeFinal(); // everything is durable now: the anchor names the final head
      durability.close();
      db.close();
      log.info('key server stopped');
    },
  };
}
