// Shared by the net and fuzz tests: audit-log inspection and a health check of a running server.
import assert from 'node:assert/strict';
import net from 'node:net';
import type tls from 'node:tls';
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

/**
 * A raw TCP connection to the listener that sends `send` (default nothing) and then stays silent: a
 * client that never completes a TLS handshake. `from` is the local address to bind: Linux routes
 * all of 127.0.0.0/8 to loopback, so 127.0.0.2, 127.0.0.3… act as distinct client addresses.
 */
export interface SilentSocket {
  socket: net.Socket;
  from: string;
  /** Milliseconds from connect until the server closed it; undefined while open. */
  closedAfterMs: number | undefined;
  readonly whenClosed: Promise<void>;
}

export function openSilent(port: number, from: string, send?: Buffer): Promise<SilentSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let connectedAt = 0;
    let closeResolve!: () => void;
    const s: SilentSocket = { socket, from, closedAfterMs: undefined, whenClosed: new Promise((r) => (closeResolve = r)) };
    socket.on('error', () => {}); // resets by the server are expected; 'close' follows
    socket.once('connect', () => {
      connectedAt = Date.now();
      if (send) socket.write(send);
      resolve(s);
    });
    socket.once('close', () => {
      if (!connectedAt) reject(new Error(`connection from ${from} failed`));
      s.closedAfterMs = Date.now() - connectedAt;
      closeResolve();
    });
  });
}

/** Opens `count` silent sockets from each address, all at once. */
export async function openSilentFrom(port: number, from: string[], count = 1): Promise<SilentSocket[]> {
  return Promise.all(from.flatMap((a) => Array.from({ length: count }, () => openSilent(port, a))));
}

/** 127.0.0.first … 127.0.0.(first + n - 1). */
export const loopbackRange = (first: number, n: number): string[] => Array.from({ length: n }, (_, i) => `127.0.0.${first + i}`);

/** Audit records of refused connections (operation Handshake) from `address`. */
export const refusalsFrom = (records: AuditRecord[], address: string): AuditRecord[] =>
  records.filter((r) => r.operation === 'Handshake' && r.address === address && /^refused: /.test(r.reason));

/** tls.connect options to connect from this local address (a net option tls.connect passes on). */
export const fromAddress = (localAddress: string) => ({ localAddress }) as tls.ConnectionOptions;
