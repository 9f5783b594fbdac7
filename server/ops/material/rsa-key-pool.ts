// RSA key generation takes hundreds of milliseconds to seconds of CPU, and operations run on the
// event loop, so it never happens there: keys are generated on libuv's thread pool, one at a time
// (the pool has four threads and also runs the WAL fsyncs and scrypt, which must not queue behind
// key generation). Create Key Pair draws from a small pool of ready keys; when none is ready the
// request is set aside (KeyGenerationNeeded), the key is generated for it off the loop, and the
// request runs again with that key reserved for it.
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { KmipError } from '../../errors.js';
import { Enum } from '../../kmip/tables.js';

/** RSA keys generated on demand for one request, at most (each costs seconds of a thread). */
export const MAX_RSA_GENERATIONS_PER_REQUEST = 4;

/** Thrown by an operation that needs an RSA key no pool has ready; the service generates it. */
export class KeyGenerationNeeded extends Error {
  constructor(readonly bits: number) {
    super(`an RSA-${bits} key must be generated first`);
    this.name = 'KeyGenerationNeeded';
  }
}

/** Where an operation takes its RSA keys from (OpContext.rsaKeys). */
export interface RsaKeySource {
  /** A fresh private key of `bits`, or throws KeyGenerationNeeded. */
  take(bits: number): KeyObject;
}

/** Makes one RSA private key on the thread pool (node:crypto; tests give a stand-in). */
export type RsaGenerator = (bits: number, done: (err: Error | null, key?: KeyObject) => void) => void;

const generateOnThreadPool: RsaGenerator = (bits, done) =>
  generateKeyPair('rsa', { modulusLength: bits }, (err, _publicKey, privateKey) => done(err, privateKey));

export class RsaKeyPool {
  private readonly ready = new Map<number, KeyObject[]>();
  private readonly refilling = new Set<number>();
  /** Generations waiting for the single generation slot. */
  private readonly queue: { bits: number; done: (err: Error | null, key?: KeyObject) => void }[] = [];
  private busy = false;

  constructor(
    private readonly poolSize = 1,
    private readonly generateKey: RsaGenerator = generateOnThreadPool,
  ) {}

  /** A ready key of `bits`, if any; the pool is topped up in the background either way. */
  take(bits: number): KeyObject | undefined {
    const key = this.ready.get(bits)?.shift();
    this.refill(bits);
    return key;
  }

  /** Generates a key on the thread pool (one generation at a time, in order of request). */
  generate(bits: number): Promise<KeyObject> {
    return new Promise((resolve, reject) => {
      this.queue.push({ bits, done: (err, key) => (err ? reject(err) : resolve(key!)) });
      this.next();
    });
  }

  /** Starts filling the pool for the given sizes (called once at server start). */
  warm(sizes: readonly number[]): void {
    for (const bits of sizes) this.refill(bits);
  }

  private refill(bits: number): void {
    if (this.refilling.has(bits) || (this.ready.get(bits)?.length ?? 0) >= this.poolSize) return;
    this.refilling.add(bits);
    this.generate(bits).then(
      (key) => {
        this.refilling.delete(bits);
        const list = this.ready.get(bits) ?? [];
        list.push(key);
        this.ready.set(bits, list);
      },
      () => this.refilling.delete(bits),
    );
  }

  private next(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (!job) return;
    this.busy = true;
    this.generateKey(job.bits, (err, key) => {
      this.busy = false;
      job.done(err, key);
      this.next();
    });
  }
}

/**
 * The keys one request may use: those generated for it (after a KeyGenerationNeeded), then the
 * pool's ready ones; otherwise the request is set aside until one is generated.
 */
export class RequestRsaKeys implements RsaKeySource {
  // Made when first needed: most requests never take a key, and this object is made for each.
  private reserved: Map<number, KeyObject[]> | undefined;
  /** Keys handed out during the current run, given back by rewind() when the run is undone. */
  private taken: { bits: number; key: KeyObject }[] | undefined;
  /** Keys generated for this request so far. */
  generated = 0;
  private failure: Error | undefined;

  constructor(private readonly pool: RsaKeyPool) {}

  reserve(bits: number, key: KeyObject): void {
    this.keep(bits, key);
    this.generated++;
  }

  /** Generation failed: the operation that needs the key fails (General Failure), not the connection. */
  fail(err: Error): void {
    this.failure = err;
  }

  take(bits: number): KeyObject {
    const key = this.reserved?.get(bits)?.shift() ?? this.pool.take(bits);
    if (!key) {
      if (this.failure) throw new KmipError(Enum.ResultReason.GeneralFailure, `RSA-${bits} key generation failed: ${this.failure.message}`);
      if (this.generated >= MAX_RSA_GENERATIONS_PER_REQUEST) {
        throw new KmipError(
          Enum.ResultReason.IllegalOperation,
          `one request may have at most ${MAX_RSA_GENERATIONS_PER_REQUEST} RSA key pairs generated for it: send fewer Create Key Pair items per request`,
        );
      }
      throw new KeyGenerationNeeded(bits);
    }
    (this.taken ??= []).push({ bits, key });
    return key;
  }

  /** The run that took keys was rolled back: its keys (never stored) serve the next run. */
  rewind(): void {
    for (const { bits, key } of this.taken ?? []) this.keep(bits, key);
    this.taken = undefined;
  }

  private keep(bits: number, key: KeyObject): void {
    const reserved = (this.reserved ??= new Map());
    const list = reserved.get(bits) ?? [];
    list.push(key);
    reserved.set(bits, list);
  }
}
