// Test-side syslog collectors (a real TCP or Unix-socket listener, a real UDP socket) and
// independent parsers for what they receive: octet-counted frames (RFC 6587 §3.4.1) and RFC 5424 messages with
// structured data (§6.3). Written from the RFCs, not from the code under test.
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import net from 'node:net';
import type { AuditRecord } from '../../server/audit/audit-log.js';

/** Splits a TCP byte stream into messages: "MSG-LEN SP SYSLOG-MSG", in any chunking. */
export class OctetCountingParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: string[] = [];
    for (;;) {
      const sp = this.buf.indexOf(0x20);
      if (sp < 0) {
        if (this.buf.length > 10 || !/^\d*$/.test(this.buf.toString('latin1'))) throw new Error(`bad frame start: ${this.buf.toString('latin1', 0, 20)}`);
        return out;
      }
      const len = this.buf.toString('latin1', 0, sp);
      if (!/^[1-9]\d{0,8}$/.test(len)) throw new Error(`bad MSG-LEN ${JSON.stringify(len)}`);
      const n = Number(len);
      if (this.buf.length < sp + 1 + n) return out;
      out.push(this.buf.toString('utf8', sp + 1, sp + 1 + n));
      this.buf = this.buf.subarray(sp + 1 + n);
    }
  }

  get pending(): number {
    return this.buf.length;
  }
}

export interface Syslog5424 {
  pri: number;
  facility: number;
  severity: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** SD-ID -> params (unescaped). */
  sd: Record<string, Record<string, string>>;
  msg: string;
}

/** Parses one RFC 5424 message strictly enough to catch malformed output. */
export function parse5424(text: string): Syslog5424 {
  const m = /^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(text);
  if (!m) throw new Error(`not an RFC 5424 header: ${text.slice(0, 120)}`);
  const pri = Number(m[1]);
  if (pri > 191) throw new Error(`PRI ${pri} out of range`);
  for (const [name, v, max] of [['HOSTNAME', m[4]!, 255], ['APP-NAME', m[5]!, 48], ['PROCID', m[6]!, 128], ['MSGID', m[7]!, 32]] as const) {
    if (v.length > max) throw new Error(`${name} longer than ${max}`);
    if (!/^[\x21-\x7e]+$/.test(v)) throw new Error(`${name} not PRINTUSASCII: ${v}`);
  }
  let i = m[0].length;
  const sd: Record<string, Record<string, string>> = {};
  if (text[i] === '-') {
    i++;
  } else {
    while (text[i] === '[') {
      i++;
      const idEnd = text.slice(i).search(/[ \]]/);
      if (idEnd < 0) throw new Error('unterminated SD-ELEMENT');
      const id = text.slice(i, i + idEnd);
      i += idEnd;
      const params: Record<string, string> = {};
      while (text[i] === ' ') {
        i++;
        const eq = text.indexOf('="', i);
        if (eq < 0) throw new Error('SD-PARAM without ="');
        const name = text.slice(i, eq);
        if (!/^[^= \]"]{1,32}$/.test(name)) throw new Error(`bad SD-NAME ${name}`);
        i = eq + 2;
        let value = '';
        for (;;) {
          const c = text[i];
          if (c === undefined) throw new Error('unterminated PARAM-VALUE');
          if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\' || text[i + 1] === ']')) {
            value += text[i + 1];
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else if (c === ']') {
            throw new Error(`unescaped ] in PARAM-VALUE of ${name}`);
          } else {
            value += c;
            i++;
          }
        }
        params[name] = value;
      }
      if (text[i] !== ']') throw new Error(`expected ] at ${i}: ${text.slice(i, i + 20)}`);
      i++;
      sd[id] = params;
    }
  }
  let msg = '';
  if (i < text.length) {
    if (text[i] !== ' ') throw new Error(`expected SP before MSG at ${i}`);
    msg = text.slice(i + 1);
  }
  return {
    pri,
    facility: pri >> 3,
    severity: pri & 7,
    version: Number(m[2]),
    timestamp: m[3]!,
    hostname: m[4]!,
    appName: m[5]!,
    procId: m[6]!,
    msgId: m[7]!,
    sd,
    msg,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `pred` holds (or throws with `what` after the timeout). */
export async function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A stream syslog collector: TCP on 127.0.0.1 (port 0: any free port) or a Unix socket (a path).
 * Octet-counted frames are split into `messages`; pass the same array to keep it across restarts.
 */
export class TcpCollector {
  /** Connections accepted so far. */
  connections = 0;
  port = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  private constructor(readonly messages: string[]) {
    this.server = net.createServer((s) => this.accept(s));
  }

  static listen(where: number | string = 0, received: string[] = [], host = '127.0.0.1'): Promise<TcpCollector> {
    const c = new TcpCollector(received);
    return new Promise((resolve, reject) => {
      c.server.once('error', reject);
      const done = () => {
        const a = c.server.address();
        if (a && typeof a === 'object') c.port = a.port;
        resolve(c);
      };
      if (typeof where === 'string') c.server.listen(where, done);
      else c.server.listen(where, host, done);
    });
  }

  /** The first message matching `pattern`, waiting up to `timeoutMs` for it. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    const find = () => this.messages.find((m) => pattern.test(m));
    await until(() => find() !== undefined, `a syslog message matching ${pattern} (${this.messages.length} received; last: ${this.messages.slice(-3).join(' | ')})`, timeoutMs);
    return find()!;
  }

  /** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
  static async freePort(): Promise<number> {
    const c = await TcpCollector.listen(0);
    await c.close();
    return c.port;
  }

  private accept(s: net.Socket): void {
    this.connections++;
    this.sockets.add(s);
    const parser = new OctetCountingParser();
    s.on('data', (chunk: Buffer) => {
      try {
        this.messages.push(...parser.push(chunk));
      } catch (err) {
        this.messages.push(`PARSE ERROR: ${(err as Error).message}`);
        s.destroy();
      }
    });
    s.on('error', () => {});
    s.on('close', () => this.sockets.delete(s));
  }

  /** Stops listening and drops the open connections (as a collector that goes down). */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}

export interface UdpCollector {
  port: number;
  datagrams: Buffer[];
  close(): Promise<void>;
}

export function udpCollector(): Promise<UdpCollector> {
  const socket = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  socket.on('message', (m) => datagrams.push(m));
  return new Promise((resolve) => {
    socket.bind(0, '127.0.0.1', () => {
      resolve({ port: socket.address().port, datagrams, close: () => new Promise<void>((r) => socket.close(() => r())) });
    });
  });
}

/** An audit record for tests. */
export function record(seq: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    seq,
    time: '2025-03-04T05:06:07.089Z',
    identity: 'CN=vcenter,O=Example',
    address: '10.0.0.5',
    operation: 'Get',
    objectId: String(1000 + seq),
    result: 'success',
    reason: '',
    ...over,
  };
}

/** The seq SD-PARAM of each message that is an audit record. */
export function seqs(messages: string[]): number[] {
  return messages.map(parse5424).filter((m) => m.msgId === 'audit').map((m) => Number(m.sd['keyhaven@32473']!.seq));
}
