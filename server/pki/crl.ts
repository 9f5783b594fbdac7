// X.509 v2 certificate revocation list (RFC 5280 §5), built with forge.asn1 (node-forge has no
// CRL writer) and signed with the CA key.
//
// crl.pem always exists: Node's `crl` option turns on CRL checking, and a chain whose issuer has no
// CRL then fails every handshake. The CRL is re-signed on every change, and nextUpdate is 30 days
// out; OpenSSL refuses handshakes once nextUpdate has passed (X509_V_ERR_CRL_HAS_EXPIRED), so a
// long-running server must call refreshCrl() periodically (e.g. daily with ifExpiresWithinDays: 7)
// and reload its secure context (server.setSecureContext) when it re-signed.

import fs from 'node:fs';
import forge from 'node-forge';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { loadCa, type Ca } from './ca.js';
import { REVOCATION_REASONS, type RevocationReason } from './reasons.js';
import { lf } from './keys.js';
import { asn1FromDer } from './subject.js';
import { MODE_PUBLIC, pkiPaths, readIndex, withLock, writeFileAtomic, writeIndex, type PkiIndex, type PkiPaths, type LockOptions } from './store.js';

export const CRL_DEFAULT_DAYS = 30;

const { Class, Type } = forge.asn1;
const asn1 = forge.asn1;

const OIDS = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  authorityKeyIdentifier: '2.5.29.35',
  cRLNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
};

export interface CrlEntry {
  /** Serial, hex. */
  serial: string;
  date: Date;
  reason: RevocationReason;
}

/** INTEGER from a non-negative hex string or number, minimal two's-complement DER (X.690 §8.3). */
function integer(value: string | number): forge.asn1.Asn1 {
  let hex = typeof value === 'number' ? value.toString(16) : value.toLowerCase();
  hex = hex.replace(/^0+/, '');
  if (hex.length % 2) hex = `0${hex}`;
  if (hex === '') hex = '00';
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return asn1.create(Class.UNIVERSAL, Type.INTEGER, false, forge.util.hexToBytes(hex));
}

/** RFC 5280 §5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): forge.asn1.Asn1 {
  return d.getUTCFullYear() < 2050
    ? asn1.create(Class.UNIVERSAL, Type.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

function extension(oid: string, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(oid).getBytes()),
    asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, asn1.toDer(value).getBytes()),
  ]);
}

function sha256WithRsa(): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(OIDS.sha256WithRSAEncryption).getBytes()),
    asn1.create(Class.UNIVERSAL, Type.NULL, false, ''),
  ]);
}

/** Builds and signs a CRL; returns its PEM ("X509 CRL"). */
export function buildCrl(ca: Ca, entries: readonly CrlEntry[], crlNumber: number, thisUpdate: Date, nextUpdate: Date): string {
  const tbsFields: forge.asn1.Asn1[] = [
    integer(1), // RFC 5280 §5.1.2.1: v2
    sha256WithRsa(), // §5.1.2.2
    asn1FromDer(ca.subjectDer), // §5.1.2.3: exactly the CA's subject encoding
    time(thisUpdate), // §5.1.2.4
    time(nextUpdate), // §5.1.2.5
  ];
  if (entries.length > 0) {
    // §5.1.2.6
    tbsFields.push(
      asn1.create(
        Class.UNIVERSAL,
        Type.SEQUENCE,
        true,
        entries.map((e) => {
          const fields = [integer(e.serial), time(e.date)];
          const code = REVOCATION_REASONS[e.reason];
          // §5.3.1: the reason code SHOULD be absent rather than unspecified (0)
          if (code !== 0) {
            fields.push(
              asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
                extension(OIDS.reasonCode, asn1.create(Class.UNIVERSAL, Type.ENUMERATED, false, String.fromCharCode(code))),
              ]),
            );
          }
          return asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, fields);
        }),
      ),
    );
  }
  // §5.1.2.7, §5.2.1 authorityKeyIdentifier, §5.2.3 cRLNumber
  tbsFields.push(
    asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
        extension(
          OIDS.authorityKeyIdentifier,
          asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [asn1.create(Class.CONTEXT_SPECIFIC, 0, false, ca.keyId)]),
        ),
        extension(OIDS.cRLNumber, integer(crlNumber)),
      ]),
    ]),
  );
  const tbs = asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, tbsFields);
  const md = forge.md.sha256.create();
  md.update(asn1.toDer(tbs).getBytes());
  const signature = ca.key.sign(md); // RSASSA-PKCS1-v1_5
  // §5.1.1
  const crl = asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
    tbs,
    sha256WithRsa(),
    asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, `\x00${signature}`),
  ]);
  return lf(forge.pem.encode({ type: 'X509 CRL', body: asn1.toDer(crl).getBytes() }));
}

/**
 * Signs a new CRL from the index (incrementing its cRLNumber), then writes index.json and crl.pem,
 * in that order: the index is the record, and a CRL lagging behind it is repaired by refreshCrl().
 * The caller holds the lock.
 */
export function commitIndexAndCrl(p: PkiPaths, ca: Ca, idx: PkiIndex, opts: { now?: Date; days?: number } = {}): CrlInfo {
  const now = opts.now ?? new Date();
  const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + (opts.days ?? CRL_DEFAULT_DAYS) * 86_400_000);
  // RFC 5280 §3.3: an entry may go once it has appeared on a CRL issued after the certificate
  // expired; a year past expiry is well beyond that with any refresh schedule.
  const keepAfter = thisUpdate.getTime() - 365 * 86_400_000;
  const entries: CrlEntry[] = idx.certificates
    .filter((c) => c.revoked !== undefined && new Date(c.notAfter).getTime() > keepAfter)
    .map((c) => ({ serial: c.serial, date: new Date(c.revoked!.date), reason: c.revoked!.reason }));
  idx.crlNumber += 1;
  const pem = buildCrl(ca, entries, idx.crlNumber, thisUpdate, nextUpdate);
  writeIndex(p, idx);
  writeFileAtomic(p.crl, pem, MODE_PUBLIC);
  return { crlNumber: idx.crlNumber, thisUpdate, nextUpdate, serials: entries.map((e) => e.serial) };
}

export interface CrlInfo {
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Revoked serials (lower-case hex, two digits per octet, no sign octet). */
  serials: string[];
}

function readTime(node: forge.asn1.Asn1 | undefined): Date | undefined {
  if (!node || typeof node.value !== 'string') return undefined;
  if (node.type === Type.UTCTIME) return asn1.utcTimeToDate(node.value);
  if (node.type === Type.GENERALIZEDTIME) return asn1.generalizedTimeToDate(node.value);
  return undefined;
}

/** Reads back the dates, number and serials of a CRL we wrote (does not verify the signature). */
export function readCrlInfo(pem: string): CrlInfo {
  const block = forge.pem.decode(pem)[0];
  if (!block || block.type !== 'X509 CRL') throw new Error('not a PEM X509 CRL');
  const crl = asn1FromDer(block.body);
  const tbs = (crl.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];
  let i = tbs[0]?.type === Type.INTEGER ? 1 : 0;
  i += 2; // signature, issuer
  const thisUpdate = readTime(tbs[i++]);
  const nextUpdate = readTime(tbs[i]);
  if (nextUpdate) i++;
  const serials: string[] = [];
  let crlNumber = 0;
  for (; i < tbs.length; i++) {
    const node = tbs[i]!;
    if (node.tagClass === Class.UNIVERSAL && node.type === Type.SEQUENCE) {
      for (const entry of node.value as forge.asn1.Asn1[]) {
        const serial = (entry.value as forge.asn1.Asn1[])[0]!.value as string;
        serials.push(forge.util.bytesToHex(serial).replace(/^(00)+(?=..)/, ''));
      }
    } else if (node.tagClass === Class.CONTEXT_SPECIFIC && node.type === 0) {
      for (const ext of ((node.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[])) {
        const parts = ext.value as forge.asn1.Asn1[];
        if (asn1.derToOid(parts[0]!.value as string) === OIDS.cRLNumber) {
          const inner = asn1FromDer(parts[parts.length - 1]!.value as string);
          crlNumber = parseInt(forge.util.bytesToHex(inner.value as string), 16);
        }
      }
    }
  }
  if (!thisUpdate || !nextUpdate) throw new Error('CRL has no thisUpdate/nextUpdate');
  return { crlNumber, thisUpdate, nextUpdate, serials };
}

export interface RefreshOptions extends LockOptions {
  /** Only re-sign when the current CRL's nextUpdate is less than this many days away. */
  ifExpiresWithinDays?: number;
  /** Validity of the new CRL (default 30 days). */
  days?: number;
  now?: Date;
}

/** Re-signs crl.pem (new thisUpdate/nextUpdate/cRLNumber). `resigned` tells the server to reload. */
export async function refreshCrl(dataDir: string, opts: RefreshOptions = {}): Promise<CrlInfo & { resigned: boolean }> {
  const p = pkiPaths(dataDir);
  const now = opts.now ?? new Date();
  if (opts.ifExpiresWithinDays !== undefined) {
    const current = currentCrl(p);
    if (current && current.nextUpdate.getTime() - now.getTime() > opts.ifExpiresWithinDays * 86_400_000) {
      return { ...current, resigned: false };
    }
  }
  return withLock(
    p,
    () => {
      const ca = loadCa(p);
      const idx = readIndex(p);
      const info = commitIndexAndCrl(p, ca, idx, { now, ...(opts.days !== undefined ? { days: opts.days } : {}) });
      return { ...info, resigned: true };
    },
    opts,
  );
}

function currentCrl(p: PkiPaths): CrlInfo | undefined {
  try {
    return readCrlInfo(fs.readFileSync(p.crl, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyhavenError(ErrorCodes.PKI_CORRUPT, `cannot read ${p.crl}: ${(err as Error).message}; run \`keyhaven pki crl --dir ${p.dataDir}\``, {
      cause: err,
    });
  }
}
