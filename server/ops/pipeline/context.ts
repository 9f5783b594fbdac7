// What every operation receives besides its request payload.
import type { ProtocolVersion } from '../../kmip/versions.js';
import type { KeyStore } from '../../store/key-store.js';
import type { RsaKeySource } from '../material/rsa-key-pool.js';

export interface ServerIdentity {
  vendor: string;
  product: string;
  version: string;
}

export interface OperationLimits {
  /** Upper bound on Locate results when the client sets no (or a larger) Maximum Items. */
  maxLocateItems: number;
  /** Objects the Locates of one request may examine in all (bounds the work one request causes). */
  maxLocateScan: number;
}

/** What is left of one request's work allowance; shared by its batch items. */
export interface WorkBudget {
  locateRows: number;
}

export interface OpContext {
  /** The client identity: the subject of its TLS certificate. */
  identity: string;
  version: ProtocolVersion;
  /** Seconds since the epoch, fixed for the whole request message. */
  now: number;
  store: KeyStore;
  server: ServerIdentity;
  limits: OperationLimits;
  /** KMIP 1.4 §4 (ID Placeholder): the Unique Identifier the previous batch item produced. */
  placeholder: { value?: string };
  /** Object identifiers the current operation acted on, for its audit record. */
  objectIds: string[];
  /** RSA keys for Create Key Pair (generated off the event loop). */
  rsaKeys: RsaKeySource;
  /** The request's remaining work allowance. */
  work: WorkBudget;
  /** The operations the request's port serves (Query reports those); undefined: all. */
  served?: ReadonlySet<number>;
}
