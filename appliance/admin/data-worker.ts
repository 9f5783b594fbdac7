// `keyhaven admin-worker` (hidden): the part of the administration helper that touches the key
// server's data directory — reading the key store and its audit log, every PKI change, first boot's
// CA — run as that directory's owner, never as root. The helper starts one per request
// (data-owner.ts): one JSON request on stdin, one JSON answer on stdout. The directory is writable by
// the key server's account, so a root process walking or writing it could be sent elsewhere by a
// symlink swapped in at the right moment; as its owner, the worker can do nothing the owner could not.
//   → {"dataDir":"/var/lib/keyhaven","op":"pki.list","params":{}}
//   ← {"ok":true,"result":[…]}   or   {"ok":false,"code":"KH_PKI_LOCKED","message":"…"}
// Each operation has a strict schema for its parameters and one for its result: the helper checks
// the answer against it (the owner's account may have tampered with the worker), never trusts it.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import * as pki from '../../server/index.js';
import {
  checkClientName,
  checkDnValue,
  clientHolders,
  loadMasterKey,
  newAttribute,
  OID,
  parseConfig,
  readIndex,
  renderSubject,
  reservedSubject,
  resolvePaths,
  ServerCodes,
  type AuditLog,
  type Db,
} from '../../server/index.js';
import { describeZodError } from '../../lib/zod-issues.js';
import { BACKUP_WORKER_OPS } from '../backup/backup-worker-ops.js';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { absolute, count, iso, KEYGEN_MS, op, READ_MS, text, withoutControls, type WorkerOp } from './worker-op.js';

export { withoutControls };

const pem = z.string().max(64 * 1024).regex(/^[-A-Za-z0-9+/= \n]*$/, 'is not PEM text');
const serial = z.string().max(128).regex(/^[0-9a-f]+$/, 'is not a hexadecimal serial');

const auditRecord = z.object({ seq: count, time: text(64), identity: text(1024), address: text(256), operation: text(256), objectId: text(1024), result: text(64), reason: text(4096) }).strict();
const verifyResult = z.union([z.object({ ok: z.literal(true), records: count }).strict(), z.object({ ok: z.literal(false), records: count, seq: count, problem: text(4096) }).strict()]);
const failure = z.object({ error: text(4096) }).strict();
const issuedSummary = z
  .object({ name: text(256), kind: z.enum(['server', 'client']), serial, subject: text(1024), notBefore: iso, notAfter: iso, status: z.enum(['valid', 'expired', 'revoked']) })
  .strict();
/** A valid certificate a new one shares its identity (subject) or client name with: what a re-issue re-issues. */
const inUse = z.object({ name: text(256), serial, notAfter: iso }).strict();
/** What a preview reports: 'reserved' is the CA's or the server's subject, never a client's (not even re-issued). */
const existing = inUse.extend({ kind: z.enum(['client', 'reserved']) }).strict();
type Existing = z.input<typeof existing>;
/** SHA-256, upper-case colon hex (X509Certificate#fingerprint256). */
const fingerprint = z.string().regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
const handedOut = z.object({ name: text(256), serial, subject: text(1024), fingerprint, notAfter: iso, certPem: pem, caPem: pem }).strict();
/** The server certificate as the renewal entry shows it (server/pki/renew.ts). */
const serverInfo = z.object({ subject: text(1024), serial, fingerprint, notAfter: iso, dns: z.array(text(253)).max(64), ip: z.array(text(64)).max(64) }).strict();
const infoOf = (i: pki.ServerCertificateInfo): z.input<typeof serverInfo> => ({ subject: i.subject, serial: i.serial, fingerprint: i.fingerprint, notAfter: i.notAfter.toISOString(), dns: i.dns, ip: i.ip });

const member = z.object({ node: text(64), address: text(300), removed: z.boolean() }).strict();
/**
 * server/mirror/status-file.ts MirrorStatus, checked field by field (the owner's account writes it).
 * Fields this schema does not know are dropped, not refused: the key server may report more than the
 * menu shows.
 */
const peerStatus = z
  .object({
    node: text(64),
    address: text(300),
    removed: z.boolean(),
    connected: z.boolean(),
    since: text(64).optional(),
    inbound: z.boolean(),
    queueDepth: count,
    lagSeconds: z.number().min(0).nullable(),
    lastError: text(2000).optional(),
    lastDigestCheck: z.object({ at: text(64), result: z.enum(['match', 'differ', 'not-comparable']) }).strict().optional(),
    clockAheadMs: z.number().optional(),
  })
  .strip();
const msOrNull = z.number().min(0).nullable();
export const mirrorStatus = z
  .object({
    node: text(64),
    group: text(64),
    address: text(300),
    listening: text(300),
    pid: count,
    running: z.boolean(),
    digest: text(128),
    head: count,
    objects: count,
    applyLag: z.object({ changes: count, p50Ms: msOrNull, p99Ms: msOrNull, maxMs: msOrNull }).strict(),
    peers: z.array(peerStatus).max(64),
    updatedAt: text(64),
  })
  .strip();
export type MirrorStatusResult = z.output<typeof mirrorStatus>;

/** Removes everything in the data directory (and the anchor beside it): first boot starting over. */
function emptyDataDir(dataDir: string, anchorFile?: string): number {
  const entries = readdirSync(dataDir);
  for (const e of entries) rmSync(join(dataDir, e), { recursive: true, force: true });
  if (anchorFile) rmSync(anchorFile, { force: true });
  return entries.length;
}


/** The key store's paths as the key server resolves them for this data directory (server/config.ts). */
const storePaths = (dataDir: string) => resolvePaths(parseConfig({ dataDir }, 'the data directory'));

/**
 * The key store (read-only use) and its audit log, opened as the key server opens them. The store
 * comes with the whole server (server/run.ts): loaded by the operations that open it, not at every
 * worker's start.
 */
async function withStore<T>(dataDir: string, fn: (db: Db, audit: AuditLog) => T | Promise<T>): Promise<T> {
  const { openStore } = await import('../../server/run.js');
  const { db, audit } = openStore(parseConfig({ dataDir }, 'the data directory'), { create: false });
  try {
    db.pragma('busy_timeout = 5000');
    return await fn(db, audit);
  } finally {
    db.close();
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const normSerial = (s: string): string => s.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
const summaryOf = (c: pki.IssuedCertificate & { status: pki.CertificateStatus }) => ({ name: c.name, kind: c.kind, serial: c.serial, subject: c.subject, notBefore: c.notBefore, notAfter: c.notAfter, status: c.status });
const caPem = (dataDir: string): string => readFileSync(pki.pkiPaths(dataDir).caCert, 'utf8');
const fingerprintOf = (file: string): string | undefined => (existsSync(file) ? new X509Certificate(readFileSync(file)).fingerprint256 : undefined);

/** The certificate a preview names, with whether it is a client's (re-issuable) or the CA's/server's. */
function existingOf(dataDir: string, c: { name: string; serial: string; notAfter: string } | undefined): Existing | undefined {
  if (!c) return undefined;
  const kind = pki.listIssued(dataDir).find((i) => i.serial === c.serial)?.kind === 'client' ? 'client' : 'reserved';
  return { name: c.name, serial: c.serial, notAfter: c.notAfter, kind };
}

/** The certificates (by serial) a new one re-issues, as the index lists them. */
function certificatesBySerial(dataDir: string, serials: readonly string[]): z.input<typeof inUse>[] {
  const all = pki.listIssued(dataDir);
  return [...new Set(serials)].map((s) => all.find((c) => c.serial === s)).flatMap((c) => (c ? [{ name: c.name, serial: c.serial, notAfter: c.notAfter }] : []));
}

/**
 * The subject issueClient gives a client certificate of this name, and the valid certificate that
 * has the subject (identity.ts: reserved for the CA or the server, or a client's) or the name.
 */
function previewClient(dataDir: string, name: string): { subject: string; existing?: Existing } {
  checkClientName(name);
  const subject = renderSubject([newAttribute(OID.commonName, checkDnValue('common name', name)), newAttribute(OID.organizationName, 'Keyhaven')]);
  const paths = pki.pkiPaths(dataDir);
  const idx = readIndex(paths);
  const byName = pki.listIssued(dataDir).filter((c) => c.kind === 'client' && c.status === 'valid' && c.name === name);
  const found = existingOf(dataDir, reservedSubject(paths, idx, subject) ?? clientHolders(idx, subject).at(-1) ?? byName.at(-1));
  return { subject, ...(found ? { existing: found } : {}) };
}

const csrPreview = z
  .object({
    subject: text(1024),
    altNames: z.array(text(300)).max(256),
    dropped: z.array(text(300)).max(256),
    keyBits: count,
    signatureHash: text(64),
    existing: existing.optional(),
  })
  .strict();

export type CsrPreviewResult = z.output<typeof csrPreview>;

export const WORKER_OPS = {
  /** Status: the number of keys, the CA and server certificates' expiry, clients expiring soon. */
  'status.data': op({
    params: z.object({ expiryWarningDays: z.number().int().min(1).max(365) }).strict(),
    result: z
      .object({
        keys: z.union([z.object({ objects: count, withMaterial: count }).strict(), failure]),
        certificates: z.array(z.object({ name: z.enum(['CA', 'server']), notAfter: iso }).strict()).max(2),
        clientsExpiringSoon: count,
      })
      .strict(),
    timeoutMs: READ_MS,
    async run(dataDir, p) {
      let keys: { objects: number; withMaterial: number } | { error: string };
      try {
        keys = await withStore(dataDir, (db) => db.prepare('SELECT COUNT(*) AS objects, COUNT(material) AS withMaterial FROM objects').get() as { objects: number; withMaterial: number });
      } catch (err) {
        keys = { error: message(err) };
      }
      const paths = pki.pkiPaths(dataDir);
      const certificates = (
        [
          ['CA', paths.caCert],
          ['server', paths.serverCert],
        ] as const
      )
        .filter(([, f]) => existsSync(f))
        .map(([name, f]) => ({ name, notAfter: new Date(new X509Certificate(readFileSync(f)).validTo).toISOString() }));
      let clientsExpiringSoon = 0;
      try {
        const soon = Date.now() + p.expiryWarningDays * 86_400_000;
        clientsExpiringSoon = pki.listIssued(dataDir).filter((c) => c.kind === 'client' && c.status === 'valid' && new Date(c.notAfter).getTime() < soon).length;
      } catch {
        // no PKI yet
      }
      return { keys, certificates, clientsExpiringSoon };
    },
  }),
  /**
   * Waits (the store opened once) for the key server's latest audit record of `operation` since
   * `since` that failed or names `contains`: how the renewal learns the key server switched.
   */
  'store.await-audit': op({
    params: z.object({ operation: text(256), since: iso, contains: text(256), timeoutMs: z.number().int().min(0).max(20_000) }).strict(),
    result: z.union([auditRecord, z.null()]),
    // A read's time plus the wait itself (at most 20 s): on a slow guest a worker's start alone took
    // half of READ_MS, and the renewal then reported a reload it could not confirm.
    timeoutMs: READ_MS + 20_000,
    run: (dataDir, p) =>
      withStore(dataDir, async (db) => {
        // ISO 8601 UTC times with milliseconds sort as text.
        const recent = db.prepare('SELECT seq, time, identity, address, operation, object_id AS objectId, result, reason FROM audit WHERE operation = ? AND time >= ? ORDER BY seq DESC LIMIT 20');
        for (const deadline = Date.now() + p.timeoutMs; ; await sleep(250)) {
          const hit = (recent.all(p.operation, p.since) as z.infer<typeof auditRecord>[]).find((r) => r.result !== 'success' || r.reason.includes(p.contains));
          if (hit || Date.now() >= deadline) return hit ?? null;
        }
      }),
  }),
  'store.audit-tail': op({
    params: z.object({ count: z.number().int().min(1).max(500) }).strict(),
    result: z.array(auditRecord).max(500),
    timeoutMs: READ_MS,
    run: (dataDir, p) => withStore(dataDir, (_db, audit) => audit.tail(p.count)),
  }),
  'store.audit-verify': op({
    params: z.object({}).strict(),
    result: verifyResult,
    timeoutMs: READ_MS,
    run: (dataDir) => withStore(dataDir, (_db, audit) => audit.verify()),
  }),
  /** Creates the master key if the key server has not yet (the administration log is keyed from it). */
  'master-key.ensure': op({
    params: z.object({}).strict(),
    result: z.object({ created: z.boolean() }).strict(),
    timeoutMs: READ_MS,
    run(dataDir) {
      const { key, created } = loadMasterKey(storePaths(dataDir).masterKey, { create: true });
      key.fill(0);
      return { created };
    },
  }),
  'pki.list': op({
    params: z.object({}).strict(),
    result: z.array(issuedSummary).max(100_000),
    timeoutMs: READ_MS,
    run: (dataDir) => pki.listIssued(dataDir).map(summaryOf),
  }),
  /** The subject a client certificate named `name` would carry, and the valid one it would stand in for. */
  'pki.preview-client': op({
    params: z.object({ name: z.string().max(64) }).strict(),
    result: z.object({ subject: text(1024), existing: existing.optional() }).strict(),
    timeoutMs: READ_MS,
    run: (dataDir, p) => previewClient(dataDir, p.name),
  }),
  'pki.issue-client': op({
    params: z
      .object({
        name: z.string().max(64),
        dns: z.array(z.string().max(253)).max(16),
        days: z.number().int().optional(),
        p12Password: z.string().max(128).optional(),
        reissue: z.boolean(),
      })
      .strict(),
    result: handedOut.extend({ keyPem: pem, p12Base64: z.string().max(64 * 1024).regex(/^[A-Za-z0-9+/=]*$/).optional(), reissueOf: z.array(inUse).max(100) }).strict(),
    timeoutMs: KEYGEN_MS,
    async run(dataDir, p) {
      const issued = await pki.issueClient(dataDir, {
        name: p.name,
        organization: 'Keyhaven',
        dns: p.dns,
        ...(p.days !== undefined ? { days: p.days } : {}),
        ...(p.p12Password !== undefined ? { p12Password: p.p12Password } : {}),
        // A re-issue confirmed by the administrator: another certificate for the same name and subject.
        reissue: p.reissue,
      });
      // The appliance keeps no client's private key: it is handed out once, then deleted.
      try {
        return {
          name: p.name,
          serial: issued.serial,
          subject: issued.subject,
          fingerprint: issued.fingerprint,
          notAfter: issued.notAfter.toISOString(),
          certPem: readFileSync(issued.certPath, 'utf8'),
          caPem: caPem(dataDir),
          keyPem: readFileSync(issued.keyPath, 'utf8'),
          ...(issued.p12Path ? { p12Base64: readFileSync(issued.p12Path).toString('base64') } : {}),
          reissueOf: certificatesBySerial(dataDir, [...issued.stillValid.map((c) => c.serial), ...issued.reissues]),
        };
      } finally {
        rmSync(issued.keyPath, { force: true });
        if (issued.p12Path) rmSync(issued.p12Path, { force: true });
      }
    },
  }),
  /** What signing a CSR would produce, and the valid certificate whose subject it would share. */
  'pki.preview-csr': op({
    params: z.object({ csr: z.string().max(64 * 1024) }).strict(),
    result: csrPreview,
    timeoutMs: READ_MS,
    run(dataDir, p) {
      const preview = pki.previewCsr(p.csr, dataDir);
      const found = existingOf(dataDir, preview.existing);
      return { ...preview, existing: found };
    },
  }),
  'pki.sign-csr': op({
    params: z.object({ csr: z.string().max(64 * 1024), commonName: z.string().max(64).optional(), days: z.number().int().optional(), reissue: z.boolean() }).strict(),
    result: handedOut.extend({ dropped: z.array(text(300)).max(256), reissueOf: z.array(inUse).max(100) }).strict(),
    timeoutMs: READ_MS,
    async run(dataDir, p) {
      const signed = await pki.signCsr(dataDir, p.csr, {
        ...(p.commonName !== undefined ? { commonName: p.commonName } : {}),
        ...(p.days !== undefined ? { days: p.days } : {}),
        reissue: p.reissue,
      });
      return {
        name: signed.name,
        serial: signed.serial,
        subject: signed.subject,
        fingerprint: signed.fingerprint,
        notAfter: signed.notAfter.toISOString(),
        certPem: signed.certPem,
        caPem: caPem(dataDir),
        dropped: signed.dropped,
        reissueOf: certificatesBySerial(dataDir, signed.reissues),
      };
    },
  }),
  'pki.revoke': op({
    params: z.object({ serial: z.string().max(128), reason: z.enum(pki.REVOCATION_REASON_NAMES as [pki.RevocationReason, ...pki.RevocationReason[]]) }).strict(),
    result: z.object({ serial, subject: text(1024), alreadyRevoked: z.boolean(), crlNumber: count.optional() }).strict(),
    timeoutMs: READ_MS,
    async run(dataDir, p) {
      const target = pki.listIssued(dataDir).find((c) => normSerial(c.serial) === normSerial(p.serial));
      if (!target) throw new KeyhavenError(ServerCodes.PKI_UNKNOWN_CERTIFICATE, `no certificate with serial ${p.serial} was issued by this appliance: choose one from the list`);
      if (target.kind !== 'client') throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `serial ${p.serial} is the server certificate: it cannot be revoked from the menu (clients would lose the key server)`);
      const r = await pki.revoke(dataDir, { serial: p.serial }, p.reason);
      return { serial: target.serial, subject: target.subject, alreadyRevoked: r.revoked.length === 0, ...(r.crl ? { crlNumber: r.crl.crlNumber } : {}) };
    },
  }),
  /** The server certificate in use: names, addresses, expiry, fingerprint. */
  'pki.server-certificate': op({
    params: z.object({}).strict(),
    result: serverInfo,
    timeoutMs: READ_MS,
    run: (dataDir) => infoOf(pki.serverCertificateInfo(dataDir)),
  }),
  /** A new server certificate for the same names and addresses, with a new key (the key server reloads it). */
  'pki.renew-server': op({
    params: z.object({}).strict(),
    result: serverInfo.extend({ previous: serverInfo, certPem: pem, days: count, limitedByCa: z.boolean() }).strict(),
    timeoutMs: KEYGEN_MS,
    async run(dataDir) {
      const r = await pki.renewServer(dataDir);
      return {
        ...infoOf(r),
        previous: infoOf(r.previous),
        certPem: readFileSync(r.certPath, 'utf8'),
        days: r.days,
        limitedByCa: r.limitedByCa,
      };
    },
  }),
  /** First boot starts over: what an interrupted run left in the data directory goes (the key server never ran). */
  'first-boot.reset': op({
    params: z.object({ anchorFile: absolute.optional() }).strict(),
    result: z.object({ removed: count }).strict(),
    timeoutMs: READ_MS,
    run: (dataDir, p) => ({ removed: emptyDataDir(dataDir, p.anchorFile) }),
  }),
  /** The status the running key server writes every second (null: it never ran with mirroring). */
  'mirror.status': op({
    params: z.object({}).strict(),
    result: z.union([mirrorStatus, z.null()]),
    timeoutMs: READ_MS,
    run: (dataDir) => pki.readMirrorStatus(dataDir) ?? null,
  }),
  /** A single-use join token of the group (the running key server takes it when the new server joins). */
  'mirror.token': op({
    params: z.object({}).strict(),
    result: z.object({ token: z.string().max(4096).regex(/^KHJ1\.[A-Za-z0-9_-]+$/), caFingerprint: fingerprint, address: text(300), expiresAt: iso }).strict(),
    timeoutMs: READ_MS,
    async run(dataDir) {
      const { issueJoinToken, JOIN_TOKEN_TTL_MS } = await import('../../server/run.js');
      const t = await issueJoinToken(parseConfig({ dataDir }, 'the data directory'), JOIN_TOKEN_TTL_MS);
      return { ...t, expiresAt: new Date(Date.now() + JOIN_TOKEN_TTL_MS).toISOString() };
    },
  }),
  /**
   * First boot's join (the key server never ran): this store takes the group's identity, key and CA
   * from the member the token names. A failed join leaves nothing behind (the data directory as it
   * was, no anchor), so the administrator can retry or found a new group.
   */
  'mirror.join': op({
    params: z.object({ token: z.string().max(4096), advertise: z.string().max(300), anchorFile: absolute }).strict(),
    result: z.object({ result: z.enum(['joined', 'member']), node: text(64), members: z.array(member).max(64) }).strict(),
    // A new store, a TLS connection to the member and its answer: seconds, more on a slow VM.
    timeoutMs: KEYGEN_MS,
    async run(dataDir, p) {
      const { joinGroup } = await import('../../server/run.js');
      const before = new Set(readdirSync(dataDir));
      const anchorBefore = existsSync(p.anchorFile);
      mkdirSync(dirname(p.anchorFile), { recursive: true, mode: 0o700 });
      try {
        const joined = await joinGroup(parseConfig({ dataDir, store: { anchorFile: p.anchorFile } }, 'the data directory'), p.token, p.advertise);
        return { ...joined, members: joined.members.map((m) => ({ node: m.node, address: m.address, removed: m.removed })) };
      } catch (err) {
        // What the attempt made goes (the store, the master key, the anchor); what was there stays.
        for (const e of readdirSync(dataDir)) if (!before.has(e)) rmSync(join(dataDir, e), { recursive: true, force: true });
        if (!anchorBefore) rmSync(p.anchorFile, { force: true });
        throw err;
      }
    },
  }),
  /** Removes a member from the group for good and revokes its node certificate (the running server tells the group). */
  'mirror.remove': op({
    params: z.object({ node: z.string().max(64).regex(/^[A-Za-z0-9_-]+$/) }).strict(),
    result: z.object({ revoked: count }).strict(),
    timeoutMs: READ_MS,
    async run(dataDir, p) {
      const { removeMember } = await import('../../server/run.js');
      return removeMember(parseConfig({ dataDir }, 'the data directory'), p.node);
    },
  }),
  /** The console banner: the CA's and the server certificate's SHA-256 fingerprints, where they exist. */
  'pki.fingerprints': op({
    params: z.object({}).strict(),
    result: z.object({ ca: fingerprint.optional(), server: fingerprint.optional() }).strict(),
    timeoutMs: READ_MS,
    run(dataDir) {
      const paths = pki.pkiPaths(dataDir);
      const ca = fingerprintOf(paths.caCert);
      const server = fingerprintOf(paths.serverCert);
      return { ...(ca ? { ca } : {}), ...(server ? { server } : {}) };
    },
  }),
  /** The CA certificate (public) for vCenter's trust of the key server: PEM, fingerprint, subject, validity. */
  'pki.ca-certificate': op({
    params: z.object({}).strict(),
    result: z.object({ pem, fingerprint, subject: text(1024), notBefore: iso, notAfter: iso }).strict(),
    timeoutMs: READ_MS,
    run(dataDir) {
      const file = pki.pkiPaths(dataDir).caCert;
      if (!existsSync(file)) throw new KeyhavenError(ServerCodes.PKI_NOT_INITIALISED, 'there is no CA certificate yet: first boot creates it');
      const x = new X509Certificate(readFileSync(file));
      // Re-encoded from the parsed certificate: only one CERTIFICATE block, whatever else the file holds.
      return { pem: x.toString(), fingerprint: x.fingerprint256, subject: pki.subjectFromX509(x), notBefore: new Date(x.validFrom).toISOString(), notAfter: new Date(x.validTo).toISOString() };
    },
  }),
  /** First boot's CA and server certificate; a CA placed on the disk before first boot, or the group's when it joined one, is kept. */
  'first-boot.pki': op({
    params: z.object({ hostname: z.string().max(253), ip: z.array(z.string().max(64)).max(1) }).strict(),
    result: z.object({ caFingerprint: fingerprint, serverFingerprint: fingerprint, kept: z.boolean() }).strict(),
    timeoutMs: KEYGEN_MS,
    async run(dataDir, p) {
      const paths = pki.pkiPaths(dataDir);
      const [caFingerprint, serverFingerprint] = [fingerprintOf(paths.caCert), fingerprintOf(paths.serverCert)];
      if (caFingerprint && serverFingerprint) return { caFingerprint, serverFingerprint, kept: true };
      if (caFingerprint) {
        // The group's CA, taken when this appliance joined a mirror group: only the server certificate is new.
        const server = await pki.issueServer(dataDir, { dns: [p.hostname], ip: p.ip });
        return { caFingerprint, serverFingerprint: server.fingerprint, kept: true };
      }
      const ca = await pki.initPki(dataDir, { name: p.hostname });
      const server = await pki.issueServer(dataDir, { dns: [p.hostname], ip: p.ip });
      return { caFingerprint: ca.fingerprint, serverFingerprint: server.fingerprint, kept: false };
    },
  }),
  ...BACKUP_WORKER_OPS,
};

export type WorkerOpName = keyof typeof WORKER_OPS;
export type WorkerParams<N extends WorkerOpName> = z.input<(typeof WORKER_OPS)[N]['params']>;
export type WorkerResult<N extends WorkerOpName> = z.output<(typeof WORKER_OPS)[N]['result']>;

const OP_NAMES = Object.keys(WORKER_OPS) as [WorkerOpName, ...WorkerOpName[]];

export const workerRequestSchema = z.object({ dataDir: z.string().max(4096).refine(isAbsolute, 'must be an absolute path'), op: z.enum(OP_NAMES), params: z.unknown() }).strict();
export const workerAnswerSchema = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }).strict(),
  z.object({ ok: z.literal(false), code: z.string().max(64), message: z.string().max(8192) }).strict(),
]);

/** A pasted CSR, a bundle password and a few names: anything longer is refused unread. */
export const MAX_WORKER_REQUEST_BYTES = 512 * 1024;

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  let buf = '';
  for await (const chunk of input) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (buf.length > MAX_WORKER_REQUEST_BYTES) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `the worker request is larger than ${MAX_WORKER_REQUEST_BYTES} bytes`);
  }
  return buf;
}

/** Serves one request from `input`, answers on `output`; returns the exit status. */
export async function serveWorkerRequest(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
  let answer: z.input<typeof workerAnswerSchema>;
  try {
    const req = workerRequestSchema.parse(JSON.parse(await readAll(input)));
    const o = WORKER_OPS[req.op] as WorkerOp<z.ZodTypeAny, z.ZodTypeAny>;
    const params = o.params.safeParse(req.params);
    if (!params.success) throw new KeyhavenError(ErrorCodes.ADMIN_REQUEST_INVALID, `${req.op}: ${describeZodError(params.error, '', '; ')}`);
    answer = { ok: true, result: await o.run(req.dataDir, params.data) };
  } catch (err) {
    answer = err instanceof KeyhavenError ? { ok: false, code: err.code, message: err.message } : { ok: false, code: ErrorCodes.ADMIN_WORKER_FAILED, message: message(err) };
  }
  await new Promise<void>((resolve) => output.write(`${JSON.stringify(answer)}\n`, () => resolve()));
  return answer.ok ? 0 : 1;
}

export async function runDataWorkerCli(): Promise<number> {
  // Started by the helper as the data directory's owner. As root it would be the very thing it is
  // for avoiding; only a test tree (KEYHAVEN_APPLIANCE_ROOT, whose data directory root owns) allows it.
  if (process.getuid?.() === 0 && !process.env.KEYHAVEN_APPLIANCE_ROOT) {
    process.stdout.write(`${JSON.stringify({ ok: false, code: ErrorCodes.ADMIN_DATA_DIR_UNSAFE, message: 'the data worker does not run as root: the helper starts it as the owner of the data directory' })}\n`);
    return 1;
  }
  process.umask(0o077); // as the key server (keyhaven.service UMask=0077)
  // The helper gives up on a worker at its operation's deadline but cannot kill it (its unit keeps no
  // CAP_KILL, and the worker runs as another user): past every deadline, a worker ends itself.
  const latest = Math.max(...Object.values(WORKER_OPS).map((o) => o.timeoutMs));
  setTimeout(() => process.exit(1), latest + 5000).unref();
  return serveWorkerRequest(process.stdin, process.stdout);
}
