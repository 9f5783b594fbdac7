// Proves that Node's tls, given loadTlsMaterial() (CA + server pair + CRL), accepts a good client
// and refuses a revoked client, a client whose certificate lacks the clientAuth EKU, and a client
// of another CA; and what the listener still has to check itself (clientIdentity).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { ErrorCodes, KeyhavenError } from '../../server/errors.js';
import {
  clientIdentity,
  generateRsaKey,
  initPki,
  issueClient,
  issueServer,
  loadCa,
  loadTlsMaterial,
  pkiPaths,
  refreshCrl,
  revoke,
  signCsr,
  signLeaf,
  tlsServerOptions,
  type Purpose,
} from '../../server/pki/index.js';
import { newAttribute, OID } from '../../server/pki/subject.js';
import { opensslOk, removeDir, tempDir } from './helpers.js';

interface Pair {
  cert: string | Buffer;
  key: string | Buffer;
}

type Greeting = { kind: 'greeted'; text: string } | { kind: 'refused'; error: string };

interface TestServer {
  port: number;
  host: string;
  /** Sockets that reached 'secureConnection'. */
  accepted: number;
  close(): Promise<void>;
}

/**
 * A listener as the lead's will be: each accepted connection gets "hello <identity>" or
 * "rejected <code>" when clientIdentity() refuses it. With diagnose, rejectUnauthorized is off so
 * the greeting carries OpenSSL's verdict (authorizationError) instead.
 */
async function startServer(opts: tls.TlsOptions, diagnose = false, host = '127.0.0.1'): Promise<TestServer> {
  const state = { accepted: 0 };
  const server = tls.createServer({ ...opts, rejectUnauthorized: !diagnose }, (socket) => {
    state.accepted++;
    if (diagnose) {
      socket.end(`verdict ${socket.authorized ? 'authorized' : String(socket.authorizationError)}`);
      return;
    }
    try {
      socket.end(`hello ${clientIdentity(socket.getPeerX509Certificate())}`);
    } catch (err) {
      socket.end(`rejected ${(err as KeyhavenError).code}`);
    }
  });
  server.on('tlsClientError', () => {}); // refused handshakes show up here
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    host,
    get accepted() {
      return state.accepted;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function talk(server: TestServer, ca: Buffer, client: Pair | undefined, version: tls.SecureVersion): Promise<Greeting> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: server.host, port: server.port, ca, ...(client ?? {}), minVersion: version, maxVersion: version });
    let text = '';
    let error = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve(text ? { kind: 'greeted', text } : { kind: 'refused', error: error || 'closed without data' }));
  });
}

describe('mutual TLS with the PKI files', () => {
  let dir: string;
  let otherDir: string;
  const clients: Record<string, Pair> = {};
  let goodSubject = '';

  const pairOf = (r: { certPath: string; keyPath: string }): Pair => ({ cert: fs.readFileSync(r.certPath), key: fs.readFileSync(r.keyPath) });

  async function leafWith(extKeyUsage: Purpose[], cn: string): Promise<Pair> {
    const key = await generateRsaKey(2048);
    const leaf = signLeaf(loadCa(pkiPaths(dir)), { publicKey: key.publicKey, subject: [newAttribute(OID.commonName, cn)], days: 30, extKeyUsage });
    return { cert: leaf.certPem, key: key.privateKeyPem };
  }

  before(async () => {
    dir = tempDir('tls');
    otherDir = tempDir('tls-other');
    await Promise.all([initPki(dir, { bits: 2048, name: 'tls' }), initPki(otherDir, { bits: 2048, name: 'tls' })]);
    const [, good, revoked, other] = await Promise.all([
      issueServer(dir, { dns: ['localhost'], ip: ['127.0.0.1', '::1'], bits: 2048 }),
      issueClient(dir, { name: 'good', bits: 2048 }),
      issueClient(dir, { name: 'revoked', bits: 2048 }),
      issueClient(otherDir, { name: 'good', bits: 2048 }), // same subject, wrong CA
    ]);
    await revoke(dir, { name: 'revoked' }, 'keyCompromise');
    goodSubject = good.subject;
    clients['good'] = pairOf(good);
    clients['revoked'] = pairOf(revoked);
    clients['other CA'] = pairOf(other);
    clients['serverAuth only'] = await leafWith(['serverAuth'], 'server-only');
    clients['no EKU'] = await leafWith([], 'no-eku');
    // vCenter's flow: its own key, our signature
    const csrFile = path.join(dir, 'vc.csr');
    const keyFile = path.join(dir, 'vc.key');
    opensslOk(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', '/O=Example/CN=vcenter.example.com']);
    const signed = await signCsr(dir, fs.readFileSync(csrFile, 'utf8'));
    clients['vCenter CSR'] = { cert: signed.certPem, key: fs.readFileSync(keyFile) };
  });
  after(() => {
    removeDir(dir);
    removeDir(otherDir);
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    test(`${version}: good clients are accepted with their subject as identity; bad ones are refused`, async () => {
      const m = loadTlsMaterial(dir);
      const server = await startServer(tlsServerOptions(dir));
      try {
        assert.deepEqual(await talk(server, m.ca, clients['good'], version), { kind: 'greeted', text: `hello ${goodSubject}` });
        assert.deepEqual(await talk(server, m.ca, clients['vCenter CSR'], version), { kind: 'greeted', text: 'hello O=Example,CN=vcenter.example.com' });
        assert.equal(server.accepted, 2);
        for (const name of ['revoked', 'other CA', 'serverAuth only']) {
          const r = await talk(server, m.ca, clients[name], version);
          assert.equal(r.kind, 'refused', `${name} must be refused, got ${JSON.stringify(r)}`);
        }
        assert.equal((await talk(server, m.ca, undefined, version)).kind, 'refused', 'no client certificate');
        assert.equal(server.accepted, 2, 'no refused client reached secureConnection');
        // OpenSSL accepts a certificate with no EKU extension at all; clientIdentity() refuses it
        assert.deepEqual(await talk(server, m.ca, clients['no EKU'], version), { kind: 'greeted', text: `rejected ${ErrorCodes.PKI_CLIENT_REJECTED}` });
      } finally {
        await server.close();
      }
    });
  }

  test("why: OpenSSL's verdicts (revoked, unknown issuer, wrong purpose)", async () => {
    const m = loadTlsMaterial(dir);
    const server = await startServer(tlsServerOptions(dir), true);
    try {
      const verdict = async (name: string) => {
        const r = await talk(server, m.ca, clients[name], 'TLSv1.3');
        assert.equal(r.kind, 'greeted');
        return (r as { text: string }).text;
      };
      assert.equal(await verdict('good'), 'verdict authorized');
      assert.equal(await verdict('revoked'), 'verdict CERT_REVOKED');
      assert.equal(await verdict('other CA'), 'verdict UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      // with requestCert, OpenSSL checks the peer for the "SSL client" purpose: an EKU without clientAuth fails
      assert.equal(await verdict('serverAuth only'), 'verdict INVALID_PURPOSE');
      assert.equal(await verdict('no EKU'), 'verdict authorized');
    } finally {
      await server.close();
    }
  });

  test('the client verifies the server by IP (127.0.0.1, ::1) and name', async () => {
    const m = loadTlsMaterial(dir);
    const v4 = await startServer(tlsServerOptions(dir));
    try {
      assert.equal((await talk(v4, m.ca, clients['good'], 'TLSv1.3')).kind, 'greeted');
      const byName = await new Promise<boolean>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: v4.port, servername: 'localhost', ca: m.ca, ...clients['good'] }, () => {
          resolve(s.authorized);
          s.destroy();
        });
        s.on('error', () => resolve(false));
      });
      assert.equal(byName, true);
    } finally {
      await v4.close();
    }
    let v6: TestServer | undefined;
    try {
      v6 = await startServer(tlsServerOptions(dir), false, '::1');
    } catch {
      return; // no IPv6 loopback here
    }
    try {
      assert.equal((await talk(v6, m.ca, clients['good'], 'TLSv1.3')).kind, 'greeted');
    } finally {
      await v6.close();
    }
  });

  test('an expired CRL fails every handshake; refreshCrl() restores service', async () => {
    await refreshCrl(dir, { now: new Date(Date.now() - 40 * 86_400_000), days: 30 });
    let m = loadTlsMaterial(dir);
    let diag = await startServer(tlsServerOptions(dir), true);
    try {
      assert.deepEqual(await talk(diag, m.ca, clients['good'], 'TLSv1.3'), { kind: 'greeted', text: 'verdict CRL_HAS_EXPIRED' });
    } finally {
      await diag.close();
    }
    const r = await refreshCrl(dir, { ifExpiresWithinDays: 7 });
    assert.equal(r.resigned, true);
    m = loadTlsMaterial(dir);
    diag = await startServer(tlsServerOptions(dir));
    try {
      assert.deepEqual(await talk(diag, m.ca, clients['good'], 'TLSv1.3'), { kind: 'greeted', text: `hello ${goodSubject}` });
      assert.equal((await talk(diag, m.ca, clients['revoked'], 'TLSv1.3')).kind, 'refused', 'revocations survive the refresh');
    } finally {
      await diag.close();
    }
  });

  test('clientIdentity refuses a missing certificate', () => {
    assert.throws(() => clientIdentity(undefined), (e: unknown) => e instanceof KeyhavenError && e.code === ErrorCodes.PKI_CLIENT_REJECTED);
  });
});
