// Test helper, run inside a network namespace: tries each target once, concurrently.
//   node --import tsx probe.ts '[{"proto":"tcp","host":"10.0.0.2","port":514},{"proto":"udp","host":"10.0.0.2","port":514,"data":"x"}]'
// TCP: "open" when the handshake completes, else the error code or "timeout".
// UDP: "sent" when the kernel accepted the datagram (a firewall drop on output gives EPERM);
// whether it arrived is for the receiver to say.
import net from 'node:net';
import dgram from 'node:dgram';

interface Target {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  bind?: string;
  data?: string;
}

const targets = JSON.parse(process.argv[2] ?? '[]') as Target[];
const timeoutMs = Number(process.argv[3] ?? '1500');

function tcp(t: Target): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port, ...(t.bind ? { localAddress: t.bind } : {}) });
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done('open'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

function udp(t: Target): Promise<string> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(t.host) ? 'udp6' : 'udp4');
    let settled = false;
    const done = (outcome: string) => {
      if (settled) return;
      settled = true;
      socket.close();
      resolve(outcome);
    };
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
    socket.send(t.data ?? 'probe', t.port, t.host, (err) => done(err ? ((err as NodeJS.ErrnoException).code ?? 'error') : 'sent'));
  });
}

const results = await Promise.all(targets.map(async (t) => ({ ...t, result: t.proto === 'tcp' ? await tcp(t) : await udp(t) })));
process.stdout.write(`${JSON.stringify(results)}\n`);
