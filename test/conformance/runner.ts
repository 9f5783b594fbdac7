// Runs OASIS KMIP test cases against a live server: each RequestMessage is sent (placeholders
// filled in), each ResponseMessage compared with compare.ts's permitted variations.
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { decode } from '../../server/kmip/decode.js';
import { encode } from '../../server/kmip/encode.js';
import type { Item } from '../../server/kmip/item.js';
import { Enum, ENUM_VALUE_NAMES, Tag } from '../../server/kmip/tables.js';
import { printItem } from '../../server/kmip/ttlv-print.js';
import type { KmipTestClient } from '../support/kmip-client.js';
import { compareResponse, type Bindings } from './compare.js';
import { readTestCase, type XItem } from './testcase-xml.js';

export interface CaseResult {
  file: string;
  status: 'pass' | 'fail' | 'skip';
  /** Why it failed or was skipped. */
  detail?: string;
  /** The response that differed, printed item by item (server/kmip/ttlv-print.ts). */
  response?: string;
}

/** Test case files under a directory, in a stable order. */
export function listCases(dir: string): string[] {
  const out: string[] = [];
  (function walk(d: string) {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.xml')) out.push(p);
    }
  })(dir);
  return out;
}

/** Mandatory test cases of the profiles (KMIP Profiles 1.2 §5: "-M-" cases and the TC basic cases). */
export const isMandatory = (file: string) => /(_M_|-M-)/.test(basename(file)) || /^TC[_-]/.test(basename(file));

/**
 * Cases that form one scenario and must run as the same client: the storage array (SASED-M-1/2/3)
 * and tape library (TL-M-1/2/3) profiles configure, write, then read back. Every other case is
 * its own scenario.
 */
export function scenarioOf(file: string): string {
  const family = /^(SASED|TL)[_-]/.exec(basename(file))?.[1];
  return family ? join(dirname(file), family) : file;
}

class Unresolvable extends Error {}

/** Replaces symbols in a request; collects the byte strings the client sends. */
function resolve(x: XItem, b: Bindings, now: number): Item {
  const v = x.value as unknown;
  if (x.type === 0x01) return { tag: x.tag, type: 0x01, value: (v as XItem[]).map((c) => resolve(c, b, now)) };
  if (typeof v === 'object' && v !== null && 'symbol' in v && !Buffer.isBuffer(v)) {
    const sym = (v as { symbol: string }).symbol;
    const m = /^\$NOW([+-]\d+)?$/.exec(sym);
    if (m) return { tag: x.tag, type: 0x09, value: now + Number(m[1] ?? 0) } as Item;
    const bound = b.symbols.get(sym);
    if (bound === undefined) throw new Unresolvable(`the request uses ${sym}, which this runner cannot supply`);
    if (x.type === 0x07) b.sentText.add(String(bound));
    return { tag: x.tag, type: x.type, value: bound } as Item;
  }
  if (x.type === 0x08) b.sentBytes.add((v as Buffer).toString('hex'));
  if (x.type === 0x07) b.sentText.add(v as string);
  return { tag: x.tag, type: x.type, value: v } as Item;
}

function firstItemField(message: { value: unknown }, tag: number): unknown {
  const bi = (message.value as { tag: number; value: unknown }[]).find((c) => c.tag === Tag.BatchItem);
  return bi ? (bi.value as { tag: number; value: unknown }[]).find((c) => c.tag === tag)?.value : undefined;
}
const PENDING = 2; // Result Status Operation Pending
const expectsPending = (r: XItem) => firstItemField(r, Tag.ResultStatus) === PENDING;
const isPending = (r: Item) => firstItemField(r, Tag.ResultStatus) === PENDING;
const pollOrCancel = (r: XItem) => {
  const op = firstItemField(r, Tag.Operation);
  return op === Enum.Operation.Poll || op === Enum.Operation.Cancel;
};

function operationOf(message: Item): string {
  if (message.type !== 0x01) return '?';
  const bi = message.value.find((c) => c.tag === Tag.BatchItem);
  const op = bi?.type === 0x01 ? bi.value.find((c) => c.tag === Tag.Operation) : undefined;
  return op?.type === 0x05 ? ENUM_VALUE_NAMES.Operation.get(op.value) ?? String(op.value) : '?';
}

/** Sets the server's KMIP clock (seconds); absent when the server's clock cannot be controlled. */
export type ReplayClock = ((seconds: number) => void) | undefined;

/** The Time Stamp the reference run recorded in an expected response. */
function recordedTime(response: XItem | undefined): number | undefined {
  const header = response && (response.value as XItem[]).find((c) => c.tag === Tag.ResponseHeader);
  const ts = header && (header.value as XItem[]).find((c) => c.tag === Tag.TimeStamp);
  return typeof ts?.value === 'number' ? ts.value : undefined;
}

/** Receives every response of a case (exchange numbered from 1; `start`: the case's first clock reading). */
export type ResponseObserver = (file: string, exchange: number, start: number, response: Item) => void;

export async function runCase(file: string, connect: (file: string) => Promise<KmipTestClient>, setClock?: ReplayClock, observe?: ResponseObserver): Promise<CaseResult> {
  let exchanges;
  try {
    exchanges = readTestCase(file);
  } catch (err) {
    return { file, status: 'skip', detail: `cannot read the test case: ${(err as Error).message}` };
  }
  const bindings: Bindings = { symbols: new Map(), sentBytes: new Set(), sentText: new Set() };
  const client = await connect(file);
  // With an observer the case runs on after a failure; whatever ends it, the first failure stands.
  let firstFailure: CaseResult | undefined;
  try {
    let now = Math.floor(Date.now() / 1000);
    const start = now;
    // KMIP 1.4 §6.7: a server may answer an Asynchronous Indicator request synchronously. The
    // recorded run answered Operation Pending and then the result to a Poll; this server's direct
    // answer stands in for that Poll's, and a Cancel of an operation that already finished is moot.
    let completed: Item | undefined;
    for (const [i, ex] of exchanges.entries()) {
      if (completed && pollOrCancel(ex.request)) {
        const diffs = ex.response && firstItemField(ex.request, Tag.Operation) === Enum.Operation.Poll ? compareResponse(ex.response, completed, bindings) : [];
        completed = undefined;
        if (diffs.length > 0) return firstFailure ?? { file, status: 'fail', detail: `exchange ${i + 1} (Poll, answered synchronously): ${diffs.slice(0, 4).join('; ')}` };
        continue;
      }
      completed = undefined;
      // Time-dependent cases (dates reached between exchanges) replay the recorded run's clock.
      const recorded = setClock ? recordedTime(ex.response) : undefined;
      if (recorded !== undefined) now = recorded;
      setClock?.(now);
      let req: Item;
      try {
        req = resolve(ex.request, bindings, now);
      } catch (err) {
        if (err instanceof Unresolvable) return firstFailure ?? { file, status: i === 0 ? 'skip' : 'fail', detail: `exchange ${i + 1}: ${err.message}` };
        throw err;
      }
      const raw = await client.send(encode(req));
      // Nobody looks at a response the case does not record unless it is dumped.
      if (!observe && !ex.response) continue;
      const actual = decode(raw);
      observe?.(file, i + 1, start, actual);
      if (!ex.response) continue;
      if (expectsPending(ex.response) && !isPending(actual)) {
        completed = actual;
        continue;
      }
      const diffs = compareResponse(ex.response, actual, bindings);
      if (diffs.length > 0) {
        const failed: CaseResult = { file, status: 'fail', detail: `exchange ${i + 1} (${operationOf(req)}): ${diffs.slice(0, 4).join('; ')}`, response: printItem(actual) };
        // An observer (a response dump) sees the rest of the case too; the first failure stands.
        if (!observe) return failed;
        firstFailure ??= failed;
      }
    }
    return firstFailure ?? { file, status: 'pass' };
  } catch (err) {
    return firstFailure ?? { file, status: 'fail', detail: `error: ${(err as Error).message}` };
  } finally {
    client.close();
  }
}

export interface Summary {
  results: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
}

export async function runCases(files: string[], connect: (file: string) => Promise<KmipTestClient>, onResult?: (r: CaseResult) => void, setClock?: ReplayClock, observe?: ResponseObserver): Promise<Summary> {
  const results: CaseResult[] = [];
  for (const f of files) {
    const r = await runCase(f, connect, setClock, observe);
    results.push(r);
    onResult?.(r);
  }
  const count = (s: CaseResult['status']) => results.filter((r) => r.status === s).length;
  return { results, passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}

export function formatResult(r: CaseResult, base: string): string {
  const label = r.status === 'pass' ? 'PASS' : r.status === 'fail' ? 'FAIL' : 'SKIP';
  return `${label} ${relative(base, r.file)}${r.detail ? `  — ${r.detail}` : ''}`;
}
