// The certificate the KMIP listener presents: checked before it is used (a renewal that left a
// broken or mismatched pair must not take the listener down), and watched for expiry so that the
// SIEM hears about it weeks before vCenter loses its key provider.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { subjectFromX509, type TlsMaterial } from '../pki/index.js';

/** Warn this many days before the server certificate expires (it lasts at most 825 days). */
export const EXPIRY_WARNING_DAYS = 60;
const DAY_MS = 86_400_000;

const corrupt = (message: string, cause?: unknown) => new KeyhavenError(ErrorCodes.PKI_CORRUPT, message, cause === undefined ? undefined : { cause });

/**
 * Parses server.crt and checks that server.key is its key and that the CA in ca.crt signed it
 * (RFC 5280 §6.1: the issuer name and signature). Returns the parsed certificate.
 */
export function checkServerPair(m: Pick<TlsMaterial, 'ca' | 'cert' | 'key'>): X509Certificate {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(m.cert);
  } catch (err) {
    throw corrupt(`server.crt is not a PEM certificate: ${(err as Error).message}`, err);
  }
  try {
    ca = new X509Certificate(m.ca);
  } catch (err) {
    throw corrupt(`ca.crt is not a PEM certificate: ${(err as Error).message}`, err);
  }
  let key;
  try {
    key = createPrivateKey(m.key);
  } catch (err) {
    throw corrupt(`server.key is not a private key: ${(err as Error).message}`, err);
  }
  if (!cert.checkPrivateKey(key)) throw corrupt(`server.key is not the key of server.crt (serial ${cert.serialNumber.toLowerCase()})`);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw corrupt(`server.crt (serial ${cert.serialNumber.toLowerCase()}, issuer ${cert.issuer.replace(/\n/g, ', ')}) was not signed by the CA in ca.crt`);
  }
  return cert;
}

/** Whole days from `now` until the certificate expires (negative once expired). */
export const daysLeft = (cert: X509Certificate, now: number): number => Math.floor((Date.parse(cert.validTo) - now) / DAY_MS);

/** The warning for a server certificate within `days` of its expiry (or past it); undefined otherwise. */
export function expiryWarning(cert: X509Certificate, now: number, days = EXPIRY_WARNING_DAYS): string | undefined {
  const left = daysLeft(cert, now);
  if (left > days) return undefined;
  const what = `the server certificate ${subjectFromX509(cert)} (serial ${cert.serialNumber.toLowerCase()})`;
  const when = new Date(cert.validTo).toISOString();
  const renew = 'renew it (appliance menu: "Renew the server certificate"; or `keyhaven pki server --force` with the same names) before clients lose the key server';
  return Date.parse(cert.validTo) <= now ? `${what} EXPIRED on ${when}: clients refuse the key server; ${renew}` : `${what} expires on ${when}, in ${left} days: ${renew}`;
}

export interface ExpiryWatchOptions {
  /** The certificate the listener presents now (it changes when the listener reloads). */
  certificate: () => X509Certificate | undefined;
  /** Records the warning through the audit log (and so the syslog forwarding to the SIEM). */
  warn: (message: string) => void;
  clock?: () => number;
  /** Default one day. */
  intervalMs?: number;
}

/** Checks the served certificate at start and then daily; the timer never keeps the process alive. */
export class CertificateExpiryWatch {
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly o: ExpiryWatchOptions) {}

  check(): string | undefined {
    const cert = this.o.certificate();
    const warning = cert && expiryWarning(cert, (this.o.clock ?? Date.now)());
    if (warning) this.o.warn(warning);
    return warning;
  }

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.o.intervalMs ?? DAY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
