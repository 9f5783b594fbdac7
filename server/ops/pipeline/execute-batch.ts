// Runs the batch items of a request (KMIP 1.4 §7.1, §6.13–§6.15): in order, each atomic, with the
// ID Placeholder passed along, and the Batch Error Continuation Option applied on failure:
// Continue processes every item; Stop (the default) ends the batch at the failing item; Undo also
// rolls back the items before it and reports them as Operation Undone.
import { notServedHere, type PortPolicy } from './port-roles.js';
import { KeyhavenError, KmipError } from '../../errors.js';
import type { RequestMessage, ResponseBatchItem } from '../../kmip/message.js';
import { StructReader } from '../../kmip/reader.js';
import { Enum, ENUM_VALUE_NAMES, Tag } from '../../kmip/tables.js';
import { structure } from '../../kmip/item.js';
import { sizeOf } from '../../kmip/encode.js';
import { operationMinor, resultReasonFor } from '../../kmip/versions.js';
import type { KeyStore } from '../../store/key-store.js';
import type { OperationLimits, OpContext, ServerIdentity, WorkBudget } from './context.js';
import { FailureWithPayload } from './failure-with-payload.js';
import { OPERATIONS } from './registry.js';
import { KeyGenerationNeeded, type RsaKeySource } from '../material/rsa-key-pool.js';

export interface OperationOutcome {
  operation: string;
  objectIds: string[];
  result: 'success' | 'failure' | 'undone';

  /** Result Reason name for failures. */
  reason: string;
}

export interface BatchResult {
  items: ResponseBatchItem[];
  outcomes: OperationOutcome[];
}

export interface BatchEnvironment {
  identity: string;
  store: KeyStore;
  server: ServerIdentity;
  limits: OperationLimits;
  rsaKeys: RsaKeySource;
  /** Receives unexpected (non-KMIP) errors, for the operator's log. */
  onInternalError: (err: unknown) => void;
  /** The port the request came in on, and what it serves (undefined: everything). */
  port?: PortPolicy;
}

const Status = Enum.ResultStatus;
const Continuation = Enum.BatchErrorContinuationOption;

/**
 * `now`: seconds since the epoch, fixed for the request. `responseLimit`: the largest response the
 * client may receive; once the payloads built so far exceed it, the remaining batch items are not
 * run (KMIP 1.4 §6.3: the response would be refused anyway), so a batch of large answers stops
 * costing work as soon as it cannot be sent.
 */
export function executeBatch(req: RequestMessage, env: BatchEnvironment, now: number, responseLimit: number): BatchResult {
  const version = req.header.version;
  const placeholder: { value?: string } = {};
  const items: ResponseBatchItem[] = [];
  const outcomes: OperationOutcome[] = [];
  const undo = req.header.batchErrorContinuationOption === Continuation.Undo;
  let responseBytes = 0;
  const work: WorkBudget = { locateRows: env.limits.maxLocateScan };
  if (undo) env.store.savepoint('kh_batch');

  for (const bi of req.items) {
    const entry = OPERATIONS.get(bi.operation);
    const opName = entry?.name ?? ENUM_VALUE_NAMES.Operation.get(bi.operation) ?? `operation ${bi.operation}`;
    const ctx: OpContext = {
      identity: env.identity,
      version,
      now,
      store: env.store,
      server: env.server,
      limits: env.limits,
      placeholder,
      objectIds: [],
      rsaKeys: env.rsaKeys,
      work,
      ...(env.port?.operations ? { served: env.port.operations } : {}),
    };
    // An operation the client's version does not define is not echoed back in the response.
    const response: ResponseBatchItem = { status: Status.Success };
    if (operationMinor(bi.operation) <= version.minor) response.operation = bi.operation;
    if (bi.uniqueBatchItemId !== undefined) response.uniqueBatchItemId = bi.uniqueBatchItemId;
    if (responseBytes > responseLimit) {
      // Not run: the response is already too large to send (handleRequest reports every item).
      response.status = Status.OperationFailed;
      response.reason = Enum.ResultReason.ResponseTooLarge;
      response.message = `not processed: the response already exceeds the Maximum Response Size of ${responseLimit} bytes`;
      items.push(response);
      outcomes.push({ operation: opName, objectIds: [], result: 'failure', reason: 'Response Too Large' });
      continue;
    }
    env.store.savepoint('kh_item');
    try {
      if (!entry || entry.minor > version.minor) {
        throw new KmipError(Enum.ResultReason.OperationNotSupported, `${opName} is not supported in KMIP ${version.major}.${version.minor}`);
      }
      const elsewhere = notServedHere(env.port, bi.operation, opName);
      if (elsewhere) throw new KmipError(Enum.ResultReason.OperationNotSupported, elsewhere);
      if (bi.extension?.criticalityIndicator) {
        throw new KmipError(
          Enum.ResultReason.FeatureNotSupported,
          `Critical Message Extension from "${bi.extension.vendorIdentification}" is not supported`,
        );
      }
      const fields = entry.handler(new StructReader(bi.payload, `${opName} request payload`), ctx);
      response.payload = structure(Tag.ResponsePayload, fields);
      // Only a later item can be saved from running; a lone item's size is checked once encoded.
      if (req.items.length > 1) responseBytes += sizeOf(response.payload);
      env.store.release('kh_item');
      outcomes.push({ operation: opName, objectIds: ctx.objectIds, result: 'success', reason: '' });
    } catch (err) {
      // Not a failure of the item: the service generates the key off the event loop and runs the
      // whole request again (it rolls back everything this run did).
      if (err instanceof KeyGenerationNeeded) throw err;
      env.store.rollbackTo('kh_item');
      const failure = asKmipError(err, env);
      const reason = resultReasonFor(failure.reason, version);
      response.status = Status.OperationFailed;
      response.reason = reason;
      response.message = failure.message;
      if (failure instanceof FailureWithPayload) response.payload = structure(Tag.ResponsePayload, failure.payload);
      items.push(response);
      outcomes.push({
        operation: opName,
        objectIds: ctx.objectIds,
        result: 'failure',
        reason: failure.auditReason ?? ENUM_VALUE_NAMES.ResultReason.get(reason) ?? String(reason),
      });
      // With Continue, a later item must not silently act on an object chosen before the failure.
      delete placeholder.value;
      if (req.header.batchErrorContinuationOption === Continuation.Continue) continue;
      if (undo) {
        env.store.rollbackTo('kh_batch');
        for (let i = 0; i < items.length - 1; i++) {
          const done = items[i]!;
          if (done.status === Status.Success) {
            done.status = Status.OperationUndone;
            delete done.payload;
            outcomes[i]!.result = 'undone';
          }
        }
      }
      return { items, outcomes };
    }
    items.push(response);
  }
  if (undo) env.store.release('kh_batch');
  return { items, outcomes };
}

/** Any error as a KMIP failure: General Failure, with a KeyhavenError's message; any other error's details stay in the log. */
function asKmipError(err: unknown, env: BatchEnvironment): KmipError {
  if (err instanceof KmipError) return err;
  env.onInternalError(err);
  const detail = err instanceof KeyhavenError ? err.message : 'an internal error occurred; see the server log';
  return new KmipError(Enum.ResultReason.GeneralFailure, detail);
}
