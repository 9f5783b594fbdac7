// Runs operations directly against a real key store in SQLite memory: no TLS, no request message.
// Each call parses its payload into the operation's request, then runs it, as the pipeline does.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { KmipError } from '../../../server/errors.js';
import { child, enumeration, structure, textString, type Item, type StructureItem } from '../../../server/kmip/item.js';
import { StructReader } from '../../../server/kmip/reader.js';
import { Enum, Tag } from '../../../server/kmip/tables.js';
import type { OpContext } from '../../../server/ops/pipeline/context.js';
import type { Operation } from '../../../server/ops/pipeline/operation.js';
import { openDatabase } from '../../../server/store/database.js';
import { KeyStore, type StoredObject } from '../../../server/store/key-store.js';
import { deriveKeys } from '../../../server/store/master-key.js';

import { attribute, av, createAesPayload } from '../../support/requests.js';

export { attribute, av, createAesPayload };

/** A stand-in for the RSA pool: generates synchronously (tests only). */
const rsaKeys = { take: (bits: number): KeyObject => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey };

export interface Harness {
  store: KeyStore;
  /** The KMIP clock (seconds), shared by every call until changed. */
  now: number;
  /** A fresh context for one batch item; `placeholder` is shared like a batch's. */
  ctx(options?: { identity?: string; minor?: number }): OpContext;
  /** Parses `payload` and runs `op`; returns the response payload's fields. */
  run<R>(op: Operation<R>, payload: Item[], ctx?: OpContext): Item[];
  /** Expects the operation to fail with this Result Reason (and message, if given). */
  fails<R>(op: Operation<R>, payload: Item[], reason: number, message?: RegExp, ctx?: OpContext): KmipError;
  load(uid: string): StoredObject;
  close(): void;
}

export function harness(): Harness {
  const { db } = openDatabase(':memory:', { create: true });
  const store = new KeyStore(db, deriveKeys(randomBytes(32)));
  const placeholder: { value?: string } = {};
  const h: Harness = {
    store,
    now: 1_700_000_000,
    ctx: ({ identity = 'CN=alice', minor = 4 } = {}) => ({
      identity,
      version: { major: 1, minor },
      now: h.now,
      store,
      server: { vendor: 'Keyhaven', product: 'Keyhaven', version: '0.0.0-test' },
      limits: { maxLocateItems: 1000, maxLocateScan: 100_000 },
      placeholder,
      objectIds: [],
      rsaKeys,
      work: { locateRows: 100_000 },
    }),
    run(op, payload, ctx = h.ctx()) {
      const p = new StructReader(structure(Tag.RequestPayload, payload), 'test request payload');
      return op.run(op.parse(p, ctx), ctx);
    },
    fails(op, payload, reason, message, ctx) {
      let caught: unknown;
      try {
        h.run(op, payload, ctx);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof KmipError, `expected a KMIP failure, got ${String(caught)}`);
      assert.equal(caught.reason, reason, caught.message);
      if (message) assert.match(caught.message, message);
      return caught;
    },
    load(uid) {
      const o = store.load(uid);
      assert.ok(o, `object ${uid} is stored`);
      return o;
    },
    close: () => db.close(),
  };
  return h;
}

/** The value of the first field with `tag` in a response payload. */
export function field<T = unknown>(fields: Item[], tag: number): T | undefined {
  return child(structure(Tag.ResponsePayload, fields), tag)?.value as T | undefined;
}

/** An attribute of a stored object by name (first instance). */
export function stored(o: StoredObject, name: string): Item | undefined {
  return o.attributes.find((a) => a.name === name)?.value;
}

export const payloadOf = (fields: Item[]): StructureItem => structure(Tag.ResponsePayload, fields);


export const uidPayload = (uid: string, more: Item[] = []): Item[] => [textString(Tag.UniqueIdentifier, uid), ...more];
