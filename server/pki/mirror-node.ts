// The certificate a Keyhaven server presents to the other servers of its mirror group on 6002, both
// as the listener and when it connects out: serverAuth and clientAuth, and a URI naming its group and
// node (urn:keyhaven:mirror:<group>:<node>). The 6002 listener admits only certificates of our CA
// carrying such a URI for our group: a KMIP client's certificate (clientAuth, no URI) is refused.
//
//   <data>/pki/mirror/node.crt, node.key (0600)
import type { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadCa } from './ca.js';
import { indexEntry, signLeaf, SERVER_DEFAULT_DAYS } from './issue.js';
import { generateRsaKey } from './keys.js';
import { ensureDir, MODE_PUBLIC, MODE_SECRET, pkiPaths, readIndex, withLock, writeFileAtomic, writeIndex } from './store.js';
import { newAttribute, OID } from './subject.js';

const URI_PREFIX = 'urn:keyhaven:mirror:';

export interface NodeCertificatePaths {
  cert: string;
  key: string;
}

export function nodeCertificatePaths(dataDir: string): NodeCertificatePaths {
  const dir = path.join(pkiPaths(dataDir).root, 'mirror');
  return { cert: path.join(dir, 'node.crt'), key: path.join(dir, 'node.key') };
}

export const nodeUri = (group: string, node: string) => `${URI_PREFIX}${group}:${node}`;

/** The group and node a certificate's URI names, or undefined when it is not a mirror node's. */
export function mirrorNodeOf(x509: X509Certificate | undefined): { group: string; node: string } | undefined {
  const san = x509?.subjectAltName;
  if (!san) return undefined;
  for (const part of san.split(', ')) {
    if (!part.startsWith(`URI:${URI_PREFIX}`)) continue;
    const [group, node, ...rest] = part.slice(4 + URI_PREFIX.length).split(':');
    if (group && node && rest.length === 0) return { group, node };
  }
  return undefined;
}

/** A node certificate this close to its end is replaced (the service checks every hour). */
export const NODE_RENEW_BEFORE_DAYS = 30;

/**
 * Issues this server's node certificate unless one for this group and node exists that is valid for
 * more than NODE_RENEW_BEFORE_DAYS after `now`: an expired node certificate would cut the server off
 * from its group, so it is renewed (a new key) well before. Needs the CA key (every member holds the
 * group's CA: see server/mirror/join.ts). `issued`: a new certificate was written.
 */
export async function ensureNodeCertificate(dataDir: string, group: string, node: string, now = Date.now()): Promise<NodeCertificatePaths & { issued: boolean }> {
  const out = nodeCertificatePaths(dataDir);
  if (fs.existsSync(out.cert) && fs.existsSync(out.key)) {
    const { X509Certificate } = await import('node:crypto');
    const x509 = new X509Certificate(fs.readFileSync(out.cert));
    const named = mirrorNodeOf(x509);
    const fresh = Date.parse(x509.validTo) - now > NODE_RENEW_BEFORE_DAYS * 86_400_000;
    if (named?.group === group && named.node === node && fresh) return { ...out, issued: false };
  }
  const p = pkiPaths(dataDir);
  const key = await generateRsaKey(2048);
  return withLock(p, () => {
    const ca = loadCa(p);
    const days = Math.min(SERVER_DEFAULT_DAYS, Math.floor((ca.notAfter.getTime() - Date.now()) / 86_400_000));
    const leaf = signLeaf(ca, {
      publicKey: key.publicKey,
      subject: [newAttribute(OID.commonName, `keyhaven-mirror-${node}`), newAttribute(OID.organizationName, 'Keyhaven')],
      days,
      extKeyUsage: ['serverAuth', 'clientAuth'],
      altNames: [{ type: 6, value: nodeUri(group, node) }],
    });
    ensureDir(path.dirname(out.cert));
    writeFileAtomic(out.key, key.privateKeyPem, MODE_SECRET);
    writeFileAtomic(out.cert, leaf.certPem, MODE_PUBLIC);
    const idx = readIndex(p);
    idx.certificates.push(indexEntry(leaf, `mirror-${node}`, 'server', 'generated', path.relative(p.root, out.cert)));
    writeIndex(p, idx);
    return { ...out, issued: true };
  });
}
