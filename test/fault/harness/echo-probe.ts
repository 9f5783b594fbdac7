// Client for echo-server.ts, run inside a node namespace: one TCP round trip per target, concurrently,
// printing one JSON line with a result per target:
//   "echoed"          the nonce came back;
//   "connect-timeout" no handshake within the timeout (the SYN or the SYN-ACK was dropped);
//   "reply-timeout"   connected (the kernel answered) but no echo: the server process is not running;
//   an error code     ECONNREFUSED (nobody listens), ENETUNREACH (no route), ….
//   node --import tsx echo-probe.ts '[{"host":"10.213.1.2","port":7007}]' TIMEOUT_MS
import net from 'node:net';
import { randomBytes } from 'node:crypto';

interface Target {
  host: string;
  port: number;
}

const targets = JSON.parse(process.argv[2] ?? '[]') as Target[];
const timeoutMs = Number(process.argv[3] ?? '1500');

function echo(t: Target): Promise<string> {
  return new Promise((resolve) => {
    const nonce = `${randomBytes(8).toString('hex')}\n`;
    let connected = false;
    let got = '';
    const socket = net.connect({ host: t.host, port: t.port });
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done(connected ? 'reply-timeout' : 'connect-timeout'), timeoutMs);
    socket.once('connect', () => {
      connected = true;
      socket.write(nonce);
    });
    socket.setEncoding('utf8').on('data', (d: string) => {
      got += d;
      if (got === nonce) done('echoed');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

const results = await Promise.all(targets.map(async (t) => ({ ...t, result: await echo(t) })));
process.stdout.write(`${JSON.stringify(results)}\n`);
