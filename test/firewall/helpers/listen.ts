// Test helper, run inside a network namespace: listens on the given TCP ports (on ::, which also takes
// IPv4) and UDP ports, accepts and immediately closes connections, and prints one JSON line when
// ready, then one JSON line per UDP datagram received. Exits when its stdin closes.
//   node --import tsx listen.ts --tcp 1-65535 --udp 514,123
import net from 'node:net';
import dgram from 'node:dgram';

function ports(spec: string | undefined): number[] {
  if (!spec) return [];
  return spec.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) throw new Error(`bad port spec ${part}`);
    const end = b ?? a;
    return Array.from({ length: end - a + 1 }, (_, i) => a + i);
  });
}

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};

const tcpPorts = ports(arg('--tcp'));
const udpPorts = ports(arg('--udp'));
const failed: { port: number; error: string }[] = [];
let tcpListening = 0;

function listenTcp(port: number): Promise<void> {
  return new Promise((resolve) => {
    // The client closes first (the scanner resets). Were this side to close first, its sockets would
    // sit in TIME_WAIT on every bound port, leaving no local port for the namespace's own connects.
    const server = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.on('end', () => socket.destroy());
      socket.setTimeout(5000, () => socket.resetAndDestroy());
      socket.resume();
    });
    server.on('error', (err: NodeJS.ErrnoException) => {
      failed.push({ port, error: err.code ?? err.message });
      resolve();
    });
    server.listen({ port, host: '::', ipv6Only: false, backlog: 64 }, () => {
      tcpListening++;
      resolve();
    });
  });
}

const started = Date.now();
const BATCH = 2000;
for (let i = 0; i < tcpPorts.length; i += BATCH) await Promise.all(tcpPorts.slice(i, i + BATCH).map(listenTcp));

let udpListening = 0;
for (const port of udpPorts) {
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  socket.on('message', (msg, rinfo) => {
    process.stdout.write(`${JSON.stringify({ udp: port, from: rinfo.address, data: msg.toString('utf8') })}\n`);
  });
  await new Promise<void>((resolve) => {
    socket.once('error', (err: NodeJS.ErrnoException) => {
      failed.push({ port, error: `udp ${err.code ?? err.message}` });
      resolve();
    });
    socket.bind(port, '::', () => {
      udpListening++;
      resolve();
    });
  });
}

process.stdout.write(`${JSON.stringify({ ready: true, tcp: tcpListening, udp: udpListening, failed: failed.slice(0, 20), failedCount: failed.length, ms: Date.now() - started })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
