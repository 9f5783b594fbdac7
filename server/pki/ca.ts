// The certificate authority: creating its self-signed certificate and loading it back.

import fs from 'node:fs';
import os from 'node:os';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { generateRsaKey, lf, randomSerial, rsaKeyFromPem, type RsaKey } from './keys.js';
import { nameDerOfCertificate, newAttribute, OID, subjectOfCertificate } from './subject.js';
import { checkBits, checkDays, checkDnValue, type RsaBits } from './validate.js';
import type { PkiPaths } from './store.js';

export const CA_DEFAULT_DAYS = 3650;
export const CA_MAX_DAYS = 10950;
/** Backdating of notBefore, to tolerate clients whose clocks run a little behind. */
export const BACKDATE_MS = 5 * 60 * 1000;

export interface Ca {
  cert: forge.pki.Certificate;
  certPem: string;
  key: forge.pki.rsa.PrivateKey;
  /** subjectString() of the CA. */
  subject: string;
  /** The CA's subject Name as encoded in its certificate (binary string), for issuer fields. */
  subjectDer: string;
  /** The CA's subjectKeyIdentifier (binary string), for authorityKeyIdentifier (RFC 5280 §4.2.1.1). */
  keyId: string;
  notAfter: Date;
}

export interface CaOptions {
  /** Appended to "Keyhaven CA "; default: this host's name. */
  name?: string;
  days?: number;
  bits?: RsaBits;
  now?: Date;
}

function defaultCaName(): string {
  const host = os.hostname() || 'localhost';
  return `Keyhaven CA ${host}`.length <= 64 ? host : (host.split('.')[0] ?? 'localhost').slice(0, 52);
}

/** Builds a new CA: a fresh key and a self-signed certificate. Writes nothing. */
export async function createCa(opts: CaOptions = {}): Promise<{ ca: Ca; key: RsaKey }> {
  const days = checkDays('CA validity', opts.days ?? CA_DEFAULT_DAYS, 1, CA_MAX_DAYS);
  const bits = checkBits(opts.bits ?? 3072);
  const commonName = checkDnValue('CA common name', `Keyhaven CA ${opts.name ?? defaultCaName()}`);
  const key = await generateRsaKey(bits);
  const now = opts.now ?? new Date();

  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
  const subject = [newAttribute(OID.commonName, commonName), newAttribute(OID.organizationName, 'Keyhaven')];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    // RFC 5280 §4.2.1.9: CA, may only sign end-entity certificates
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    // RFC 5280 §4.2.1.3
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key.privateKey, forge.md.sha256.create());
  const certPem = lf(forge.pki.certificateToPem(cert));
  return { ca: caFrom(cert, certPem, key.privateKey), key };
}

function caFrom(cert: forge.pki.Certificate, certPem: string, key: forge.pki.rsa.PrivateKey): Ca {
  const ski = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  const keyId = ski?.subjectKeyIdentifier
    ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
    : cert.generateSubjectKeyIdentifier().getBytes();
  return {
    cert,
    certPem,
    key,
    subject: subjectOfCertificate(cert),
    subjectDer: nameDerOfCertificate(cert, 'subject'),
    keyId,
    notAfter: cert.validity.notAfter,
  };
}

/** Loads the CA certificate and key of a PKI directory. */
export function loadCa(p: PkiPaths): Ca {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = fs.readFileSync(p.caCert, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyhavenError(ErrorCodes.PKI_NOT_INITIALISED, `no CA in ${p.root}: run \`keyhaven pki init --dir ${p.dataDir}\` first`);
    }
    throw err;
  }
  try {
    keyPem = fs.readFileSync(p.caKey, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyhavenError(
        ErrorCodes.PKI_NOT_INITIALISED,
        `${p.caCert} exists but the CA key ${p.caKey} is missing: restore it from a backup`,
      );
    }
    throw err;
  }
  let cert: forge.pki.Certificate;
  let key: RsaKey;
  try {
    cert = forge.pki.certificateFromPem(certPem);
    key = rsaKeyFromPem(keyPem);
  } catch (err) {
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, `cannot read the CA in ${p.root}: ${(err as Error).message}`, { cause: err });
  }
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  if (pub.n.compareTo(key.publicKey.n) !== 0) {
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, `${p.caKey} is not the key of ${p.caCert}: restore the pair from a backup`);
  }
  return caFrom(cert, certPem, key.privateKey);
}
