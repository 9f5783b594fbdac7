// What the TLS listeners need from the PKI: the files for tls.createServer, and the client
// identity (with the clientAuth check) from the peer certificate.

import fs from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { pkiPaths } from './store.js';
import { subjectFromX509 } from './subject.js';

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  crl: Buffer;
}

/** Reads ca.crt, server.crt, server.key and crl.pem. */
export function loadTlsMaterial(dataDir: string): TlsMaterial {
  const p = pkiPaths(dataDir);
  const read = (file: string, hint: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyhavenError(ErrorCodes.PKI_NOT_INITIALISED, `${file} is missing: ${hint}`);
      throw err;
    }
  };
  return {
    ca: read(p.caCert, `run \`keyhaven pki init --dir ${p.dataDir}\` first`),
    cert: read(p.serverCert, `run \`keyhaven pki server --dir ${p.dataDir} --dns NAME --ip ADDRESS\``),
    key: read(p.serverKey, `run \`keyhaven pki server --dir ${p.dataDir} --dns NAME --ip ADDRESS --force\``),
    crl: read(p.crl, `run \`keyhaven pki crl --dir ${p.dataDir}\``),
  };
}

/**
 * Options for tls.createServer: mutual TLS against our CA with CRL checking, TLS 1.2 or 1.3.
 * OpenSSL checks the client certificate's purpose (clientAuth EKU) when the extension is present,
 * but accepts a certificate without any EKU extension; call clientIdentity() on each connection.
 */
export function tlsServerOptions(dataDir: string): tls.TlsOptions {
  const m = loadTlsMaterial(dataDir);
  return { ...m, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
}

export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** Extended key usage OIDs, or undefined when the certificate has no EKU extension. */
export function extKeyUsage(x509: X509Certificate): string[] | undefined {
  // Node 20 calls it keyUsage; later versions add extKeyUsage.
  const x = x509 as X509Certificate & { extKeyUsage?: string[] };
  return x.extKeyUsage ?? x509.keyUsage;
}

/**
 * The client identity (subject, see subject.ts) of an authorised peer certificate, after checking
 * that it carries the clientAuth extended key usage (RFC 5280 §4.2.1.12).
 */
export function clientIdentity(x509: X509Certificate | undefined): string {
  if (!x509) throw new KeyhavenError(ErrorCodes.PKI_CLIENT_REJECTED, 'the client presented no certificate');
  const eku = extKeyUsage(x509);
  if (!eku || !eku.includes(CLIENT_AUTH_OID)) {
    throw new KeyhavenError(
      ErrorCodes.PKI_CLIENT_REJECTED,
      `the client certificate (${subjectFromX509(x509)}) lacks the clientAuth extended key usage`,
    );
  }
  return subjectFromX509(x509);
}
