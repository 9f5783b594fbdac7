// A real key server for tests: temporary data directory, dev PKI (2048-bit keys to keep tests
// quick), ephemeral port, silent logger. Also a second client identity for access-control tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig, type Config } from '../../server/config.js';
import { ensureDevPki, issueClient, pkiPaths } from '../../server/pki/index.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { KmipTestClient, type ClientFiles } from './kmip-client.js';

export interface TestServer {
  dir: string;
  port: number;
  server: RunningServer;
  dev: ClientFiles;
  client(files?: ClientFiles): Promise<KmipTestClient>;
  /** Issues another client certificate (another identity) from the same CA. */
  issue(name: string): Promise<ClientFiles>;
  stop(): Promise<void>;
}

export async function prepareDataDir(dir?: string): Promise<{ dir: string; dev: ClientFiles }> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'keyhaven-test-'));
  const pki = await ensureDevPki(d, { bits: 2048 });
  return { dir: d, dev: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } };
}

export async function startTestServer(overrides: Partial<Config> & Record<string, unknown> = {}, options: { clock?: () => number } = {}): Promise<TestServer> {
  const { dir, dev } = await prepareDataDir();
  const config = parseConfig({ dataDir: dir, listeners: { kmip: { host: '127.0.0.1', port: 6000 } }, ...overrides }, 'test');
  // An ephemeral port: the schema (rightly) wants 1..65535 in a real configuration file.
  if (!('listeners' in overrides)) config.listeners.kmip.port = 0;
  const server = await startServer(config, pino({ level: 'silent' }), options);
  return {
    dir,
    port: server.kmip.port,
    server,
    dev,
    client: (files = dev) => KmipTestClient.connect(server.kmip.port, files),
    async issue(name) {
      const r = await issueClient(dir, { name, bits: 2048 });
      return { ca: pkiPaths(dir).caCert, cert: r.certPath, key: r.keyPath! };
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A test server and a client of its dev identity for the enclosing suite (or file): started in
 * before(), stopped in after(). Read `ts` and `c` inside tests, once before() has run.
 */
export function serverForSuite(overrides: Partial<Config> & Record<string, unknown> = {}): { readonly ts: TestServer; readonly c: KmipTestClient } {
  const suite = {} as { ts: TestServer; c: KmipTestClient };
  before(async () => {
    suite.ts = await startTestServer(overrides);
    suite.c = await suite.ts.client();
  });
  after(async () => {
    suite.c?.close();
    await suite.ts?.stop();
  });
  return suite;
}
