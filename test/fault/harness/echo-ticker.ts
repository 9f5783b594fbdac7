// Client for echo-server.ts over one long-lived TCP connection, run inside a node namespace: sends
// "tick-N" every INTERVAL ms (COUNT ticks, then exits), printing {"connected":true} once and
// {"echoed":N} for each tick that comes back. With the server's log of what it received, shows which
// direction of an established connection still carries bytes.
//   node --import tsx echo-ticker.ts HOST PORT INTERVAL_MS COUNT
import net from 'node:net';
import { createInterface } from 'node:readline';

const [host, port, interval, count] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4] ?? '100'), Number(process.argv[5] ?? '100')];
const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const socket = net.connect({ host, port }, () => {
  print({ connected: true });
  let n = 0;
  const timer = setInterval(() => {
    socket.write(`tick-${++n}\n`);
    if (n >= count) {
      clearInterval(timer);
      setTimeout(() => socket.destroy(), 2000);
    }
  }, interval);
});
socket.on('error', (err: NodeJS.ErrnoException) => print({ error: err.code ?? err.message }));
createInterface({ input: socket }).on('line', (line) => print({ echoed: Number(line.replace('tick-', '')) }));
