// Shared by the net and fuzz tests: audit-log inspection and a health check of a running server.
import assert from 'node:assert/strict';
import { enumeration } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import type { AuditRecord } from '../../server/audit/audit-log.js';
import type { ClientFiles } from '../support/kmip-client.js';
import { RawConnection } from '../support/raw-connection.js';
import { createAes, field, parseResponse, request, withUid } from '../support/requests.js';
import type { TestServer } from '../support/server.js';

export const queryRequest = (): Buffer =>
  request([{ operation: Enum.Operation.Query, payload: [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)] }]);

/** Sequence number of the newest audit record. */
export function lastSeq(ts: TestServer): number {
  return ts.server.audit.tail(1)[0]?.seq ?? 0;
}

/** Audit records appended after `seq`, oldest first. */
export function auditSince(ts: TestServer, seq: number): AuditRecord[] {
  return ts.server.audit.tail(100_000).filter((r) => r.seq > seq);
}

/** Waits (polling) until a record after `seq` satisfies `pred`; returns all records after `seq`. */
export async function waitForAudit(ts: TestServer, seq: number, pred: (r: AuditRecord) => boolean, timeoutMs = 3000): Promise<AuditRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = auditSince(ts, seq);
    if (records.some(pred) || Date.now() > deadline) return records;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Operations that are not KMIP requests: connection-level events. */
export const CONNECTION_EVENTS = new Set(['Handshake', 'Connection']);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A fresh connection does Query and a Create / Get / Destroy round trip correctly. */
export async function assertHealthy(ts: { port: number; dev: ClientFiles }, files: ClientFiles = ts.dev): Promise<void> {
  const c = await RawConnection.connect(ts.port, files);
  try {
    const q = await c.roundTrip(queryRequest());
    assert.ok(q, 'the server answers Query on a new connection');
    assert.equal(parseResponse(q).items[0]?.status, Enum.ResultStatus.Success);
    const created = parseResponse((await c.roundTrip(request([createAes(256)])))!);
    assert.equal(created.items[0]?.status, Enum.ResultStatus.Success, `Create: ${created.items[0]?.message}`);
    const uid = field<string>(created.items[0]?.payload, Tag.UniqueIdentifier);
    assert.ok(uid);
    const got = parseResponse((await c.roundTrip(request([withUid(Enum.Operation.Get, uid)])))!);
    assert.equal(got.items[0]?.status, Enum.ResultStatus.Success, `Get: ${got.items[0]?.message}`);
    assert.equal(field<string>(got.items[0]?.payload, Tag.UniqueIdentifier), uid);
    const destroyed = parseResponse((await c.roundTrip(request([withUid(Enum.Operation.Destroy, uid)])))!);
    assert.equal(destroyed.items[0]?.status, Enum.ResultStatus.Success, `Destroy: ${destroyed.items[0]?.message}`);
  } finally {
    c.close();
  }
}
