// Helpers for the rollback suites: a server start that may be refused, copying and restoring the
// store's files, the sqlite3 command-line tool on a (possibly live) database, and KMIP lifecycle
// requests (Activate, Revoke as compromised, the State attribute).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { child, enumeration, structure, textString, type StructureItem } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import type { KmipTestClient } from '../support/kmip-client.js';
import { createAes, withUid, type BatchItemSpec } from '../support/requests.js';
import { send, tryStart, uidOf, type ServerProcess } from './helpers.js';

export const STORE_FILES = ['keyhaven.db', 'keyhaven.db-wal'];

export const revokeCompromised = (uid: string): BatchItemSpec =>
  withUid(Enum.Operation.Revoke, uid, [structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.KeyCompromise)])]);

/** Creates an AES key and activates it in one batch (ID Placeholder); returns its identifier. */
export async function createActiveKey(c: KmipTestClient): Promise<string> {
  const r = await send(c, [createAes(), withUid(Enum.Operation.Activate)]);
  assert.equal(r.items[1]?.status, Enum.ResultStatus.Success, `Activate: ${r.items[1]?.message}`);
  return uidOf(r);
}

export async function revoke(c: KmipTestClient, uid: string): Promise<void> {
  const r = await send(c, [revokeCompromised(uid)]);
  assert.equal(r.items[0]?.status, Enum.ResultStatus.Success, `Revoke: ${r.items[0]?.message}`);
}

/** The State attribute of an object (KMIP 1.4 §3.22), or undefined when the request fails. */
export async function stateOf(c: KmipTestClient, uid: string): Promise<number | undefined> {
  const r = await send(c, [withUid(Enum.Operation.GetAttributes, uid, [textString(Tag.AttributeName, 'State')])]);
  const payload = r.items[0]?.payload;
  const attr = payload?.value.find((x) => x.tag === Tag.Attribute) as StructureItem | undefined;
  return attr ? (child(attr, Tag.AttributeValue)?.value as number) : undefined;
}

/** Copies the database and its WAL (when there is one) into `to`. */
export function copyStore(dir: string, to: string, files = STORE_FILES): void {
  mkdirSync(to, { recursive: true });
  for (const f of files) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(to, f));
}

/** Puts a copy back: the current files (and the shared-memory index) are replaced by the copy's. */
export function restoreStore(from: string, dir: string, files = STORE_FILES): void {
  for (const f of [...files, 'keyhaven.db-shm']) rmSync(join(dir, f), { force: true });
  for (const f of files) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(dir, f));
}

/** Runs the sqlite3 command-line tool on a database file; throws with its stderr on failure. */
export function sqlite3(db: string, sql: string): string {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Asserts that the server refuses to start, with `code` and a message matching each pattern. */
export async function assertRefused(configFile: string, code: string, ...patterns: RegExp[]): Promise<string> {
  const r = await tryStart(configFile);
  if ('started' in r) {
    r.started.child.kill('SIGKILL');
    await r.started.exited;
    assert.fail(`the server started, but it must refuse with ${code}`);
  }
  assert.equal(r.refused.code, 1, `exit code\n${r.refused.stderr}`);
  assert.ok(r.refused.stderr.includes(`[${code}]`), `refused with ${code}:\n${r.refused.stderr}`);
  for (const p of patterns) assert.match(r.refused.stderr, p);
  return r.refused.stderr;
}

/** Stops a server with SIGTERM and checks it stopped cleanly. */
export async function stopClean(s: ServerProcess): Promise<void> {
  s.child.kill('SIGTERM');
  const e = await s.exited;
  assert.equal(e.code, 0, `clean stop: ${s.stderr()}`);
}

export function readAnchorJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
