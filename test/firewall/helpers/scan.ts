// Test helper, run inside a network namespace: a concurrent TCP connect scan of one host.
//   node --import tsx scan.ts --host 10.0.0.1 --ports 1-65535 [--bind 10.0.0.3] [--concurrency 4000] [--timeout 400]
// Prints one JSON line: { open: [ports…], refused, timedOut, errors: {code: count}, scanned, ms }.
// A port is open only if the TCP handshake completed; a dropped SYN times out.
import net from 'node:net';

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? fallback : process.argv[i + 1];
  if (value === undefined) throw new Error(`missing ${name}`);
  return value;
};

const host = arg('--host');
const bind = process.argv.includes('--bind') ? arg('--bind') : undefined;
const [from, to] = arg('--ports', '1-65535').split('-').map(Number) as [number, number];
const concurrency = Number(arg('--concurrency', '4000'));
const timeoutMs = Number(arg('--timeout', '400'));

type Outcome = 'open' | 'timeout' | string;

function probe(port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, ...(bind ? { localAddress: bind } : {}) });
    let settled = false;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // An open port is reset, not closed, so that neither side keeps the connection in TIME_WAIT.
      if (outcome === 'open') socket.resetAndDestroy();
      else socket.destroy();
      resolve(outcome);
    };
    // A timer and a completed handshake can become due in the same event-loop turn, and timers run
    // first; deferring the verdict past the poll phase (setImmediate) lets a due 'connect' win.
    const timer = setTimeout(() => setImmediate(() => done('timeout')), timeoutMs);
    socket.once('connect', () => done('open'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

// Resolve the neighbour (ARP/ND) first, so that the first SYNs of the scan are not lost in the
// neighbour queue: any outcome but a timeout means a packet made the round trip or was refused locally.
const started = Date.now();
for (let i = 0; i < 10; i++) {
  const warm = await probe(from);
  if (warm !== 'timeout') break;
}

const open: number[] = [];
const errors: Record<string, number> = {};
const timedOutPorts: number[] = [];
let refused = 0;
let next = from;
async function worker(): Promise<void> {
  while (next <= to) {
    const port = next++;
    const outcome = await probe(port);
    if (outcome === 'open') open.push(port);
    else if (outcome === 'timeout') timedOutPorts.push(port);
    else if (outcome === 'ECONNREFUSED') refused++;
    else errors[outcome] = (errors[outcome] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, to - from + 1) }, worker));
open.sort((a, b) => a - b);
const timedOut = timedOutPorts.length;
// The list of silent ports is only useful when it is short (a control run that should have none).
const silentSample = timedOut <= 50 ? timedOutPorts.sort((a, b) => a - b) : undefined;
process.stdout.write(`${JSON.stringify({ host, bind, open, openCount: open.length, refused, timedOut, silentSample, errors, scanned: to - from + 1, ms: Date.now() - started })}\n`);
