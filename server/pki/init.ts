// Creating a PKI directory (CA, empty CRL, index) and the dev-mode first-run setup.

import fs from 'node:fs';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { createCa, type CaOptions } from './ca.js';
import { commitIndexAndCrl } from './crl.js';
import { issueClient, issueServer } from './issue.js';
import { pemToDer, sha256Fingerprint } from './keys.js';
import { clientPaths, emptyIndex, ensureDir, MODE_PUBLIC, MODE_SECRET, pkiPaths, withLock, writeFileAtomic, type LockOptions } from './store.js';
import type { RsaBits } from './validate.js';

export interface InitResult {
  subject: string;
  serial: string;
  fingerprint: string;
  notAfter: Date;
  certPath: string;
  keyPath: string;
  crlPath: string;
}

/** Creates <dataDir>/pki with a new CA, an empty CRL and an empty index. Refuses to overwrite. */
export async function initPki(dataDir: string, opts: CaOptions & { lock?: LockOptions } = {}): Promise<InitResult> {
  const p = pkiPaths(dataDir);
  const refuseExisting = (): void => {
    for (const f of [p.caCert, p.caKey, p.index]) {
      if (fs.existsSync(f)) {
        throw new KeyhavenError(
          ErrorCodes.PKI_ALREADY_EXISTS,
          `${p.root} already holds a CA (${f} exists): it is used as is; to start over, move ${p.root} away first ` +
            `(every certificate it issued stops working)`,
        );
      }
    }
  };
  refuseExisting();
  const { ca, key } = await createCa(opts);
  ensureDir(p.root);
  return withLock(
    p,
    () => {
      refuseExisting();
      ensureDir(p.clientsDir);
      writeFileAtomic(p.caKey, key.privateKeyPem, MODE_SECRET);
      writeFileAtomic(p.caCert, ca.certPem, MODE_PUBLIC);
      commitIndexAndCrl(p, ca, emptyIndex(), opts.now ? { now: opts.now } : {});
      return {
        subject: ca.subject,
        serial: ca.cert.serialNumber,
        fingerprint: sha256Fingerprint(pemToDer(ca.certPem)),
        notAfter: ca.notAfter,
        certPath: p.caCert,
        keyPath: p.caKey,
        crlPath: p.crl,
      };
    },
    opts.lock,
  );
}

export interface DevPki {
  created: { ca: boolean; server: boolean; client: boolean };
  caCert: string;
  crl: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export const DEV_CLIENT_NAME = 'dev';

/**
 * Dev mode's first run: a CA, a server certificate for localhost/127.0.0.1/::1 and a client
 * certificate named `dev` (DIR/pki/ca.crt, DIR/pki/clients/dev.crt, DIR/pki/clients/dev.key).
 * Whatever already exists is kept, so later runs do nothing.
 */
export async function ensureDevPki(dataDir: string, opts: { bits?: RsaBits; lock?: LockOptions } = {}): Promise<DevPki> {
  const p = pkiPaths(dataDir);
  const dev = clientPaths(p, DEV_CLIENT_NAME);
  const created = { ca: false, server: false, client: false };
  if (!fs.existsSync(p.caCert)) {
    await initPki(dataDir, { name: 'dev', ...opts });
    created.ca = true;
  }
  const jobs: Promise<unknown>[] = [];
  const lock = opts.lock ?? { waitMs: 60_000 };
  const common = { ...(opts.bits ? { bits: opts.bits } : {}), lock };
  if (!fs.existsSync(p.serverCert)) {
    jobs.push(issueServer(dataDir, { dns: ['localhost'], ip: ['127.0.0.1', '::1'], ...common }).then(() => (created.server = true)));
  }
  if (!fs.existsSync(dev.cert) || !fs.existsSync(dev.key)) {
    // A re-issue of the dev identity when its files went missing (the old certificate may still be valid).
    jobs.push(issueClient(dataDir, { name: DEV_CLIENT_NAME, reissue: true, ...common }).then(() => (created.client = true)));
  }
  await Promise.all(jobs);
  return { created, caCert: p.caCert, crl: p.crl, serverCert: p.serverCert, serverKey: p.serverKey, clientCert: dev.cert, clientKey: dev.key };
}
