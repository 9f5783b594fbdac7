// The load generator, run in a worker thread so that the orchestrating thread stays idle. It drives
// KMIP over TLS exactly as a real client does: one request in flight per connection (no
// pipelining), the next sent when the previous response arrived. Requests are pre-encoded; every
// response is checked (Result Status, and for Get the key length) before it counts.
//
// With `rate` set the loop is open instead: requests are due on a fixed schedule (rate per second),
// each sent on a connection that has none in flight, whatever pace the answers come at; a request
// that finds every connection busy waits for the first to free (counted as late), and its latency
// runs from when it was due, so a server that falls behind shows it in the latencies rather than
// slowing the load down (no coordinated omission).
//
// Protocol with the parent: the worker connects, posts {type:'ready'}, waits for {type:'go', at}
// (a Date.now() instant shared by all workers), runs warm-up then the measured window, posts
// {type:'window', phase} at its edges and finally {type:'done', result}.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { TtlvFramer } from '../../server/kmip/framer.js';
import { Tag } from '../../server/kmip/tables.js';
import { getTemplate, type GetTemplate, type PackedUids } from './requests.js';
import { checkCreate, checkGet, type CheckResult } from './ttlv-scan.js';

export interface WorkerJob {
  port: number;
  tls: { ca: string; cert: string; key: string; servername: string; maxVersion?: tls.SecureVersion };
  op: 'get' | 'create';
  /** persistent: `connections` long-lived connections. per-request: a TLS handshake per request. */
  mode: 'persistent' | 'per-request';
  /** Concurrent closed loops (connections, or in-flight handshakes for per-request). */
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Instead of a timed window: stop after this many successful operations (store setup). */
  count?: number;
  minor: number;
  keyBytes: number;
  createRequest: Uint8Array;
  uids?: PackedUids;
  /** Return the identifiers Create responses carried. */
  collectUids?: boolean;
  /**
   * Open loop (persistent mode): this worker's requests per second, due at a fixed spacing from the
   * start; the window holds the requests due in it (answered after it ends too).
   */
  rate?: number;
}

export interface WorkerResult {
  ops: number;
  errors: number;
  errorSamples: string[];
  /** Latencies (ms) of the operations completed inside the measured window. */
  latencies: Float64Array;
  measuredMs: number;
  protocol: string;
  cipher: string;
  uids: string[];
  /** Open loop: requests due in the window, how many of them found every connection busy, and how many were answered before the window closed. */
  offered: number;
  late: number;
  answeredInWindow: number;
}

const job = workerData as WorkerJob;
const port = parentPort!;

// One context for every connection (certificates parsed once). Protocol bounds are context options:
// tls.connect ignores maxVersion when it is given a secureContext.
const secureContext = tls.createSecureContext({
  ca: job.tls.ca,
  cert: job.tls.cert,
  key: job.tls.key,
  ...(job.tls.maxVersion ? { maxVersion: job.tls.maxVersion } : {}),
});
const createBytes = Buffer.from(job.createRequest);
const templates = new Map<number, GetTemplate>();
const uidData = job.uids ? Buffer.from(job.uids.data.buffer, job.uids.data.byteOffset, job.uids.data.byteLength) : undefined;
const uidOffsets = job.uids?.offsets;
const uidTotal = uidOffsets ? uidOffsets.length - 1 : 0;

function nextRequest(): Buffer {
  if (job.op === 'create') return createBytes;
  const i = Math.floor(Math.random() * uidTotal);
  const from = uidOffsets![i]!;
  const to = uidOffsets![i + 1]!;
  const len = to - from;
  let t = templates.get(len);
  if (!t) templates.set(len, (t = getTemplate(job.minor, len)));
  const req = Buffer.allocUnsafe(t.bytes.length);
  t.bytes.copy(req);
  uidData!.copy(req, t.uidAt, from, to);
  return req;
}

const check = (m: Buffer): CheckResult => (job.op === 'get' ? checkGet(m, job.keyBytes) : checkCreate(m));

// Measurement state.
let latencies = new Float64Array(1 << 16);
let nLat = 0;
let ops = 0;
let errors = 0;
let succeeded = 0;
let issued = 0;
const errorSamples: string[] = [];
const uids: string[] = [];
let protocol = '';
let cipher = '';
let offered = 0;
let late = 0;
let answeredInWindow = 0;
let measureStart = Infinity;
let measureEnd = Infinity;
let stopped = false;

function noteError(msg: string): void {
  errors++;
  if (errorSamples.length < 5 && !errorSamples.includes(msg)) errorSamples.push(msg);
}

function record(sentAt: number, doneAt: number, r: CheckResult): void {
  if (r.ok) {
    succeeded++;
    if (r.uid !== undefined && job.collectUids) uids.push(r.uid);
  }
  const inWindow = job.count !== undefined || (sentAt >= measureStart && (doneAt <= measureEnd || job.rate !== undefined));
  if (!inWindow) return;
  if (!r.ok) {
    noteError(r.error ?? 'error');
    return;
  }
  ops++;
  if (doneAt <= measureEnd) answeredInWindow++;
  if (nLat === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[nLat++] = doneAt - sentAt;
}

/** Whether a loop may send another request now. */
function mayContinue(): boolean {
  if (stopped) return false;
  if (job.count !== undefined) return issued < job.count;
  return performance.now() < measureEnd;
}

function connect(): tls.TLSSocket {
  const s = tls.connect({
    host: '127.0.0.1',
    port: job.port,
    servername: job.tls.servername,
    secureContext,
  });
  s.setNoDelay(true);
  s.once('secureConnect', () => {
    if (!protocol) {
      protocol = s.getProtocol() ?? '?';
      cipher = s.getCipher()?.name ?? '?';
    }
  });
  return s;
}

/** A long-lived connection running one closed loop. */
function persistentLoop(onReady: () => void, onDone: () => void): { start: () => void } {
  let socket: tls.TLSSocket;
  let framer: TtlvFramer;
  let sentAt = 0;
  let inFlight = false;
  let started = false;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    socket.end();
    onDone();
  };
  const fire = () => {
    if (!mayContinue()) return finish();
    issued++;
    inFlight = true;
    sentAt = performance.now();
    socket.write(nextRequest());
  };
  const open = (first: boolean) => {
    framer = new TtlvFramer({ maxMessageSize: 16 * 1024 * 1024, expectTag: Tag.ResponseMessage });
    socket = connect();
    socket.once('secureConnect', () => (first ? onReady() : started && fire()));
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk, (m) => {
          const now = performance.now();
          inFlight = false;
          record(sentAt, now, check(m));
          fire();
        });
      } catch (err) {
        noteError(`unframeable response: ${(err as Error).message}`);
        socket.destroy();
      }
    });
    socket.on('error', (err) => noteError(`connection error: ${err.message}`));
    socket.on('close', () => {
      if (finished) return;
      if (inFlight) noteError('connection closed with a request in flight');
      inFlight = false;
      if (!started && first) return onReady(); // never connected: counted as an error
      setTimeout(() => (mayContinue() ? open(false) : finish()), 10);
    });
  };
  open(true);
  return {
    start: () => {
      started = true;
      if (socket.destroyed) finish(); // could not connect at all (already counted as an error)
      else fire();
    },
  };
}

/**
 * Open loop over `n` long-lived connections: a timer makes requests due every 1/rate s from the start
 * until the window ends; a due request goes out on an idle connection, or waits (late) for the
 * first connection to free. Ends once the last due request is answered.
 */
function openLoop(n: number, onReady: () => void, onDone: () => void): { start: () => void } {
  const interval = 1000 / job.rate!;
  const idle: OpenConnection[] = [];
  const waiting: number[] = [];
  let scheduling = true;
  let busy = 0;
  let ready = 0;
  let finished = false;
  const maybeFinish = () => {
    if (finished || scheduling || busy > 0 || waiting.length > 0) return;
    finished = true;
    for (const c of all) c.socket.end();
    for (let i = 0; i < n; i++) onDone();
  };
  interface OpenConnection {
    socket: tls.TLSSocket;
    send(dueAt: number): void;
  }
  const freed = (c: OpenConnection) => {
    const due = waiting.shift();
    if (due !== undefined && !stopped) c.send(due);
    else {
      idle.push(c);
      maybeFinish();
    }
  };
  const dispatch = (dueAt: number) => {
    issued++;
    if (dueAt >= measureStart && dueAt < measureEnd) offered++;
    const c = idle.pop();
    if (c) c.send(dueAt);
    else {
      if (dueAt >= measureStart && dueAt < measureEnd) late++;
      waiting.push(dueAt);
    }
  };
  const open = (): OpenConnection => {
    const framer = new TtlvFramer({ maxMessageSize: 16 * 1024 * 1024, expectTag: Tag.ResponseMessage });
    let dueAt = 0;
    let inFlight = false;
    let counted = false;
    const countReady = () => {
      if (counted) return;
      counted = true;
      if (++ready === n) onReady();
    };
    const c: OpenConnection = {
      socket: connect(),
      send(due) {
        dueAt = due;
        inFlight = true;
        busy++;
        c.socket.write(nextRequest());
      },
    };
    c.socket.once('secureConnect', () => {
      idle.push(c);
      countReady();
    });
    c.socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk, (m) => {
          inFlight = false;
          busy--;
          record(dueAt, performance.now(), check(m));
          freed(c);
        });
      } catch (err) {
        noteError(`unframeable response: ${(err as Error).message}`);
        c.socket.destroy();
      }
    });
    c.socket.on('error', (err) => noteError(`connection error: ${err.message}`));
    c.socket.on('close', () => {
      if (finished) return;
      // Not reopened: the open loop goes on with the connections left (the errors say why).
      if (inFlight) {
        noteError('connection closed with a request in flight');
        inFlight = false;
        busy--;
      }
      const at = idle.indexOf(c);
      if (at >= 0) idle.splice(at, 1);
      countReady(); // never connected: counted as an error
      if (all.every((x) => x.socket.destroyed)) {
        waiting.length = 0;
        scheduling = false;
      }
      maybeFinish();
    });
    return c;
  };
  const all = Array.from({ length: n }, open);
  return {
    start: () => {
      let next = performance.now();
      const tick = () => {
        const now = performance.now();
        while (next <= now && next < measureEnd && !stopped) {
          dispatch(next);
          next += interval;
        }
        if (next >= measureEnd || stopped) {
          scheduling = false;
          maybeFinish();
          return;
        }
        setTimeout(tick, Math.max(0, next - performance.now()));
      };
      tick();
    },
  };
}

/** A closed loop that opens a new connection (full TLS handshake) for every request. */
function perRequestLoop(onDone: () => void): { start: () => void } {
  const once = () => {
    if (!mayContinue()) return onDone();
    issued++;
    const sentAt = performance.now();
    const framer = new TtlvFramer({ maxMessageSize: 16 * 1024 * 1024, expectTag: Tag.ResponseMessage });
    const socket = connect();
    let answered = false;
    socket.once('secureConnect', () => socket.write(nextRequest()));
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk, (m) => {
          if (answered) return;
          answered = true;
          record(sentAt, performance.now(), check(m));
          socket.end();
          once();
        });
      } catch (err) {
        noteError(`unframeable response: ${(err as Error).message}`);
        socket.destroy();
      }
    });
    socket.on('error', (err) => {
      if (!answered) noteError(`connection error: ${err.message}`);
    });
    socket.on('close', () => {
      if (answered) return;
      answered = true;
      noteError('connection closed before a response');
      setTimeout(once, 10);
    });
  };
  return { start: once };
}

let windowEndPosted = false;
function postWindowEnd(): void {
  if (windowEndPosted) return;
  windowEndPosted = true;
  port.postMessage({ type: 'window', phase: 'end' });
}

async function main(): Promise<void> {
  const n = job.connections;
  let doneCount = 0;
  let resolveDone!: () => void;
  const allDone = new Promise<void>((r) => (resolveDone = r));
  const onDone = () => {
    if (++doneCount === n) resolveDone();
  };
  let loops: { start: () => void }[];
  if (job.rate !== undefined) {
    if (job.mode !== 'persistent' || job.count !== undefined) throw new Error('an open loop (rate) runs over persistent connections for a timed window');
    let resolveReady!: () => void;
    const allReady = new Promise<void>((r) => (resolveReady = r));
    loops = [openLoop(n, resolveReady, onDone)];
    await allReady;
  } else if (job.mode === 'persistent') {
    let ready = 0;
    let resolveReady!: () => void;
    const allReady = new Promise<void>((r) => (resolveReady = r));
    loops = Array.from({ length: n }, () => persistentLoop(() => ++ready === n && resolveReady(), onDone));
    await allReady;
  } else {
    loops = Array.from({ length: n }, () => perRequestLoop(onDone));
  }
  port.postMessage({ type: 'ready' });
  const go = await new Promise<number>((resolve) => port.once('message', (m: { type: string; at: number }) => resolve(m.at)));
  const startLocal = performance.now() + Math.max(0, go - Date.now());
  const begin = () => {
    if (job.count === undefined) {
      measureStart = startLocal + job.warmupMs;
      measureEnd = measureStart + job.durationMs;
      setTimeout(() => port.postMessage({ type: 'window', phase: 'start' }), Math.max(0, measureStart - performance.now()));
      setTimeout(postWindowEnd, Math.max(0, measureEnd - performance.now()));
    }
    for (const l of loops) l.start();
  };
  setTimeout(begin, Math.max(0, startLocal - performance.now()));
  // A hung server must not hang the benchmark: give up 30 s after the window should have closed.
  const limit = job.count === undefined ? job.warmupMs + job.durationMs + 30_000 : 600_000;
  const watchdog = setTimeout(() => {
    stopped = true;
    noteError('server stopped answering (watchdog)');
    resolveDone();
  }, limit + Math.max(0, go - Date.now()));
  await allDone;
  clearTimeout(watchdog);
  // The loops may all have stopped before the window-end timer ran: the parent needs the edge first.
  if (job.count === undefined) postWindowEnd();
  const result: WorkerResult = {
    ops,
    errors,
    errorSamples,
    latencies: latencies.slice(0, nLat),
    measuredMs: job.count === undefined ? job.durationMs : 0,
    protocol,
    cipher,
    uids,
    offered,
    late,
    answeredInWindow,
  };
  port.postMessage({ type: 'done', result }, [result.latencies.buffer as ArrayBuffer]);
}

main().catch((err) => {
  port.postMessage({ type: 'failed', message: (err as Error).stack ?? String(err) });
});
