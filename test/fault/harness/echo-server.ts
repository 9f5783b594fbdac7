// Stand-in server, run inside a node namespace: echoes every TCP byte back, and after a first line
// {"ready":true,…} prints one JSON line per TCP line and per UDP datagram received (on the same port).
// Standard output is the harness's log file, which a test reads to see what arrived.
//   node --import tsx echo-server.ts PORT
import net from 'node:net';
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2]);
const tcp = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
  const from = socket.remoteAddress;
  createInterface({ input: socket }).on('line', (data) => process.stdout.write(`${JSON.stringify({ tcp: port, from, data })}\n`));
});
const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => process.stdout.write(`${JSON.stringify({ udp: port, from: rinfo.address, data: msg.toString('utf8') })}\n`));
await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen({ port, host: '0.0.0.0' }, resolve));
await new Promise<void>((resolve, reject) => udp.once('error', reject).bind(port, '0.0.0.0', resolve));
process.stdout.write(`${JSON.stringify({ ready: true, port, pid: process.pid })}\n`);
