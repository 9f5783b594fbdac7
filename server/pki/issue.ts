// End-entity certificates: the signing primitive, and issuing the server and client certificates.

import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { BACKDATE_MS, loadCa, type Ca } from './ca.js';
import { forgeCertDer, generateRsaKey, lf, randomSerial, sha256Fingerprint } from './keys.js';
import { checkP12Password, pkcs12Bundle } from './pkcs12.js';
import { checkClientSubject, checkServerSubject, isActive, renderSubject } from './identity.js';
import { attributesForWrite, nameDerOfCertificate, newAttribute, OID, subjectOfCertificate } from './subject.js';
import {
  clientPaths,
  ensureDir,
  MODE_PUBLIC,
  MODE_SECRET,
  pkiPaths,
  readIndex,
  withLock,
  writeFileAtomic,
  writeIndex,
  type IssuedCertificate,
  type LockOptions,
  type PkiIndex,
} from './store.js';
import {
  badInput,
  canonicalIp,
  checkBits,
  checkClientName,
  checkDays,
  checkDnsName,
  checkDnValue,
  checkEmail,
  ipBytes,
  type RsaBits,
} from './validate.js';

export const SERVER_DEFAULT_DAYS = 730;
/** The CA/Browser Forum ceiling that Apple and others still enforce on TLS server certificates. */
export const SERVER_MAX_DAYS = 825;
export const CLIENT_DEFAULT_DAYS = 730;
export const CLIENT_MAX_DAYS = 3650;

/** GeneralName (RFC 5280 §4.2.1.6) as forge writes it: value is the raw IA5String or octets. */
export interface AltName {
  /** 1 rfc822Name, 2 dNSName, 6 uniformResourceIdentifier, 7 iPAddress */
  type: 1 | 2 | 6 | 7;
  value: string;
}

export type Purpose = 'serverAuth' | 'clientAuth';

export interface LeafRequest {
  publicKey: forge.pki.rsa.PublicKey;
  /** Attributes in certificate order (see subject.ts newAttribute / attributesForWrite). */
  subject: forge.pki.CertificateField[];
  days: number;
  /** Extended key usages. An empty list omits the extension (only tests want that). */
  extKeyUsage: readonly Purpose[];
  altNames?: readonly AltName[];
  now?: Date;
}

export interface SignedLeaf {
  cert: forge.pki.Certificate;
  certPem: string;
  der: Buffer;
  serial: string;
  subject: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

/** Signs an end-entity certificate with the CA. Writes nothing. */
export function signLeaf(ca: Ca, req: LeafRequest): SignedLeaf {
  const now = req.now ?? new Date();
  const notAfter = new Date(now.getTime() + req.days * 86_400_000);
  if (notAfter.getTime() > ca.notAfter.getTime()) {
    const left = Math.floor((ca.notAfter.getTime() - now.getTime()) / 86_400_000);
    throw badInput(
      `a certificate valid for ${req.days} days would outlive the CA (which expires ${ca.notAfter.toISOString()}): ` +
        `ask for at most ${Math.max(left, 0)} days, or create a new CA`,
    );
  }
  const cert = forge.pki.createCertificate();
  cert.publicKey = req.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = notAfter;
  cert.setSubject(req.subject);
  cert.setIssuer(attributesForWrite(ca.cert.subject.attributes));
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true }, // RFC 5280 §4.2.1.9
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true }, // §4.2.1.3
  ];
  if (req.extKeyUsage.length > 0) {
    // §4.2.1.12
    extensions.push({
      name: 'extKeyUsage',
      serverAuth: req.extKeyUsage.includes('serverAuth'),
      clientAuth: req.extKeyUsage.includes('clientAuth'),
    });
  }
  extensions.push({ name: 'subjectKeyIdentifier' }); // §4.2.1.2
  extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: ca.keyId }); // §4.2.1.1
  if (req.altNames && req.altNames.length > 0) {
    // §4.2.1.6: critical only when the subject is empty
    extensions.push({ name: 'subjectAltName', altNames: req.altNames.map((a) => ({ ...a })), critical: req.subject.length === 0 });
  }
  cert.setExtensions(extensions);
  cert.sign(ca.key, forge.md.sha256.create());
  // The issuer must be byte-identical to the CA's subject or chains will not build (§4.1.2.4).
  if (nameDerOfCertificate(cert, 'issuer') !== ca.subjectDer) {
    throw new Error('internal error: issuer name does not match the CA subject encoding');
  }
  const der = forgeCertDer(cert);
  return {
    cert,
    certPem: lf(forge.pki.certificateToPem(cert)),
    der,
    serial: cert.serialNumber.toLowerCase(),
    subject: subjectOfCertificate(cert),
    fingerprint: sha256Fingerprint(der),
    notBefore: cert.validity.notBefore,
    notAfter,
  };
}

export function indexEntry(
  leaf: SignedLeaf,
  name: string,
  kind: IssuedCertificate['kind'],
  source: IssuedCertificate['source'],
  file: string,
): IssuedCertificate {
  return {
    serial: leaf.serial,
    name,
    subject: leaf.subject,
    kind,
    source,
    notBefore: leaf.notBefore.toISOString(),
    notAfter: leaf.notAfter.toISOString(),
    fingerprint: leaf.fingerprint,
    file,
  };
}

/** Certificates filed under `name` that are neither revoked nor expired. */
export function activeByName(idx: PkiIndex, name: string, now = new Date()): IssuedCertificate[] {
  return idx.certificates.filter((c) => c.name === name && isActive(c, now));
}

export interface IssueResult {
  serial: string;
  subject: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  certPath: string;
  keyPath: string;
  /** Present when a PKCS#12 bundle was written. */
  p12Path?: string;
  /** Earlier certificates under the same name that remain valid (replaced with force). */
  stillValid: IssuedCertificate[];
  /**
   * Serials of the valid certificates with the same subject (client identity) that this one
   * re-issues (reissue: true); empty otherwise. They stay valid until revoked.
   */
  reissues: string[];
}

// ---------------------------------------------------------------------------------------------
// Server certificate

export interface ServerOptions {
  /** DNS names for the subjectAltName; the first one (or the first IP) becomes the CN. */
  dns?: readonly string[];
  ip?: readonly string[];
  days?: number;
  bits?: RsaBits;
  /** Replace an existing server certificate. */
  force?: boolean;
  now?: Date;
  lock?: LockOptions;
}

/**
 * Issues server.crt/server.key: serverAuth for the listeners, clientAuth as well because the
 * server also connects to peers (key mirroring, port 6002) with it.
 */
export async function issueServer(dataDir: string, opts: ServerOptions): Promise<IssueResult> {
  const dns = [...new Set((opts.dns ?? []).map(checkDnsName))];
  const ips = [...new Set((opts.ip ?? []).map(canonicalIp))];
  if (dns.length + ips.length === 0) throw badInput('the server certificate needs at least one DNS name (--dns) or IP address (--ip)');
  // The CN is informative only (clients match the SANs); it takes the first name that fits in 64.
  const commonName = [...dns, ...ips].find((n) => n.length <= 64) ?? dns[0]!.slice(0, 64);
  const days = checkDays('server certificate validity', opts.days ?? SERVER_DEFAULT_DAYS, 1, SERVER_MAX_DAYS);
  const bits = checkBits(opts.bits ?? 3072);
  const subject = [newAttribute(OID.commonName, commonName), newAttribute(OID.organizationName, 'Keyhaven')];
  const subjectText = renderSubject(subject);
  const p = pkiPaths(dataDir);
  loadCa(p); // fail before spending time on a key
  checkServerSubject(readIndex(p), subjectText, opts.now);
  const key = await generateRsaKey(bits);
  return withLock(
    p,
    () => {
      const ca = loadCa(p);
      const idx = readIndex(p);
      if (fs.existsSync(p.serverCert) && !opts.force) {
        throw new KeyhavenError(
          ErrorCodes.PKI_ALREADY_EXISTS,
          `${p.serverCert} already exists: pass --force to replace it`,
        );
      }
      checkServerSubject(idx, subjectText, opts.now);
      const leaf = signLeaf(ca, {
        publicKey: key.publicKey,
        subject,
        days,
        extKeyUsage: ['serverAuth', 'clientAuth'],
        altNames: [
          ...dns.map((d): AltName => ({ type: 2, value: d })),
          ...ips.map((ip): AltName => ({ type: 7, value: ipBytes(ip).toString('binary') })),
        ],
        ...(opts.now ? { now: opts.now } : {}),
      });
      const stillValid = activeByName(idx, 'server', opts.now);
      writeFileAtomic(p.serverKey, key.privateKeyPem, MODE_SECRET);
      writeFileAtomic(p.serverCert, leaf.certPem, MODE_PUBLIC);
      idx.certificates.push(indexEntry(leaf, 'server', 'server', 'generated', path.relative(p.root, p.serverCert)));
      writeIndex(p, idx);
      return { ...resultOf(leaf), certPath: p.serverCert, keyPath: p.serverKey, stillValid, reissues: [] };
    },
    opts.lock,
  );
}

function resultOf(leaf: SignedLeaf): Pick<IssueResult, 'serial' | 'subject' | 'fingerprint' | 'notBefore' | 'notAfter'> {
  return { serial: leaf.serial, subject: leaf.subject, fingerprint: leaf.fingerprint, notBefore: leaf.notBefore, notAfter: leaf.notAfter };
}

// ---------------------------------------------------------------------------------------------
// Client certificates

export interface ClientOptions {
  /** File name under clients/ and, unless commonName is given, the CN. */
  name: string;
  commonName?: string;
  /** Default 'Keyhaven'. */
  organization?: string;
  dns?: readonly string[];
  email?: readonly string[];
  days?: number;
  bits?: RsaBits;
  /** When given, clients/<name>.p12 is written too. Never stored or logged. */
  p12Password?: string;
  /**
   * Issue even though a valid certificate is filed under this name (the old one stays valid). Only
   * the file name: a subject that is in use still needs `reissue`.
   */
  force?: boolean;
  /**
   * Issue even though valid client certificates carry the same subject, i.e. the same client
   * identity (renewal, new key); implies `force`. They are listed in `reissues` and stay valid
   * until revoked. Never for the server's or the CA's subject.
   */
  reissue?: boolean;
  now?: Date;
  lock?: LockOptions;
}

/** Issues clients/<name>.crt/.key (clientAuth) and, with a password, clients/<name>.p12. */
export async function issueClient(dataDir: string, opts: ClientOptions): Promise<IssueResult> {
  const name = checkClientName(opts.name);
  const commonName = checkDnValue('common name', opts.commonName ?? name);
  const organization = checkDnValue('organization', opts.organization ?? 'Keyhaven');
  const altNames: AltName[] = [
    ...[...new Set((opts.dns ?? []).map(checkDnsName))].map((d): AltName => ({ type: 2, value: d })),
    ...[...new Set((opts.email ?? []).map(checkEmail))].map((e): AltName => ({ type: 1, value: e })),
  ];
  const days = checkDays('client certificate validity', opts.days ?? CLIENT_DEFAULT_DAYS, 1, CLIENT_MAX_DAYS);
  const bits = checkBits(opts.bits ?? 3072);
  if (opts.p12Password !== undefined) checkP12Password(opts.p12Password);
  const subject = [newAttribute(OID.commonName, commonName), newAttribute(OID.organizationName, organization)];
  const subjectText = renderSubject(subject);
  const reissue = opts.reissue === true;
  const p = pkiPaths(dataDir);
  const files = clientPaths(p, name);
  loadCa(p);
  // Checked before spending time on a key, and again under the lock.
  const check = (idx: PkiIndex) => {
    const active = activeByName(idx, name, opts.now);
    if (active.length > 0 && !opts.force && !reissue) {
      throw new KeyhavenError(
        ErrorCodes.PKI_ALREADY_EXISTS,
        `client '${name}' already has a valid certificate (serial ${active[0]!.serial}): revoke it first ` +
          `(\`keyhaven pki revoke --dir ${p.dataDir} --name ${name}\`) or pass --reissue to issue another (the old one stays valid until revoked)`,
      );
    }
    const reissues = checkClientSubject(p, idx, subjectText, { reissue, rename: '--cn', ...(opts.now ? { now: opts.now } : {}) });
    return { active, reissues };
  };
  check(readIndex(p));
  const key = await generateRsaKey(bits);
  return withLock(
    p,
    () => {
      const ca = loadCa(p);
      const idx = readIndex(p);
      const { active, reissues } = check(idx);
      const leaf = signLeaf(ca, {
        publicKey: key.publicKey,
        subject,
        days,
        extKeyUsage: ['clientAuth'],
        altNames,
        ...(opts.now ? { now: opts.now } : {}),
      });
      if (leaf.subject !== subjectText) throw new Error(`internal error: the certificate subject ${leaf.subject} is not the checked ${subjectText}`);
      ensureDir(p.clientsDir);
      writeFileAtomic(files.key, key.privateKeyPem, MODE_SECRET);
      writeFileAtomic(files.cert, leaf.certPem, MODE_PUBLIC);
      let p12Path: string | undefined;
      if (opts.p12Password !== undefined) {
        writeFileAtomic(files.p12, pkcs12Bundle(key.privateKey, leaf.cert, ca.cert, opts.p12Password, name), MODE_SECRET);
        p12Path = files.p12;
      } else {
        fs.rmSync(files.p12, { force: true }); // it would hold the previous key
      }
      idx.certificates.push(indexEntry(leaf, name, 'client', 'generated', path.relative(p.root, files.cert)));
      writeIndex(p, idx);
      return {
        ...resultOf(leaf),
        certPath: files.cert,
        keyPath: files.key,
        ...(p12Path ? { p12Path } : {}),
        stillValid: active,
        reissues: reissues.map((c) => c.serial),
      };
    },
    opts.lock,
  );
}
