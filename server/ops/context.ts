// What every operation receives besides its request payload.
import type { ProtocolVersion } from '../kmip/versions.js';
import type { KeyStore } from '../store/key-store.js';

export interface ServerIdentity {
  vendor: string;
  product: string;
  version: string;
}

export interface OperationLimits {
  /** Upper bound on Locate results when the client sets no (or a larger) Maximum Items. */
  maxLocateItems: number;
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
  /** KMIP 1.4 §6.? ID Placeholder: the Unique Identifier the previous batch item produced. */
  placeholder: { value?: string };
  /** Object identifiers the current operation acted on, for its audit record. */
  objectIds: string[];
  /** Set when the operation wrote to the store, so its acknowledgement waits for durability. */
  wrote: boolean;
}
