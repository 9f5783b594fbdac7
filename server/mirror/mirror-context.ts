// What the parts of mirroring (links, inbound sessions, the join) share, provided by mirror-service.ts.
import type { IssuedCertificate } from '../pki/store.js';
import type { KeyStore } from '../store/key-store.js';
import type { ChangeLog } from './change-log.js';
import type { GroupIdentity, GroupState } from './group-state.js';

export interface NodeTls {
  ca: Buffer;
  /** The node certificate followed by the CA certificate (a joining server checks the chain). */
  cert: Buffer;
  key: Buffer;
  crl: Buffer;
}

export interface MirrorContext {
  readonly identity: GroupIdentity;
  readonly store: KeyStore;
  readonly changes: ChangeLog;
  readonly group: GroupState;
  tls(): NodeTls;
  /** The data directory holding pki/ (the group's CA, handed to a joining server). */
  pkiDataDir(): string;
  /** The JSON of the wire item for our version at `changeSeq` (sent-items.ts; undefined: no row is there). */
  sentItem(changeSeq: number): string | undefined;
  /** The last position of our log that is committed and durable: what may be sent. */
  durableHead(): number;
  /** What a digest comparison with `peer` needs: our digest, our last committed position, how far we applied the peer's log. */
  digestView(peer: string): { digest: string; head: number; applied: number };
  /**
   * Runs `fn` inside the key service's transaction (with the KMIP requests of the same turn); `done`
   * hears once the commit is durable, or the error that undid it.
   */
  write(fn: () => void | (() => void), done: (err?: Error) => void): void;
  /** Runs `fn` once no transaction is open (at once, or when the open one ends). */
  whenNoTransaction(fn: () => void): void;
  /** A mirroring event: logged, and audited (so the SIEM hears it). */
  report(level: 'info' | 'warn' | 'error', operation: string, detail: string, peer?: string): void;
  /** The member list changed (a join, a removal, news from a peer). */
  membersChanged(): void;
  /** Our digests disagreed with `peer`'s: send it our whole log again. */
  resendTo(peer: string): void;
  /** `peer`'s clock is this far ahead of ours (more than hlc.ts allows): reported, not followed. */
  clockAhead(peer: string, aheadMs: number): void;
  /** The certificates this server's index holds (sent to peers). */
  issuedCertificates(): IssuedCertificate[];
  /** A peer's issued certificates (and revocations): merged into ours (server/pki/issued-merge.ts). */
  mergePki(certificates: IssuedCertificate[], peer: string): void;
  /** The members whose links to this server are up (their changes reach it directly). */
  hears(): string[];
  /** For each member it hears, its log and how far this server has applied it (durably). */
  heardCursors(): { node: string; log: string; applied: number }[];
  /** A peer acknowledged our log up to `upTo` (durably applied). */
  peerAcked(upTo: number): void;
  /** Changes made at these wall times (their stamps) are now durable here: replication lag samples. */
  recordLag(walls: number[]): void;
  /** Audits a batch applied from `peer` (in its transaction, after its savepoint). */
  auditApplied(peer: string, address: string, changed: number, received: number, upTo: number): void;
}
