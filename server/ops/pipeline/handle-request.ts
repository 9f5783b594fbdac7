// One Request Message in, one Response Message out: decode, check, authenticate, run the batch,
// and keep the response within the client's Maximum Response Size (KMIP 1.4 §6.3). Every failure
// becomes a KMIP error response in the client's protocol version where it can be known.
// Reading (readRequest) is apart from answering (answerRequest), so the service can check
// credentials and generate keys off the event loop in between.
import { KmipError, TtlvError } from '../../errors.js';
import { decode } from '../../kmip/decode.js';
import { encode } from '../../kmip/encode.js';
import type { Item } from '../../kmip/item.js';
import { ItemType } from '../../kmip/item.js';
import {
  parseRequest,
  peekVersion,
  responseBatchItem,
  responseMessage,
  type Credential,
  type RequestMessage,
  type ResponseBatchItem,
} from '../../kmip/message.js';
import { Enum, ENUM_VALUE_NAMES, Tag } from '../../kmip/tables.js';
import { isSupported, operationMinor, resultReasonFor, type ProtocolVersion } from '../../kmip/versions.js';
import { executeBatch, type BatchEnvironment, type OperationOutcome } from './execute-batch.js';

export interface AnswerEnvironment extends BatchEnvironment {
  /** Seconds since the epoch. */
  now: () => number;
  /** Largest response this server sends, whatever the client allows. */
  maxResponseSize: number;
}

export interface RequestEnvironment extends AnswerEnvironment {
  /** Most batch items one request may carry. */
  maxBatchItems: number;
  /** Returns a refusal message when the request's credentials do not satisfy policy. */
  authenticate: (identity: string, credentials: Credential[]) => string | undefined;
}

export interface RequestResult {
  response: Buffer;
  outcomes: OperationOutcome[];
  /**
   * The response reports a failure the batch's writes did not have (its own could not be sent):
   * the caller must roll back everything the request wrote rather than keep it.
   */
  undoWrites?: true;
}

/** A request read from its bytes, or the error response that answers them. */
export type ReadRequest = { kind: 'answered'; result: RequestResult } | { kind: 'request'; req: RequestMessage };

const HIGHEST: ProtocolVersion = { major: 1, minor: 4 };

/** Decodes and checks a request message; cheap, and never touches the store. */
export function readRequest(raw: Buffer, env: Pick<RequestEnvironment, 'now' | 'maxBatchItems'>): ReadRequest {
  const now = env.now();
  const answered = (result: RequestResult): ReadRequest => ({ kind: 'answered', result });
  let item: Item;
  try {
    item = decode(raw);
  } catch (err) {
    const message = err instanceof TtlvError ? `malformed TTLV: ${err.message}` : 'malformed TTLV';
    // The version cannot be read from undecodable bytes; 1.0 is understood by every 1.x client.
    return answered(failure({ major: 1, minor: 0 }, now, Enum.ResultReason.InvalidMessage, message, undefined));
  }
  const asked = peekVersion(item);
  if (asked && !isSupported(asked)) {
    return answered(failure(HIGHEST, now, Enum.ResultReason.InvalidMessage,
      `protocol version ${asked.major}.${asked.minor} is not supported; use 1.0 to 1.4`, undefined));
  }
  const version = asked ?? { major: 1, minor: 0 };
  let req: RequestMessage;
  try {
    req = parseRequest(item);
  } catch (err) {
    const e = err instanceof KmipError ? err : new KmipError(Enum.ResultReason.InvalidMessage, 'malformed request');
    return answered(failure(version, now, e.reason, e.message, echoable(item, version)));
  }
  // KMIP sets no limit on batch items; one message must not be able to carry unbounded work.
  if (req.items.length > env.maxBatchItems) {
    return answered(failure(version, now, Enum.ResultReason.InvalidMessage,
      `the request carries ${req.items.length} batch items; this server accepts at most ${env.maxBatchItems} in one message: split the batch`, echoable(item, version)));
  }
  return { kind: 'request', req };
}

/** Runs a read request: refused when `refusal` is given, else its batch, within the size limits. */
export function answerRequest(req: RequestMessage, refusal: string | undefined, env: AnswerEnvironment): RequestResult {
  const now = env.now();
  const version = req.header.version;
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
    };
  }

  const limit = Math.min(req.header.maximumResponseSize ?? Infinity, env.maxResponseSize);
  const result = executeBatch(req, env, now, limit);
  let response: Buffer;
  try {
    response = build(version, now, result.items, req.header.clientCorrelationValue);
  } catch (err) {
    // A response this server cannot encode in the client's version is its own bug: report it as a
    // General Failure rather than dropping the connection, and undo the batch's writes, which the
    // client is told did not happen.
    env.onInternalError(err);
    return {
      ...failure(version, now, Enum.ResultReason.GeneralFailure, 'the server could not encode its response; see the server log', undefined),
      undoWrites: true,
    };
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
  return { response, outcomes: result.outcomes };
}

/**
 * One Request Message in, one Response Message out, synchronously (tools and tests). The caller
 * owns the transaction: it must roll back the request's writes when the result says undoWrites.
 */
export function handleRequest(raw: Buffer, env: RequestEnvironment): RequestResult {
  const read = readRequest(raw, env);
  if (read.kind === 'answered') return read.result;
  return answerRequest(read.req, env.authenticate(env.identity, read.req.header.credentials), env);
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
  };
}

/** The first batch item's Operation, when the client's version defines it (KMIP 1.4 §6.1: only then echoed). */
function echoable(item: Item, version: ProtocolVersion): number | undefined {
  const operation = firstOperation(item);
  return operation !== undefined && operationMinor(operation) <= version.minor ? operation : undefined;
}

/** The Operation of the first batch item, if it can be read, to label an error response. */
function firstOperation(item: Item): number | undefined {
  if (item.type !== ItemType.Structure) return undefined;
  for (const bi of item.value) {
    if (bi.type !== ItemType.Structure || bi.tag !== Tag.BatchItem) continue;
    const op = bi.value.find((c) => c.type === ItemType.Enumeration && c.tag === Tag.Operation);
    if (op?.type === ItemType.Enumeration && ENUM_VALUE_NAMES.Operation.has(op.value)) return op.value;
  }
  return undefined;
}

