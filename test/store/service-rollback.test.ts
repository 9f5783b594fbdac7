// KmipService runs each request in a savepoint (kh_msg): a request whose response cannot be encoded
// is answered General Failure, and then nothing it wrote may stay behind (handle-request.ts
// undoWrites), or the client would be told of a failure while the change was committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../server/audit/audit-log.js';
import { enumeration } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { KmipService } from '../../server/kmip-service.js';
import { openDatabase } from '../../server/store/database.js';
import { WalDurability } from '../../server/store/durability.js';
import { KeyStore } from '../../server/store/key-store.js';
import { deriveKeys } from '../../server/store/master-key.js';
import { createAes, parseResponse, request } from '../support/requests.js';

function service(vendor: string) {
  const dir = mkdtempSync(join(tmpdir(), 'keyhaven-svc-'));
  const path = join(dir, 'keyhaven.db');
  const { db } = openDatabase(path, { create: true });
  const keys = deriveKeys(randomBytes(32));
  const store = new KeyStore(db, keys);
  const durability = new WalDurability(`${path}-wal`);
  const internal: unknown[] = [];
  const svc = new KmipService({
    store,
    audit: new AuditLog(db, keys.audit),
    durability,
    server: { vendor, product: 'test', version: '0' },
    limits: { maxLocateItems: 10, maxLocateScan: 20_000 },
    maxResponseSize: 1 << 20,
    authenticate: () => undefined,
    onInternalError: (e) => internal.push(e),
  });
  const send = (raw: Buffer) => new Promise<Buffer>((resolve, reject) => {
    svc.handle(raw, { identity: 'CN=test', address: '127.0.0.1' }, (r) => (Buffer.isBuffer(r) ? resolve(r) : reject(r)));
  });
  const close = () => {
    durability.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { svc, store, send, internal, close };
}

const createThenQuery = request([
  createAes(),
  { operation: Enum.Operation.Query, payload: [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryServerInformation)] },
]);

test('a response that cannot be encoded is a General Failure, and the request wrote nothing', async () => {
  // A vendor name with a lone surrogate has no UTF-8 encoding (KMIP 1.4 §9.1.1.4 Text String): the
  // Query's response cannot be encoded after the Create in the same batch has written its key.
  const s = service('bad \ud800 vendor');
  try {
    const r = parseResponse(await s.send(createThenQuery));
    assert.equal(r.items.length, 1);
    assert.equal(r.items[0]!.reason, Enum.ResultReason.GeneralFailure);
    assert.match(r.items[0]!.message ?? '', /could not encode its response/);
    assert.equal(s.internal.length, 1, 'the encoding error reaches the operator log');
    assert.equal(s.store.count().objects, 0, "the Create's key was rolled back");
  } finally {
    s.close();
  }
});

test('the same batch with an encodable response keeps its write (the control)', async () => {
  const s = service('test');
  try {
    const r = parseResponse(await s.send(createThenQuery));
    assert.deepEqual(r.items.map((i) => i.status), [Enum.ResultStatus.Success, Enum.ResultStatus.Success]);
    assert.equal(s.store.count().objects, 1);
  } finally {
    s.close();
  }
});

test('whenNoTransaction runs at once between epochs, and just after the open epoch commits otherwise', async () => {
  const s = service('test');
  try {
    const seen: string[] = [];
    s.svc.whenNoTransaction(() => seen.push(`idle:${s.store.db.inTransaction}`));
    assert.deepEqual(seen, ['idle:false'], 'no epoch open: at once');
    const answered = s.send(request([createAes()]));
    assert.equal(s.store.db.inTransaction, true, 'the request opened an epoch');
    s.svc.whenNoTransaction(() => seen.push(`after:${s.store.db.inTransaction}:${s.store.count().objects}`));
    assert.equal(seen.length, 1, 'not inside the open epoch');
    await answered;
    assert.deepEqual(seen, ['idle:false', 'after:false:1'], 'after the commit, which holds the Create');
  } finally {
    s.close();
  }
});
