// Request and Response Messages: KMIP 1.4 §7 (message structure) and §6 (message contents).
import { KmipError } from './errors.js';
import {
  byteString,
  dateTime,
  enumeration,
  integer,
  structure,
  textString,
  type Item,
  type StructureItem,
} from './item.js';
import { invalidMessage, StructReader } from './reader.js';
import { Enum, Tag } from './tables.js';
import { firstUndefinedIn, type ProtocolVersion } from './versions.js';

const T = Tag;

export interface Credential {
  type: number;
  /** Username and Password credential (KMIP 1.4 §2.1.2, Table 4). */
  username?: string;
  password?: string;
  /** The Credential Value as sent, for other credential types. */
  value: Item;
}

export interface RequestHeader {
  version: ProtocolVersion;
  maximumResponseSize?: number;
  clientCorrelationValue?: string;
  asynchronousIndicator?: boolean;
  credentials: Credential[];
  /** KMIP 1.4 §6.14: Stop when absent. */
  batchErrorContinuationOption: number;
  batchOrderOption?: boolean;
  timeStamp?: number;
  batchCount: number;
}

export interface MessageExtension {
  vendorIdentification: string;
  criticalityIndicator: boolean;
}

export interface RequestBatchItem {
  operation: number;
  uniqueBatchItemId?: Buffer;
  payload: StructureItem;
  extension?: MessageExtension;
}

export interface RequestMessage {
  header: RequestHeader;
  items: RequestBatchItem[];
}

/**
 * The protocol version a request asks for, read as leniently as possible so that even a malformed
 * request can be answered in the client's version.
 */
export function peekVersion(message: Item): ProtocolVersion | undefined {
  if (message.type !== 0x01 || message.tag !== T.RequestMessage) return undefined;
  const header = message.value.find((c) => c.tag === T.RequestHeader);
  if (header?.type !== 0x01) return undefined;
  const pv = header.value.find((c) => c.tag === T.ProtocolVersion);
  if (pv?.type !== 0x01) return undefined;
  const major = pv.value.find((c) => c.tag === T.ProtocolVersionMajor);
  const minor = pv.value.find((c) => c.tag === T.ProtocolVersionMinor);
  if (major?.type !== 0x02 || minor?.type !== 0x02) return undefined;
  return { major: major.value, minor: minor.value };
}

export function readProtocolVersion(r: StructReader): ProtocolVersion {
  const v = { major: r.required(T.ProtocolVersionMajor, 0x02), minor: r.required(T.ProtocolVersionMinor, 0x02) };
  r.done();
  return v;
}

/** KMIP 1.4 §7.1, §7.2: parses and checks a whole Request Message. Throws KmipError (Invalid Message). */
export function parseRequest(message: Item): RequestMessage {
  if (message.tag !== T.RequestMessage) throw invalidMessage('the message is not a Request Message');
  const m = StructReader.of(message, 'Request Message');
  const header = parseHeader(m.requiredStruct(T.RequestHeader, 'Request Header'));
  const items = m.all(T.BatchItem, 0x01).map((it, i) => parseBatchItem(new StructReader(it, `Batch Item ${i + 1}`)));
  m.done();
  if (items.length === 0) throw invalidMessage('the request has no Batch Item');
  // KMIP 1.4 §6.14: Batch Count is the number of Batch Items in the message.
  if (header.batchCount !== items.length) {
    throw invalidMessage(`Batch Count is ${header.batchCount} but the request has ${items.length} Batch Items`);
  }
  return { header, items };
}

function parseHeader(h: StructReader): RequestHeader {
  const version = readProtocolVersion(h.requiredStruct(T.ProtocolVersion, 'Protocol Version'));
  const maximumResponseSize = h.optional(T.MaximumResponseSize, 0x02);
  if (maximumResponseSize !== undefined && maximumResponseSize <= 0) {
    throw invalidMessage(`Maximum Response Size must be positive, not ${maximumResponseSize}`);
  }
  const credentials: Credential[] = [];
  const auth = h.optionalStruct(T.Authentication, 'Authentication');
  if (auth) {
    for (const c of auth.all(T.Credential, 0x01)) credentials.push(parseCredential(new StructReader(c, 'Credential')));
    auth.done();
    if (credentials.length === 0) throw invalidMessage('Authentication carries no Credential');
  }
  const header: RequestHeader = {
    version,
    credentials,
    batchErrorContinuationOption:
      h.optional(T.BatchErrorContinuationOption, 0x05) ?? Enum.BatchErrorContinuationOption.Stop,
    batchCount: h.required(T.BatchCount, 0x02),
  };
  if (maximumResponseSize !== undefined) header.maximumResponseSize = maximumResponseSize;
  const async = h.optional(T.AsynchronousIndicator, 0x06);
  if (async !== undefined) header.asynchronousIndicator = async;
  const order = h.optional(T.BatchOrderOption, 0x06);
  if (order !== undefined) header.batchOrderOption = order;
  const ts = h.optional(T.TimeStamp, 0x09);
  if (ts !== undefined) header.timeStamp = ts;
  if (version.minor >= 4) {
    const ccv = h.optional(T.ClientCorrelationValue, 0x07);
    if (ccv !== undefined) header.clientCorrelationValue = ccv;
    h.ignore(T.ServerCorrelationValue);
  }
  if (version.minor >= 2) h.ignore(T.AttestationCapableIndicator, T.AttestationType);
  const bec = header.batchErrorContinuationOption;
  if (bec < 1 || bec > 3) throw invalidMessage(`Batch Error Continuation Option ${bec} is not Continue, Stop or Undo`);
  h.done();
  return header;
}

function parseCredential(c: StructReader): Credential {
  const type = c.required(T.CredentialType, 0x05);
  const valueItem = c.item.value.find((x) => x.tag === T.CredentialValue);
  if (!valueItem) throw invalidMessage('Credential lacks the required Credential Value');
  c.ignore(T.CredentialValue);
  c.done();
  const cred: Credential = { type, value: valueItem };
  if (type === Enum.CredentialType.UsernameAndPassword) {
    const v = StructReader.of(valueItem, 'Username and Password Credential Value');
    cred.username = v.required(T.Username, 0x07);
    const pw = v.optional(T.Password, 0x07);
    if (pw !== undefined) cred.password = pw;
    v.done();
  }
  return cred;
}

function parseBatchItem(b: StructReader): RequestBatchItem {
  const operation = b.required(T.Operation, 0x05);
  const id = b.optional(T.UniqueBatchItemID, 0x08);
  const payload = b.requiredItem(T.RequestPayload, 0x01);
  const item: RequestBatchItem = { operation, payload };
  if (id !== undefined) item.uniqueBatchItemId = id;
  const ext = b.optionalStruct(T.MessageExtension, 'Message Extension');
  if (ext) {
    // KMIP 1.4 §6.16: the server SHALL refuse a critical extension it does not understand.
    item.extension = {
      vendorIdentification: ext.required(T.VendorIdentification, 0x07),
      criticalityIndicator: ext.required(T.CriticalityIndicator, 0x06),
    };
    ext.ignore(T.VendorExtension);
    ext.done();
  }
  b.done();
  return item;
}

export interface ResponseBatchItem {
  operation?: number;
  uniqueBatchItemId?: Buffer;
  /** Result Status, KMIP 1.4 §9.1.3.2.28. */
  status: number;
  reason?: number;
  message?: string;
  payload?: StructureItem;
}

export interface ResponseHeaderFields {
  version: ProtocolVersion;
  timeStamp: number;
  clientCorrelationValue?: string;
}

export function versionItem(v: ProtocolVersion): StructureItem {
  return structure(T.ProtocolVersion, [integer(T.ProtocolVersionMajor, v.major), integer(T.ProtocolVersionMinor, v.minor)]);
}

export function responseBatchItem(r: ResponseBatchItem): StructureItem {
  const fields: Item[] = [];
  if (r.operation !== undefined) fields.push(enumeration(T.Operation, r.operation));
  if (r.uniqueBatchItemId !== undefined) fields.push(byteString(T.UniqueBatchItemID, r.uniqueBatchItemId));
  fields.push(enumeration(T.ResultStatus, r.status));
  if (r.reason !== undefined) fields.push(enumeration(T.ResultReason, r.reason));
  if (r.message !== undefined) fields.push(textString(T.ResultMessage, r.message));
  if (r.payload !== undefined) fields.push(r.payload);
  return structure(T.BatchItem, fields);
}

/** KMIP 1.4 §7.2: the Response Message, checked against the version it is sent in. */
export function responseMessage(h: ResponseHeaderFields, items: StructureItem[]): StructureItem {
  const header: Item[] = [versionItem(h.version), dateTime(T.TimeStamp, h.timeStamp)];
  if (h.clientCorrelationValue !== undefined && h.version.minor >= 4) {
    header.push(textString(T.ClientCorrelationValue, h.clientCorrelationValue));
  }
  header.push(integer(T.BatchCount, items.length));
  const msg = structure(T.ResponseMessage, [structure(T.ResponseHeader, header), ...items]);
  const bad = firstUndefinedIn(msg, h.version);
  if (bad) throw new KmipError(Enum.ResultReason.GeneralFailure, `internal error: response would carry ${bad}`);
  return msg;
}

