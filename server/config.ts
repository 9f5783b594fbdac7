// The key server's one configuration file (JSON), checked with zod. Unknown keys are refused so a
// misspelt setting cannot silently fall back to a default; every error names the field and why.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../lib/json-file.js';
import { describeZodError } from '../lib/zod-issues.js';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { FACILITY_NAMES } from './audit/syslog-message.js';
import { scheduleSchema } from './backup/schedule.js';

const port = z.number().int().min(1).max(65535);
const host = z.string().min(1).refine((h) => !/\s/.test(h), 'must not contain spaces');

/** What a KMIP port serves (server/ops/pipeline/port-roles.ts). */
const operations = z.enum(['all', 'key-management', 'cryptographic-services']);

const listener = z
  .object({
    enabled: z.boolean().default(true),
    host: host.default('0.0.0.0'),
    port,
    operations: operations.default('all'),
  })
  .strict();

const credential = z
  .object({
    /** Client certificate subject this credential applies to, e.g. "CN=vcenter.example.com,O=Example". */
    subject: z.string().min(1),
    username: z.string().min(1).max(256),
    /** scrypt hash made by `keyhaven credential hash`. */
    passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'must be a hash made by `keyhaven credential hash`'),
  })
  .strict();

/**
 * Forwarding of audit records to a SIEM (server/audit/syslog-forwarder.ts): to host:port over TCP
 * (octet-counted frames, RFC 6587) or UDP (one datagram per record, RFC 5426), or to a local Unix
 * stream socket (octet-counted; on the appliance, rsyslog's, which relays to the SIEM hosts).
 */
const syslog = z
  .object({
    transport: z.enum(['tcp', 'udp', 'unix']).default('tcp'),
    /** tcp, udp: the collector. */
    host: host.optional(),
    /** tcp, udp: default 514. */
    port: port.optional(),
    /** unix: the socket (sun_path holds 107 bytes). */
    path: z
      .string()
      .min(1)
      .refine((p) => isAbsolute(p), 'must be an absolute path')
      .refine((p) => Buffer.byteLength(p) <= 107, 'must be at most 107 bytes (a Unix socket path)')
      .optional(),
    facility: z.enum(FACILITY_NAMES).default('local0'),
    /** APP-NAME of the messages: printable ASCII, at most 48 characters (RFC 5424 §6.2.5). */
    appName: z.string().min(1).max(48).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (RFC 5424 APP-NAME)').default('keyhaven'),
    /** Records held while the collector is unreachable; beyond, the oldest are dropped (and reported). */
    maxQueued: z.number().int().min(100).max(10_000_000).default(50_000),
    /** udp: longer messages are truncated (RFC 5426 §3.2: 480 octets always fit; 65,507 at most). */
    maxDatagramBytes: z.number().int().min(480).max(65_507).default(2048),
  })
  .strict()
  .superRefine((s, ctx) => {
    const issue = (field: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message });
    if (s.transport === 'unix') {
      if (s.path === undefined) issue('path', 'Required with transport "unix"');
      if (s.host !== undefined) issue('host', 'not used with transport "unix" (give path)');
      if (s.port !== undefined) issue('port', 'not used with transport "unix" (give path)');
    } else {
      if (s.host === undefined) issue('host', `Required with transport "${s.transport}"`);
      if (s.path !== undefined) issue('path', 'only used with transport "unix"');
    }
  })
  .transform((s) => ({ ...s, port: s.port ?? 514 }));

export const configSchema = z
  .object({
    /** Directory for the key store, the master key (unless given separately) and pki/. */
    dataDir: z.string().min(1),
    store: z
      .object({
        path: z.string().min(1).optional(),
        masterKeyFile: z.string().min(1).optional(),
        /** Create the master key if it does not exist (first start). */
        createMasterKey: z.boolean().default(true),
        /** The rollback anchor (server/store/anchor.ts): best on another file system than the store. */
        anchorFile: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    listeners: z
      .object({
        /** KMIP key retrieval: vCenter's key provider points here. */
        kmip: listener.default({ port: 6000 }),
        /**
         * The encryption services port (KMIP over the same mutual TLS): off when absent; the
         * appliance serves it on 6003 with operations 'cryptographic-services'.
         */
        services: listener.extend({ port: port.default(6003), operations: operations.default('cryptographic-services') }).strict().optional(),
      })
      .strict()
      .default({}),
    /**
     * Key mirroring with the other servers of a group (server/mirror/); off when absent. The first
     * start founds a group, unless the store joined one (`keyhaven mirror join`, the wizard).
     */
    mirror: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(1).max(65535).default(6002),
        /** host:port where the other servers reach this one (default host:port). */
        advertise: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):\d{1,5}$/, 'host:port (an IPv6 address in brackets)').optional(),
        /**
         * 'local': a change is acknowledged once durable here (and queued for every peer in the same
         * transaction). 'peer': a request that made an object (Create, Register, …) is acknowledged only
         * once a peer has durably applied it too; see whenNoPeer.
         */
        acknowledge: z.enum(['local', 'peer']).default('local'),
        /** How long 'peer' waits for a peer's acknowledgement. */
        peerTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
        /**
         * No peer acknowledged in time: 'refuse' answers nothing and closes the connection (the client
         * sees no acknowledgement, as when the local disk fails; the object exists here and is mirrored
         * when a peer returns); 'acknowledge' answers anyway. Both are audited.
         */
        whenNoPeer: z.enum(['refuse', 'acknowledge']).default('refuse'),
      })
      .strict()
      .optional(),
    /**
     * Scheduled backups to an SFTP host (server/backup/backup-scheduler.ts); off when absent. The
     * backup key must exist (`keyhaven backup init`).
     */
    backup: z
      .object({
        sftp: z
          .object({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65535).default(22),
            username: z.string().min(1).max(64),
            /** On the host, relative to the account's (chroot) directory. */
            directory: z.string().min(1).default('.'),
            /** The host key's SHA-256 fingerprint as `ssh-keygen -lf` prints it: pinned, never learnt. */
            hostKeySha256: z.string().min(1),
            /** The server's ed25519 key (OpenSSH format), relative to dataDir unless absolute. */
            privateKeyFile: z.string().min(1).default('backup/ssh-key'),
            timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
          })
          .strict(),
        schedule: scheduleSchema,
        /** Backups of this server kept on the host (older ones are deleted after each upload). */
        keep: z.number().int().min(1).max(10_000).default(14),
        /** Names the backups keyhaven-<series>-<time>.khbak (default: the host name). */
        series: z.string().regex(/^[0-9A-Za-z.]{1,40}$/, 'letters, digits and dots, at most 40').optional(),
        /**
         * Other files a backup carries (the appliance's settings and administration log): name in the
         * backup -> absolute path. A restore puts them in DATA/backup/restored-<time>/; a file missing
         * when the backup is taken is left out and named in its manifest.
         */
        include: z
          .record(z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, 'a file name: lower-case letters, digits, dots and hyphens'), z.string().refine((p) => p.startsWith('/'), 'must be an absolute path'))
          .refine((r) => Object.keys(r).length <= 16, 'at most 16 files')
          .default({}),
      })
      .strict()
      .optional(),
    tls: z
      .object({
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        maxMessageBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
        maxResponseBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
        handshakeTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
        /** Time allowed to receive the rest of a message once its first byte arrived. */
        readTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        /** Idle connections are closed after this long. */
        idleTimeoutMs: z.number().int().min(1000).max(86_400_000).default(300_000),
        /** Authenticated connections (TLS handshake done, client certificate accepted). */
        maxConnections: z.number().int().min(1).max(100_000).default(1024),
        /**
         * Connections still in the TLS handshake, all clients together (a pool apart from
         * maxConnections); when it is full the oldest, preferably one that sent nothing, is closed.
         */
        maxPendingHandshakes: z.number().int().min(1).max(100_000).default(256),
        /** Connections still in the TLS handshake from one client address; beyond, new ones are refused. */
        maxPendingHandshakesPerSource: z.number().int().min(1).max(100_000).default(32),
        /** Time allowed for a new connection's first bytes (its ClientHello); at most handshakeTimeoutMs counts. */
        helloTimeoutMs: z.number().int().min(100).max(120_000).default(3000),
        maxLocateItems: z.number().int().min(1).max(1_000_000).default(1000),
        /** Batch items one request may carry (KMIP sets no limit; the OASIS test cases use 3). */
        maxBatchItems: z.number().int().min(1).max(1000).default(64),
        /** Objects the Locates of one request may examine before it is refused as too much work. */
        maxLocateScan: z.number().int().min(100).max(10_000_000).default(10_000),
      })
      .strict()
      .default({}),
    /** Username/password checks required in addition to the certificate, per client subject. */
    credentials: z.array(credential).default([]),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({}),
    audit: z
      .object({
        /** Forward every audit record to this syslog collector; off when absent. */
        syslog: syslog.optional(),
        /** An 'Audit Checkpoint' record naming the head this often while the log grows (fractions allowed). */
        checkpointMinutes: z.number().min(0.05).max(1440).default(5),
        /** The last tailCheckRecords records are re-verified this often while the server runs. */
        tailCheckSeconds: z.number().int().min(1).max(86_400).default(60),
        tailCheckRecords: z.number().int().min(10).max(1_000_000).default(1000),
      })
      .strict()
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/** Paths the server uses, resolved from the configuration. */
export interface ResolvedPaths {
  database: string;
  masterKey: string;
  /** The rollback anchor (store.anchorFile). */
  anchor: string;
  /** Directory holding pki/ (ca.crt, server.crt, server.key, crl.pem); see server/pki/store.ts. */
  pkiDataDir: string;
}

export function resolvePaths(config: Config): ResolvedPaths {
  const under = (p: string | undefined, fallback: string) => (p ? resolve(config.dataDir, p) : join(config.dataDir, fallback));
  return {
    database: under(config.store.path, 'keyhaven.db'),
    masterKey: under(config.store.masterKeyFile, 'master.key'),
    anchor: under(config.store.anchorFile, 'keyhaven.anchor'),
    pkiDataDir: config.dataDir,
  };
}

export function parseConfig(value: unknown, source: string): Config {
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    throw new KeyhavenError(ErrorCodes.CONFIG_INVALID, `invalid configuration in ${source}:\n${describeZodError(parsed.error)}`);
  }
  return parsed.data;
}

/** Reads and checks a configuration file; a relative dataDir is taken relative to the file. */
export function loadConfig(file: string): Config {
  const config = parseConfig(readJsonFile(file, { label: `the configuration file ${file}` }), file);
  if (!isAbsolute(config.dataDir)) config.dataDir = resolve(dirname(file), config.dataDir);
  return config;
}
