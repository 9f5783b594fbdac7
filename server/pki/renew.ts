// Renewing the server certificate before it expires (it lasts at most 825 days): the same DNS names
// and IP addresses as the certificate in use, a new key, a new expiry. issueServer does the work;
// this reads what the current certificate says and keeps within the CA's own lifetime.
import fs from 'node:fs';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { loadCa } from './ca.js';
import { issueServer, SERVER_DEFAULT_DAYS, type IssueResult } from './issue.js';
import { pemToDer, sha256Fingerprint } from './keys.js';
import { pkiPaths, type LockOptions } from './store.js';
import { subjectOfCertificate } from './subject.js';
import type { RsaBits } from './validate.js';

const DAY_MS = 86_400_000;

export interface ServerCertificateInfo {
  subject: string;
  serial: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  dns: string[];
  ip: string[];
}

/** The server certificate in use (server.crt) and the names its subjectAltName lists (RFC 5280 §4.2.1.6). */
export function serverCertificateInfo(dataDir: string): ServerCertificateInfo {
  const p = pkiPaths(dataDir);
  let pem: string;
  try {
    pem = fs.readFileSync(p.serverCert, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyhavenError(ErrorCodes.PKI_NOT_INITIALISED, `there is no server certificate (${p.serverCert}) yet: first boot creates it`);
    throw err;
  }
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(pem);
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, `${p.serverCert} is not a readable certificate: ${(err as Error).message}`, { cause: err });
  }
  const san = cert.getExtension('subjectAltName') as { altNames?: { type: number; value: string; ip?: string }[] } | null;
  const names = san?.altNames ?? [];
  return {
    subject: subjectOfCertificate(cert),
    serial: cert.serialNumber.toLowerCase(),
    fingerprint: sha256Fingerprint(pemToDer(pem)),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    dns: names.filter((n) => n.type === 2).map((n) => n.value),
    ip: names.filter((n) => n.type === 7 && n.ip).map((n) => n.ip!),
  };
}

export interface RenewOptions {
  /** Default SERVER_DEFAULT_DAYS, shortened to what the CA has left. */
  days?: number;
  bits?: RsaBits;
  now?: Date;
  lock?: LockOptions;
}

export interface RenewResult extends IssueResult {
  previous: ServerCertificateInfo;
  dns: string[];
  ip: string[];
  days: number;
  /** The CA expires before the usual validity would end: the certificate ends a day before the CA does. */
  limitedByCa: boolean;
}

/** Replaces server.crt/server.key with a new certificate for the same names, with a new key. */
export async function renewServer(dataDir: string, opts: RenewOptions = {}): Promise<RenewResult> {
  const previous = serverCertificateInfo(dataDir);
  if (previous.dns.length + previous.ip.length === 0) {
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, 'the server certificate lists no DNS name or IP address to renew it for: issue a new one for the server\'s names and addresses instead (`keyhaven pki server --force` on a server you run yourself; the appliance\'s is issued at first boot with them)');
  }
  const now = opts.now ?? new Date();
  const wanted = opts.days ?? SERVER_DEFAULT_DAYS;
  // signLeaf refuses a certificate that outlives its CA (RFC 5280 §6.1.3: the path must be valid).
  const caLeft = Math.floor((loadCa(pkiPaths(dataDir)).notAfter.getTime() - now.getTime()) / DAY_MS) - 1;
  if (caLeft < 1) throw new KeyhavenError(ErrorCodes.PKI_BAD_INPUT, 'the CA expires within two days: a renewed server certificate could not outlive it; a new CA is needed');
  const days = Math.min(wanted, caLeft);
  const issued = await issueServer(dataDir, {
    dns: previous.dns,
    ip: previous.ip,
    days,
    force: true,
    ...(opts.bits ? { bits: opts.bits } : {}),
    now,
    ...(opts.lock ? { lock: opts.lock } : {}),
  });
  return { ...issued, previous, dns: previous.dns, ip: previous.ip, days, limitedByCa: days < wanted };
}
