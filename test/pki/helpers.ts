// Shared helpers for the PKI tests: temporary directories, openssl, file modes, error matching.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { KeyhavenError, type ErrorCode } from '../../server/errors.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `keyhaven-${prefix}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function openssl(args: string[], input?: string | Buffer): Run {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** openssl that must succeed; returns stdout + stderr. */
export function opensslOk(args: string[], input?: string | Buffer): string {
  const r = openssl(args, input);
  assert.equal(r.status, 0, `openssl ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout + r.stderr;
}

export function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** Asserts that `fn` rejects with a KeyhavenError of `code` whose message matches `message`. */
export async function rejectsWith(fn: () => Promise<unknown> | unknown, code: ErrorCode, message?: RegExp): Promise<KeyhavenError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KeyhavenError, `expected KeyhavenError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** A writable stream that keeps what is written to it. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** Every file below dir (recursively). */
export function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/** A CSR made by `openssl req -new` with a fresh key (dir/name.key), as a client would hand it over. */
export function opensslCsr(dir: string, name: string, args: string[]): string {
  const out = path.join(dir, `${name}.csr`);
  opensslOk(['req', '-new', '-nodes', '-keyout', path.join(dir, `${name}.key`), '-out', out, ...args]);
  return fs.readFileSync(out, 'utf8');
}
