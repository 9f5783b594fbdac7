// Forwards audit records to one syslog collector (a SIEM, or the local rsyslog relaying to it) over
// TCP or a Unix stream socket (octet counting, RFC 6587 §3.4.1) or UDP (one datagram per message,
// RFC 5426). The local hash-chained log stays the record of truth: forwarding must never slow, block
// or crash the KMIP path, so
//
// - send() is O(1): the record goes into a bounded ring; formatting and writing happen later, at
//   most once per event-loop turn (setImmediate), as one socket write for everything queued;
// - when the ring is full the oldest record is dropped and counted; once records flow again a
//   notice says how many (and which seq range) were not forwarded;
// - TCP and Unix connections are re-made with exponential backoff (0.5 s doubling to 30 s);
//   failures are logged at most once a minute; timers and sockets are unref'd so forwarding never keeps the process alive.
//
// Syslog over a stream has no acknowledgements (RFC 6587): records written to a connection that
// breaks before the collector read them are lost to the collector, not to the local log.
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { hostname as osHostname } from 'node:os';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import type { AuditRecord } from './audit-log.js';
import {
  FACILITIES, formatAuditRecord, frameOctetCounted, gapNotice, syslogHeader, truncateUtf8, type FacilityName, type SyslogHeader,
} from './syslog-message.js';

export type ForwarderLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** Where the collector is: TCP or UDP to host:port, or a local Unix stream socket (e.g. rsyslog's imptcp). */
export type SyslogTarget = { transport: 'tcp' | 'udp'; host: string; port: number } | { transport: 'unix'; path: string };

export interface ForwarderSettings {
  facility: FacilityName;
  appName: string;
  /** HOSTNAME of the messages; the machine's host name by default. */
  hostname?: string;
  /** PROCID of the messages; this process's id by default. */
  procId?: string;
  /** Records held while the collector is unreachable or slow (default 50,000); the oldest are dropped beyond. */
  maxQueued?: number;
  /** UDP: messages are cut to this many octets (default 2048, RFC 5426 §3.2). */
  maxDatagramBytes?: number;
  log?: ForwarderLog;
  /** Reconnect delay: first and largest, in milliseconds (default 500 and 30,000). */
  backoffMs?: { initial: number; max: number };
  /** Least time between two warnings about the collector (default 60,000 ms). */
  warnIntervalMs?: number;
  /** Longest time close() spends flushing (default 2,000 ms). */
  closeTimeoutMs?: number;
  /** Longest time a connection attempt may take (default 10,000 ms). */
  connectTimeoutMs?: number;
}

export type SyslogForwarderOptions = ForwarderSettings & SyslogTarget;

export interface ForwarderStats {
  /** Audit records handed to the socket (TCP: written to the connection; UDP: datagrams sent). */
  sent: number;
  /** Audit records never sent: dropped from a full queue, or a UDP send that failed. */
  dropped: number;
  /** Audit records waiting in the queue. */
  queued: number;
  /** Notices about dropped records sent. */
  notices: number;
  connected: boolean;
}

/** Records formatted and written per event-loop turn, so a long queue does not stall requests. */
const BATCH = 1000;
/** UDP datagrams handed to the socket and not yet completed. */
const UDP_IN_FLIGHT = 256;

export class SyslogForwarder {
  readonly target: string;
  private readonly header: SyslogHeader;
  private readonly capacity: number;
  private readonly maxDatagram: number;
  private readonly log: ForwarderLog;
  private readonly backoff: { initial: number; max: number };
  private readonly warnInterval: number;
  private readonly closeTimeout: number;
  private readonly connectTimeout: number;

  // The queue: a ring of `count` records starting at `head`.
  private readonly ring: (AuditRecord | undefined)[];
  private head = 0;
  private count = 0;

  private sent = 0;
  private dropped = 0;
  private notices = 0;
  /** Dropped records not yet reported to the collector, and their seq range. */
  private gap = 0;
  private gapFirst = 0;
  private gapLast = 0;

  /** The TCP or Unix stream connection. */
  private stream: net.Socket | undefined;
  private udp: dgram.Socket | undefined;
  private up = false;
  /** TCP, Unix: the socket's buffer is full; writing resumes on 'drain'. */
  private draining = false;
  private inFlight = 0;
  private scheduled = false;
  private retry: NodeJS.Timeout | undefined;
  private delay: number;
  private lastWarn = -Infinity;
  private warned = false;
  private everConnected = false;
  private lastError = '';
  private stopping = false;
  private closing: Promise<void> | undefined;
  private udpIdle: (() => void) | undefined;

  private readonly flushNow = () => {
    this.scheduled = false;
    try {
      this.flush(false);
    } catch (err) {
      // Never an exception out of a setImmediate callback: that would end the key server.
      this.warn(`could not send: ${(err as Error).message}`);
    }
  };

  constructor(private readonly o: SyslogForwarderOptions) {
    const bad = (why: string) => new KeyhavenError(ErrorCodes.AUDIT_SYSLOG_INVALID, `syslog forwarding: ${why}`);
    if (o.transport === 'unix') {
      if (!o.path) throw bad('path is empty');
      this.target = `unix://${o.path}`;
    } else if (o.transport === 'tcp' || o.transport === 'udp') {
      if (!o.host) throw bad('host is empty');
      if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw bad(`port ${o.port} is not a port number`);
      this.target = `${o.transport}://${net.isIPv6(o.host) ? `[${o.host}]` : o.host}:${o.port}`;
    } else {
      throw bad(`transport ${String((o as { transport: unknown }).transport)} is not tcp, udp or unix`);
    }
    if (!Object.hasOwn(FACILITIES, o.facility)) throw bad(`unknown facility ${o.facility}`);
    this.capacity = o.maxQueued ?? 50_000;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw bad(`maxQueued ${this.capacity} must be a positive integer`);
    // RFC 5426 §3.2: at most 65,507 octets fit an IPv4 datagram; below 64 not even the header fits.
    this.maxDatagram = o.maxDatagramBytes ?? 2048;
    if (!Number.isInteger(this.maxDatagram) || this.maxDatagram < 64 || this.maxDatagram > 65_507) throw bad(`maxDatagramBytes ${this.maxDatagram} is outside 64..65507`);

    this.header = syslogHeader({
      facility: FACILITIES[o.facility],
      hostname: o.hostname ?? osHostname(),
      appName: o.appName,
      procId: o.procId ?? String(process.pid),
    });
    this.ring = new Array<AuditRecord | undefined>(this.capacity);
    this.log = o.log ?? (() => {});
    this.backoff = o.backoffMs ?? { initial: 500, max: 30_000 };
    this.delay = this.backoff.initial;
    this.warnInterval = o.warnIntervalMs ?? 60_000;
    this.closeTimeout = o.closeTimeoutMs ?? 2000;
    this.connectTimeout = o.connectTimeoutMs ?? 10_000;
    this.open();
  }

  stats(): ForwarderStats {
    return { sent: this.sent, dropped: this.dropped, queued: this.count, notices: this.notices, connected: this.up };
  }

  /** Queues a committed audit record for sending; O(1), never blocks, never throws. */
  send(record: AuditRecord): void {
    if (this.count === this.capacity) this.noteDropped(this.shift().seq);
    this.ring[(this.head + this.count) % this.capacity] = record;
    this.count++;
    if (this.up && !this.scheduled && !this.draining) this.schedule();
  }

  /** Sends what can be sent within the close timeout, then closes the connection. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private shift(): AuditRecord {
    const r = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    return r;
  }

  private noteDropped(seq: number): void {
    this.dropped++;
    if (this.gap === 0) {
      this.gapFirst = seq;
      this.gapLast = seq;
    } else {
      if (seq < this.gapFirst) this.gapFirst = seq;
      if (seq > this.gapLast) this.gapLast = seq;
    }
    this.gap++;
    if (this.gap === 1) this.warn(`queue full (${this.capacity} records): dropping the oldest; the local audit log keeps them`);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushNow);
  }

  private warn(detail: string): void {
    const now = Date.now();
    if (now - this.lastWarn < this.warnInterval) return;
    this.lastWarn = now;
    this.warned = true;
    this.log('warn', `syslog forwarding to ${this.target}: ${detail}`, { queued: this.count, dropped: this.dropped });
  }

  private connected(): void {
    this.up = true;
    this.delay = this.backoff.initial;
    if (!this.everConnected || this.warned) this.log('info', `syslog forwarding to ${this.target}: connected`, { queued: this.count });
    this.everConnected = true;
    this.warned = false;
    if (this.count > 0 || this.gap > 0) this.schedule();
  }

  private open(): void {
    if (this.stopping) return;
    if (this.o.transport === 'udp') void this.openUdp(this.o.host, this.o.port);
    else this.openStream();
  }

  private retryLater(): void {
    if (this.stopping || this.retry) return;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.backoff.max);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.open();
    }, delay);
    this.retry.unref();
  }

  /** A TCP or Unix stream connection. */
  private openStream(): void {
    const socket = net.connect(this.o.transport === 'unix' ? { path: this.o.path } : { host: this.o.host, port: this.o.port });
    this.stream = socket;
    this.lastError = '';
    socket.unref();
    socket.setTimeout(this.connectTimeout, () => socket.destroy(new Error(`no connection within ${this.connectTimeout} ms`)));
    socket.on('connect', () => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      this.connected();
    });
    // A collector has nothing to say, but reading is what lets its closing (FIN) be noticed.
    socket.on('data', () => {});
    socket.on('drain', () => {
      this.draining = false;
      if (this.count > 0 || this.gap > 0) this.schedule();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = err.code ?? err.message;
    });
    socket.on('close', () => {
      if (this.stream === socket) this.stream = undefined;
      this.up = false;
      this.draining = false;
      if (this.stopping) return;
      this.warn(`${this.lastError || 'the collector closed the connection'}; audit records are queued and sent once it is reachable`);
      this.retryLater();
    });
  }

  private async openUdp(host: string, port: number): Promise<void> {
    let address = host;
    let family = net.isIP(address);
    if (family === 0) {
      try {
        ({ address, family } = await lookup(host));
      } catch (err) {
        this.warn(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        this.retryLater();
        return;
      }
      if (this.stopping) return;
    }
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    this.udp = socket;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.warn(`${err.code ?? err.message}; recreating the socket`);
      this.up = false;
      if (this.udp === socket) this.udp = undefined;
      try {
        socket.close();
      } catch {
        /* already closed */
      }
      this.retryLater();
    });
    // A connected UDP socket: the address is resolved once, and sends need no destination.
    socket.connect(port, address, () => this.connected());
    socket.unref();
  }

  private flush(all: boolean): void {
    if (!this.up) return;
    if (this.stream) this.flushStream(this.stream, all);
    else if (this.udp) this.flushUdp(this.udp, all);
  }

  private takeGapNotice(): string | undefined {
    if (this.gap === 0) return undefined;
    const notice = gapNotice(this.header, this.gap, this.gapFirst, this.gapLast);
    this.gap = 0;
    this.notices++;
    return notice;
  }

  private flushStream(socket: net.Socket, all: boolean): void {
    if (!socket.writable || (this.draining && !all)) return;
    let out = '';
    const notice = this.takeGapNotice();
    if (notice) out += frameOctetCounted(notice);
    const limit = all ? this.count : Math.min(this.count, BATCH);
    for (let i = 0; i < limit; i++) out += frameOctetCounted(formatAuditRecord(this.header, this.shift()));
    this.sent += limit;
    if (out.length === 0) return;
    if (!socket.write(out)) this.draining = true;
    else if (this.count > 0) this.schedule();
  }

  private flushUdp(socket: dgram.Socket, all: boolean): void {
    if (this.gap > 0) {
      const gap = { count: this.gap, first: this.gapFirst, last: this.gapLast };
      this.sendDatagram(socket, this.takeGapNotice()!, 0, gap);
    }
    let n = 0;
    while (this.count > 0 && (all || (n < BATCH && this.inFlight < UDP_IN_FLIGHT))) {
      const record = this.shift();
      this.sendDatagram(socket, formatAuditRecord(this.header, record), record.seq);
      n++;
    }
    this.sent += n;
    if (this.count > 0 && this.inFlight < UDP_IN_FLIGHT) this.schedule();
  }

  /** Sends one datagram: an audit record (seq > 0) or the notice about `gap`. */
  private sendDatagram(socket: dgram.Socket, message: string, seq: number, gap?: { count: number; first: number; last: number }): void {
    const datagram = truncateUtf8(Buffer.from(message, 'utf8'), this.maxDatagram);
    this.inFlight++;
    socket.send(datagram, (err) => {
      this.inFlight--;
      if (err) {
        // Linux reports an ICMP port unreachable on the next send of a connected socket.
        if (seq > 0) {
          this.sent--;
          this.noteDropped(seq);
        } else if (gap) {
          // The notice was not sent either: report its records with the next one.
          this.notices--;
          this.gap += gap.count;
          this.gapFirst = this.gap === gap.count ? gap.first : Math.min(this.gapFirst, gap.first);
          this.gapLast = this.gap === gap.count ? gap.last : Math.max(this.gapLast, gap.last);
        }
        this.warn(`${(err as NodeJS.ErrnoException).code ?? err.message}`);
      }
      if (this.inFlight === 0) this.udpIdle?.();
      if (this.up && this.udp === socket && (this.count > 0 || this.gap > 0)) this.schedule();
    });
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    if (this.stream) await this.closeStream(this.stream);
    else if (this.udp) await this.closeUdp(this.udp);
    this.up = false;
    const unsent = this.count + this.gap;
    if (unsent > 0) {
      this.log('warn', `syslog forwarding to ${this.target}: ${unsent} audit records were not forwarded before shutdown; the local audit log holds them`, {
        queued: this.count,
        dropped: this.dropped,
      });
    }
  }

  private closeStream(socket: net.Socket): Promise<void> {
    return new Promise<void>((resolve) => {
      // Held referenced while closing so the process waits for the flush (bounded by the timer).
      socket.ref();
      const timer = setTimeout(() => socket.destroy(), this.closeTimeout);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      const finish = () => {
        this.flush(true);
        // 'finish': everything is in the kernel, which still delivers it after the close.
        socket.end(() => socket.destroy());
      };
      if (this.up) finish();
      else socket.once('connect', finish);
    });
  }

  private async closeUdp(socket: dgram.Socket): Promise<void> {
    socket.ref();
    if (this.up) this.flush(true);
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.closeTimeout);
        timer.unref();
        this.udpIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.udp = undefined;
    try {
      socket.close();
    } catch {
      /* already closed after an error */
    }
  }
}
