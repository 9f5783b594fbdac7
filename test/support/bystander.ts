// A bystander client for denial-of-service tests and the fairness benchmark: it keeps sending Get
// requests while an attack runs and records how long each took.
import assert from 'node:assert/strict';
import { Enum } from '../../server/kmip/tables.js';
import type { KmipTestClient } from './kmip-client.js';
import { parseResponse, request, withUid } from './requests.js';

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Runs `attack` while `victim` sends Gets of `uid` one after another; returns their latencies. */
export async function latencyDuring(victim: KmipTestClient, uid: string, attack: () => Promise<unknown>): Promise<Latency> {
  const times: number[] = [];
  let done = false;
  const get = request([withUid(Enum.Operation.Get, uid)]);
  const loop = (async () => {
    // Bounded: at most 100,000 requests, and it stops when the attack is over.
    for (let i = 0; i < 100_000 && !done; i++) {
      const t0 = performance.now();
      const r = parseResponse(await victim.send(get));
      times.push(performance.now() - t0);
      assert.equal(r.items[0]!.status, Enum.ResultStatus.Success, `the bystander's Get: ${r.items[0]!.message}`);
      await new Promise((res) => setImmediate(res));
    }
  })();
  // The bystander is under way before the attack starts.
  await new Promise((res) => setTimeout(res, 50));
  try {
    await attack();
  } finally {
    done = true;
    await loop;
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { count: times.length, p50: at(0.5), p99: at(0.99), max: times[times.length - 1]! };
}

export const formatLatency = (l: Latency) =>
  `bystander Get over ${l.count} requests: p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`;
