// Signing a client's certificate request (PKCS#10, RFC 2986): vCenter's "KMS trusts vCenter via
// CSR" flow. vCenter generates the CSR, the KMS administrator signs it here, vCenter uploads the
// certificate and then connects to the KMS as a TLS client with it (hence clientAuth).

import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { loadCa } from './ca.js';
import { activeByName, CLIENT_DEFAULT_DAYS, CLIENT_MAX_DAYS, indexEntry, signLeaf, type AltName, type IssueResult } from './issue.js';
import { attributesForWrite, newAttribute, OID, subjectString, type SubjectAttribute } from './subject.js';
import { ensureDir, MODE_PUBLIC, pkiPaths, readIndex, withLock, writeFileAtomic, writeIndex, type LockOptions } from './store.js';
import { checkDays, checkDnValue, printable } from './validate.js';

export const CSR_MIN_RSA_BITS = 2048;
export const CSR_MAX_RSA_BITS = 16384;

function badCsr(message: string, cause?: unknown): KeyhavenError {
  return new KeyhavenError(ErrorCodes.PKI_BAD_CSR, message, cause === undefined ? undefined : { cause });
}

export interface ParsedCsr {
  csr: forge.pki.CertificateSigningRequest;
  publicKey: forge.pki.rsa.PublicKey;
  bits: number;
  /** Subject attributes ready to be written into a certificate. */
  subject: forge.pki.CertificateField[];
  /** Requested subjectAltName entries we carry over (DNS, e-mail, URI, IP). */
  altNames: AltName[];
}

/** Parses and checks a PEM CSR: well-formed, self-signature valid, RSA key of at least 2048 bits. */
export function parseCsr(pem: string): ParsedCsr {
  // Some tools (and older vCenter builds) write the pre-RFC 7468 label.
  // Only the request block is used, should the file carry other blocks (e.g. the key) as well.
  const normalised = pem.replace(/-----(BEGIN|END) NEW CERTIFICATE REQUEST-----/g, '-----$1 CERTIFICATE REQUEST-----');
  const at = normalised.indexOf('-----BEGIN CERTIFICATE REQUEST-----');
  if (at < 0) throw badCsr('the file is not a PEM certificate request (no "-----BEGIN CERTIFICATE REQUEST-----" line)');
  const end = normalised.indexOf('-----END CERTIFICATE REQUEST-----', at);
  const text = end < 0 ? normalised.slice(at) : normalised.slice(at, end + '-----END CERTIFICATE REQUEST-----'.length);
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(text, true, true);
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/OID is not RSA/i.test(msg)) throw badCsr('the CSR key is not RSA: only RSA keys (2048 bits or more) are supported; generate an RSA CSR', err);
    throw badCsr(`the certificate request cannot be parsed (${printable(msg)}): check that it is a complete PEM CSR`, err);
  }
  let ok = false;
  try {
    ok = csr.verify();
  } catch (err) {
    throw badCsr(`the CSR signature cannot be checked (${printable((err as Error).message ?? String(err))})`, err);
  }
  if (!ok) throw badCsr('the CSR signature does not verify: the request was altered or corrupted; ask for a fresh CSR');
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!publicKey || !publicKey.n) throw badCsr('the CSR has no RSA public key');
  const bits = publicKey.n.bitLength();
  if (bits < CSR_MIN_RSA_BITS) throw badCsr(`the CSR key has ${bits} bits: at least ${CSR_MIN_RSA_BITS} are required; generate a new CSR with a larger key`);
  if (bits > CSR_MAX_RSA_BITS) throw badCsr(`the CSR key has ${bits} bits: at most ${CSR_MAX_RSA_BITS} are supported`);

  const subject = attributesForWrite(csr.subject.attributes);
  for (const a of subject) {
    if (typeof a.value !== 'string' || a.type === undefined) throw badCsr('the CSR subject contains an attribute that is not a string');
    checkCsrValue(a.type, a.value);
  }
  return { csr, publicKey, bits, subject, altNames: requestedAltNames(csr) };
}

function checkCsrValue(type: string, value: string): void {
  try {
    checkDnValue(`subject attribute ${type}`, value, type === OID.commonName ? 64 : 256);
  } catch (err) {
    throw badCsr(`the CSR subject is not acceptable: ${(err as Error).message}`, err);
  }
}

function requestedAltNames(csr: forge.pki.CertificateSigningRequest): AltName[] {
  const req = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name?: string; altNames?: { type: number; value: string }[] }[] } | null;
  const san = req?.extensions?.find((e) => e.name === 'subjectAltName');
  const out: AltName[] = [];
  for (const a of san?.altNames ?? []) {
    if (a.type === 1 || a.type === 2 || a.type === 6) {
      if (!/^[\x21-\x7e]{1,253}$/.test(a.value)) throw badCsr(`the CSR requests an invalid subjectAltName '${printable(a.value)}'`);
      out.push({ type: a.type, value: a.value });
    } else if (a.type === 7) {
      if (a.value.length !== 4 && a.value.length !== 16) throw badCsr('the CSR requests an invalid IP address subjectAltName');
      out.push({ type: 7, value: a.value });
    }
  }
  return out;
}

export interface SignCsrOptions {
  days?: number;
  /** Replaces (or adds) the CN of the requested subject. */
  commonName?: string;
  now?: Date;
  lock?: LockOptions;
}

export interface SignCsrResult extends Omit<IssueResult, 'keyPath' | 'p12Path'> {
  certPem: string;
  /** The name the certificate is filed under in index.json (its CN, or the subject). */
  name: string;
}

/**
 * Signs a CSR as a client certificate (clientAuth). The subject is the request's, with the CN
 * replaced by `commonName` when given. A copy is kept in signed/<serial>.crt.
 */
export async function signCsr(dataDir: string, csrPem: string, opts: SignCsrOptions = {}): Promise<SignCsrResult> {
  const days = checkDays('certificate validity', opts.days ?? CLIENT_DEFAULT_DAYS, 1, CLIENT_MAX_DAYS);
  const parsed = parseCsr(csrPem);
  let subject = parsed.subject;
  if (opts.commonName !== undefined) {
    const cn = newAttribute(OID.commonName, checkDnValue('common name', opts.commonName));
    // The first CN takes the new value in place; any further CNs go; no CN: append one.
    const at = subject.findIndex((a) => a.type === OID.commonName);
    subject = at < 0 ? [...subject, cn] : subject.flatMap((a, i) => (i === at ? [cn] : a.type === OID.commonName ? [] : [a]));
  }
  if (subject.length === 0) throw badCsr('the CSR has an empty subject: give a common name with --name');
  const cnValue = subject.find((a) => a.type === OID.commonName)?.value;
  const p = pkiPaths(dataDir);
  return withLock(
    p,
    () => {
      const ca = loadCa(p);
      const idx = readIndex(p);
      const leaf = signLeaf(ca, {
        publicKey: parsed.publicKey,
        subject,
        days,
        extKeyUsage: ['clientAuth'],
        altNames: parsed.altNames,
        ...(opts.now ? { now: opts.now } : {}),
      });
      const name = typeof cnValue === 'string' ? cnValue : leaf.subject;
      const stillValid = activeByName(idx, name, opts.now);
      ensureDir(p.signedDir);
      const file = path.join(p.signedDir, `${leaf.serial}.crt`);
      writeFileAtomic(file, leaf.certPem, MODE_PUBLIC);
      idx.certificates.push(indexEntry(leaf, name, 'client', 'csr', path.relative(p.root, file)));
      writeIndex(p, idx);
      return {
        serial: leaf.serial,
        subject: leaf.subject,
        fingerprint: leaf.fingerprint,
        notBefore: leaf.notBefore,
        notAfter: leaf.notAfter,
        certPath: file,
        certPem: leaf.certPem,
        name,
        stillValid,
      };
    },
    opts.lock,
  );
}

/** Reads a CSR file, mapping a missing file to a clear error. */
export function readCsrFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw badCsr(`cannot read the CSR file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}

/** The subject a CSR asks for, rendered like a certificate subject. */
export function csrSubject(parsed: ParsedCsr): string {
  return subjectString(parsed.subject.map((a): SubjectAttribute => ({ type: a.type!, value: String(a.value) })));
}
