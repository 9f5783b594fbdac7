// A reload of PKI files that did not change changes nothing: a renewal makes two reload requests
// (the admin helper's SIGHUP and the listener's watch of server.crt), and the second must not rotate
// the session ticket keys again. A TLS session ticket shows it: it resumes after a reload of the same
// files, and not after a reload of changed ones (a CRL that revokes someone).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { issueClient, revoke } from '../../server/pki/index.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => {
  await ts?.stop();
});

/**
 * Connects with TLS 1.3, resuming `session` if given: whether it resumed and, for a full handshake,
 * the first session ticket the server sent (TLS 1.3 sends them after the handshake), within 10 s.
 */
function connect(files: ClientFiles, session?: Buffer): Promise<{ reused: boolean; ticket?: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: ts.port,
      servername: 'localhost',
      ca: readFileSync(files.ca),
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      minVersion: 'TLSv1.3',
      ...(session ? { session } : {}),
    });
    const done = (err: Error | undefined, r?: { reused: boolean; ticket?: Buffer }) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(r!);
    };
    const timer = setTimeout(() => done(new Error('no handshake, or no session ticket after it, within 10 s')), 10_000);
    socket.once('error', (err) => done(err));
    socket.once('secureConnect', () => {
      if (socket.isSessionReused()) done(undefined, { reused: true });
      else socket.once('session', (ticket: Buffer) => done(undefined, { reused: false, ticket }));
    });
  });
}

test('a reload of unchanged files keeps the ticket keys; a changed CRL rotates them', async () => {
  const first = await connect(ts.dev);
  assert.equal(first.reused, false, 'the first connection is a full handshake');
  const ticket = first.ticket;
  assert.ok(ticket, 'the server sent a session ticket');
  assert.equal((await connect(ts.dev, ticket)).reused, true, 'the ticket resumes while nothing is reloaded');

  assert.equal(ts.server.reloadTls(), true, 'the reload of the same files succeeds');
  assert.equal((await connect(ts.dev, ticket)).reused, true, 'and the ticket still resumes: nothing was reloaded');

  // Revoking another client changes crl.pem: a real reload, with new ticket keys.
  await issueClient(ts.dir, { name: 'revoked-for-reload', bits: 2048 });
  await revoke(ts.dir, { name: 'revoked-for-reload' }, 'superseded');
  assert.equal(ts.server.reloadTls(), true);
  assert.equal((await connect(ts.dev, ticket)).reused, false, 'after the CRL changed, an old ticket no longer resumes');
});
