// One Request Message in, one Response Message out: decode, check, authenticate, run the batch,
// and keep the response within the client's Maximum Response Size (KMIP 1.4 §6.3). Every failure
// becomes a KMIP error response in the client's protocol version where it can be known.
import { KmipError, TtlvError } from '../errors.js';
import { decode } from '../kmip/decode.js';
import { encode } from '../kmip/encode.js';
import type { Item } from '../kmip/item.js';
import {
  parseRequest,
  peekVersion,
  responseBatchItem,
  responseMessage,
  type Credential,
  type RequestMessage,
  type ResponseBatchItem,
} from '../kmip/message.js';
import { Enum, ENUM_VALUE_NAMES, Tag } from '../kmip/tables.js';
import { isSupported, operationMinor, resultReasonFor, type ProtocolVersion } from '../kmip/versions.js';
import { executeBatch, type BatchEnvironment, type OperationOutcome } from './execute-batch.js';

export interface RequestEnvironment extends Omit<BatchEnvironment, 'now'> {
  /** Seconds since the epoch. */
  now: () => number;
  /** Largest response this server sends, whatever the client allows. */
  maxResponseSize: number;
  /** Returns a refusal message when the request's credentials do not satisfy policy. */
  authenticate: (identity: string, credentials: Credential[]) => string | undefined;
}

export interface RequestResult {
  response: Buffer;
  outcomes: OperationOutcome[];
  wrote: boolean;
}

const HIGHEST: ProtocolVersion = { major: 1, minor: 4 };

export function handleRequest(raw: Buffer, env: RequestEnvironment): RequestResult {
  const now = env.now();
  let item: Item;
  try {
    item = decode(raw);
  } catch (err) {
    const message = err instanceof TtlvError ? `malformed TTLV: ${err.message}` : 'malformed TTLV';
    // The version cannot be read from undecodable bytes; 1.0 is understood by every 1.x client.
    return failure({ major: 1, minor: 0 }, now, Enum.ResultReason.InvalidMessage, message, undefined);
  }
  const asked = peekVersion(item);
  if (asked && !isSupported(asked)) {
    return failure(HIGHEST, now, Enum.ResultReason.InvalidMessage,
      `protocol version ${asked.major}.${asked.minor} is not supported; use 1.0 to 1.4`, undefined);
  }
  const version = asked ?? { major: 1, minor: 0 };
  let req: RequestMessage;
  try {
    req = parseRequest(item);
  } catch (err) {
    const e = err instanceof KmipError ? err : new KmipError(Enum.ResultReason.InvalidMessage, 'malformed request');
    const operation = firstOperation(item);
    // Only echo an operation the client's version defines (KMIP 1.4 §6.1).
    const echoed = operation !== undefined && operationMinor(operation) <= version.minor ? operation : undefined;
    return failure(version, now, e.reason, e.message, echoed);
  }
  const refusal = env.authenticate(env.identity, req.header.credentials);
  if (refusal) {
    const items = req.items.map((bi) => ({
      operation: bi.operation,
      ...(bi.uniqueBatchItemId ? { uniqueBatchItemId: bi.uniqueBatchItemId } : {}),
      status: Enum.ResultStatus.OperationFailed,
      reason: Enum.ResultReason.AuthenticationNotSuccessful,
      message: refusal,
    }));
    return {
      response: build(version, now, items, undefined),
      outcomes: req.items.map((bi) => ({
        operation: ENUM_VALUE_NAMES.Operation.get(bi.operation) ?? String(bi.operation),
        objectIds: [],
        result: 'failure' as const,
        reason: 'Authentication Not Successful',
      })),
      wrote: false,
    };
  }

  const result = executeBatch(req, { ...env, now });
  const limit = Math.min(req.header.maximumResponseSize ?? Infinity, env.maxResponseSize);
  let response: Buffer;
  try {
    response = build(version, now, result.items, req.header.clientCorrelationValue);
  } catch (err) {
    // A response this server cannot encode in the client's version is its own bug: report it as a
    // General Failure rather than dropping the connection.
    env.onInternalError(err);
    return { ...failure(version, now, Enum.ResultReason.GeneralFailure, 'the server could not encode its response; see the server log', undefined), wrote: result.wrote };
  }
  if (response.length > limit) {
    // KMIP 1.4 §6.3: a response over the client's Maximum Response Size is replaced by errors.
    const size = response.length;
    const items = result.items.map((it): ResponseBatchItem => {
      if (!it.payload) return it;
      const { payload: _dropped, ...rest } = it;
      return {
        ...rest,
        status: Enum.ResultStatus.OperationFailed,
        reason: Enum.ResultReason.ResponseTooLarge,
        message: `Response size: ${size}, Maximum Response Size: ${limit}`,
      };
    });
    response = build(version, now, items, req.header.clientCorrelationValue);
    for (const o of result.outcomes) if (o.result === 'success') Object.assign(o, { result: 'failure', reason: 'Response Too Large' });
  }
  return { response, outcomes: result.outcomes, wrote: result.wrote };
}

/** An Invalid Message response for a stream that cannot be framed (version unknown: 1.0). */
export function protocolErrorResponse(message: string, now = Math.floor(Date.now() / 1000)): Buffer {
  return failure({ major: 1, minor: 0 }, now, Enum.ResultReason.InvalidMessage, message, undefined).response;
}

function build(version: ProtocolVersion, now: number, items: ResponseBatchItem[], correlation: string | undefined): Buffer {
  return encode(
    responseMessage(
      { version, timeStamp: now, ...(correlation !== undefined ? { clientCorrelationValue: correlation } : {}) },
      items.map(responseBatchItem),
    ),
  );
}

function failure(version: ProtocolVersion, now: number, reason: number, message: string, operation: number | undefined): RequestResult {
  const r = resultReasonFor(reason, version);
  const item: ResponseBatchItem = { status: Enum.ResultStatus.OperationFailed, reason: r, message };
  if (operation !== undefined) item.operation = operation;
  return {
    response: build(version, now, [item], undefined),
    outcomes: [{
      operation: operation !== undefined ? ENUM_VALUE_NAMES.Operation.get(operation) ?? String(operation) : '-',
      objectIds: [],
      result: 'failure',
      reason: ENUM_VALUE_NAMES.ResultReason.get(r) ?? String(r),
    }],
    wrote: false,
  };
}

/** The Operation of the first batch item, if it can be read, to label an error response. */
function firstOperation(item: Item): number | undefined {
  if (item.type !== 0x01) return undefined;
  for (const bi of item.value) {
    if (bi.type !== 0x01 || bi.tag !== Tag.BatchItem) continue;
    const op = bi.value.find((c) => c.type === 0x05 && c.tag === Tag.Operation);
    if (op?.type === 0x05 && ENUM_VALUE_NAMES.Operation.has(op.value)) return op.value;
  }
  return undefined;
}

