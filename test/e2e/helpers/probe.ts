// What a TCP connection attempt from the host sees: a handshake, a refusal (RST: the port is let
// through but nothing listens), or silence (the firewall dropped the SYN).
import net from 'node:net';

/** `unreachable`: any other error (no route, no ARP answer) — the host itself is not there. */
export type ProbeResult = 'open' | 'refused' | 'silent' | 'unreachable';

/** `from`: the local address to connect from (the host may hold several on the appliance's network). */
export function probeTcp(host: string, port: number, timeoutMs: number, from?: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, ...(from ? { localAddress: from } : {}) });
    const done = (r: ProbeResult): void => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done('silent'));
    socket.once('connect', () => done('open'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : 'unreachable'));
  });
}
