// Fills a Keyhaven key store with N keys quickly, with the server stopped: each key is made by the
// server's own request path (handleRequest -> Create -> storeNewObject -> KeyStore.insert) from the
// same pre-encoded Create request the load generator sends, so the rows (attributes, digest, wrapped
// material, row seal, index entries) are exactly those a Create over KMIP produces, and each gets
// the audit record KmipService writes for a Create (so the store's audit chain and sealed head are
// consistent: the server finds nothing to report when it opens it). Only the TLS connection and the
// per-request transaction and fsync are skipped: keys are inserted in large transactions instead.
//
// With `mirrored`, the store must belong to a mirror group already (its server started once with a
// mirror port): the change log is attached to the store as the running server attaches it, so each
// key gets its replica, its place in the log and its share of the group digest in the insert itself,
// exactly as a Create on a mirroring server (rather than being adopted into the log at the next start).
import { createSecretKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import pino from 'pino';
import { parseConfig, type Config } from '../../server/config.js';
import { RequestRsaKeys, RsaKeyPool } from '../../server/ops/material/rsa-key-pool.js';
import { handleRequest, type RequestEnvironment } from '../../server/ops/pipeline/handle-request.js';
import type { KeyStore } from '../../server/store/key-store.js';
import { ChangeLog } from '../../server/mirror/change-log.js';
import { GroupState } from '../../server/mirror/group-state.js';
import { clientIdentity } from '../../server/pki/index.js';
import { openStore, PRODUCT } from '../../server/server.js';
import { checkCreate } from './ttlv-scan.js';

export interface FillResult {
  keys: number;
  seconds: number;
  /** Database file size after the fill (WAL checkpointed). */
  dbBytes: number;
  uids: string[];
}

/** The identity Keyhaven derives from a client certificate (the owner of what that client creates). */
export function identityOf(certFile: string): string {
  return clientIdentity(new X509Certificate(readFileSync(certFile)));
}

/** What handleRequest needs to run requests of `owner` against `store` outside a server. */
export function requestEnvironment(config: Config, store: KeyStore, owner: string, onInternalError: (err: unknown) => void): RequestEnvironment {
  return {
    identity: owner,
    store,
    server: PRODUCT,
    limits: { maxLocateItems: config.limits.maxLocateItems, maxLocateScan: config.limits.maxLocateScan },
    maxResponseSize: config.limits.maxResponseBytes,
    maxBatchItems: config.limits.maxBatchItems,
    rsaKeys: new RequestRsaKeys(new RsaKeyPool()),
    // Symmetric keys only; no credentials are configured.
    authenticate: () => undefined,
    onInternalError,
    now: () => Math.floor(Date.now() / 1000),
  };
}

export function fillStore(
  dataDir: string,
  n: number,
  owner: string,
  createRequest: Buffer,
  onProgress?: (done: number) => void,
  options: { mirrored?: boolean } = {},
): FillResult {
  const config = parseConfig({ dataDir, listeners: { kmip: { host: '127.0.0.1', port: 1 } }, log: { level: 'silent' } }, 'bench');
  const { db, store, audit, paths } = openStore(config, { create: !options.mirrored });
  if (options.mirrored) {
    // As MirrorService.start attaches it.
    const group = new GroupState(db, store);
    const id = group.identity();
    if (!id) {
      db.close();
      throw new Error(`${dataDir} is not in a mirror group: start its server once with a mirror port first`);
    }
    const key = group.groupKey();
    store.attachRecorder(new ChangeLog(db, store, id.node, createSecretKey(key)));
    key.fill(0);
  }
  const log = pino({ level: 'silent' });
  const env = requestEnvironment(config, store, owner, (err) => log.error({ err }, 'internal error'));
  const started = performance.now();
  const BATCH = 25_000;
  try {
    for (let done = 0; done < n; ) {
      const upto = Math.min(n, done + BATCH);
      db.exec('BEGIN IMMEDIATE');
      for (; done < upto; done++) {
        const r = handleRequest(createRequest, env);
        const ok = checkCreate(r.response);
        if (!ok.ok) throw new Error(`Create failed while filling the store: ${ok.error}`);
        // As KmipService.audit records each operation of a request.
        const time = new Date().toISOString();
        for (const o of r.outcomes) {
          audit.append({ time, identity: owner, address: '127.0.0.1', operation: o.operation, objectId: o.objectIds.join(','), result: o.result, reason: o.reason });
        }
      }
      store.flushDeferred();
      audit.sealHead();
      db.exec('COMMIT');
      onProgress?.(done);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    const seconds = (performance.now() - started) / 1000;
    const uids = db.prepare('SELECT uid FROM objects WHERE material IS NOT NULL ORDER BY seq').pluck().all() as string[];
    return { keys: n, seconds, dbBytes: statSync(paths.database).size, uids };
  } finally {
    db.close();
  }
}
