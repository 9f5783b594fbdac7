// Helpers for the store, audit and redaction suites: KMIP requests with known key bytes, a key
// server run as a real subprocess (`keyhaven serve`), and searching raw files for bytes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  byteString, child, enumeration, integer, structure, textString, type StructureItem,
} from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import type { KmipTestClient } from '../support/kmip-client.js';
import { attribute, av, parseResponse, request, withUid, type BatchItemSpec, type ParsedResponse } from '../support/requests.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const KEYHAVEN = join(ROOT, 'appliance/bin/keyhaven.js');

/** Register of a raw AES key with the given bytes (KMIP 1.4 §4.3). */
export function registerAes(material: Buffer, extra: StructureItem[] = []): BatchItemSpec {
  return {
    operation: Enum.Operation.Register,
    payload: [
      enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
      structure(Tag.TemplateAttribute, [attribute('Cryptographic Usage Mask', av.int(12)), ...extra]),
      structure(Tag.SymmetricKey, [
        structure(Tag.KeyBlock, [
          enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
          structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, material)]),
          enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
          integer(Tag.CryptographicLength, material.length * 8),
        ]),
      ]),
    ],
  };
}

/** Register of secret data (a password) with the given bytes (KMIP 1.4 §2.2.7). */
export function registerSecret(bytes: Buffer): BatchItemSpec {
  return {
    operation: Enum.Operation.Register,
    payload: [
      enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
      structure(Tag.TemplateAttribute, [attribute('Cryptographic Usage Mask', av.int(12))]),
      structure(Tag.SecretData, [
        enumeration(Tag.SecretDataType, Enum.SecretDataType.Password),
        structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, bytes)])]),
      ]),
    ],
  };
}

export const getItem = (uid: string): BatchItemSpec => withUid(Enum.Operation.Get, uid);
export const destroyItem = (uid: string): BatchItemSpec => withUid(Enum.Operation.Destroy, uid);

export async function send(client: KmipTestClient, items: BatchItemSpec[], opts: { minor?: number } = {}): Promise<ParsedResponse> {
  return parseResponse(await client.send(request(items, opts)));
}

/** The Unique Identifier of a successful batch item, or a thrown description of the failure. */
export function uidOf(r: ParsedResponse, i = 0): string {
  const it = r.items[i];
  if (!it || it.status !== Enum.ResultStatus.Success) {
    throw new Error(`batch item ${i} failed: reason ${it?.reason} ${it?.message ?? ''}`);
  }
  return child(it.payload!, Tag.UniqueIdentifier)!.value as string;
}

/** The raw key bytes of a successful Get of a symmetric key. */
export function keyBytesOf(r: ParsedResponse, i = 0): Buffer {
  const it = r.items[i];
  if (!it || it.status !== Enum.ResultStatus.Success) throw new Error(`Get failed: reason ${it?.reason} ${it?.message ?? ''}`);
  const key = child(it.payload!, Tag.SymmetricKey) as StructureItem;
  const block = child(key, Tag.KeyBlock) as StructureItem;
  const value = child(block, Tag.KeyValue) as StructureItem;
  return child(value, Tag.KeyMaterial)!.value as Buffer;
}

/** Every Text String anywhere in a message (Result Messages, names, ...). */
export function allText(item: StructureItem): string[] {
  const out: string[] = [];
  const walk = (s: StructureItem) => {
    for (const c of s.value) {
      if (c.type === 0x01) walk(c);
      else if (c.type === 0x07) out.push(c.value);
    }
  };
  walk(item);
  return out;
}

/**
 * The encodings of `secret` to look for: raw, hex (both cases), base64 and base64url at each of the
 * three alignments it can have inside a longer encoded buffer, and 12-byte raw windows.
 */
export function needles(secret: Buffer): { name: string; bytes: Buffer }[] {
  const out = [
    { name: 'raw', bytes: secret },
    { name: 'hex', bytes: Buffer.from(secret.toString('hex')) },
    { name: 'HEX', bytes: Buffer.from(secret.toString('hex').toUpperCase()) },
  ];
  for (let k = 0; k < 3; k++) {
    // Only the whole 3-byte groups: their 4 characters do not depend on the neighbouring bytes.
    const part = secret.subarray(k, k + Math.floor((secret.length - k) / 3) * 3);
    out.push({ name: `base64@${k}`, bytes: Buffer.from(part.toString('base64')) });
    out.push({ name: `base64url@${k}`, bytes: Buffer.from(part.toString('base64url')) });
  }
  // Any 12-byte piece of it: catches a key stored split or partly.
  for (let i = 0; i + 12 <= secret.length; i += 4) out.push({ name: `raw[${i}..${i + 12}]`, bytes: secret.subarray(i, i + 12) });
  return out;
}

export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Where any encoding of `secret` occurs in the given files or buffers: "file: encoding" lines. */
export function findSecret(secret: Buffer, sources: { name: string; data: Buffer }[]): string[] {
  const hits: string[] = [];
  for (const src of sources) {
    for (const n of needles(secret)) if (src.data.includes(n.bytes)) hits.push(`${src.name}: ${n.name}`);
  }
  return hits;
}

export const readFiles = (files: string[]) => files.map((f) => ({ name: f, data: readFileSync(f) }));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Writes a configuration file for `keyhaven serve`. */
export function writeConfig(file: string, dataDir: string, port: number, extra: Record<string, unknown> = {}): string {
  writeFileSync(file, JSON.stringify({ dataDir, listeners: { kmip: { host: '127.0.0.1', port } }, ...extra }, null, 2));
  return file;
}

export type StartOutcome = { started: ServerProcess } | { refused: { code: number | null; stdout: string; stderr: string } };

/**
 * Starts `keyhaven serve`: resolves with the running server, or with its exit when it refuses to
 * start.
 */
export function tryStart(configFile: string, timeoutMs = 30_000): Promise<StartOutcome> {
  return tryStartWith(['serve', '--config', configFile], timeoutMs);
}

/** Starts `keyhaven ARGS` (serve, dev) the same way. */
export async function tryStartWith(args: string[], timeoutMs = 30_000): Promise<StartOutcome> {
  const child = spawn(process.execPath, [KEYHAVEN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise<StartOutcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server neither started nor exited in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    const check = () => {
      if (!out.includes('key server started')) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve({ started: { child, stdout: () => out, stderr: () => err, exited } });
    };
    child.stdout.on('data', check);
    void exited.then((e) => {
      clearTimeout(timer);
      resolve({ refused: { code: e.code, stdout: out, stderr: err } });
    });
  });
}

/** Starts `keyhaven serve --config FILE` and waits until it logs that it is serving. */
export async function startServerProcess(configFile: string, timeoutMs = 20_000): Promise<ServerProcess> {
  const r = await tryStart(configFile, timeoutMs);
  if ('refused' in r) throw new Error(`server exited (${r.refused.code}) before starting\nstdout: ${r.refused.stdout}\nstderr: ${r.refused.stderr}`);
  return r.started;
}

/** Runs the keyhaven CLI to completion; `input`, when given, is its standard input. */
export function runCli(args: string[], timeoutMs = 30_000, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYHAVEN, ...args], { cwd: ROOT, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keyhaven ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export { textString };
