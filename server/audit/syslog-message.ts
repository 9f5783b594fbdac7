// Syslog messages for audit records: pure formatting and framing, no sockets (the forwarder in
// syslog-forwarder.ts sends them). One RFC 5424 message per audit record:
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [keyhaven@32473 seq=".." identity=".." ...] MSG
//
// 32473 is the private enterprise number reserved for documentation (RFC 5612); the SD-ID keeps the
// "name@number" form of RFC 5424 §6.3.2 so collectors parse it as a custom element.
import { Buffer } from 'node:buffer';
import { AUDIT_CHECK_OPERATION, type AuditRecord } from './audit-log.js';

/** Facility names accepted in the configuration and their codes (RFC 5424 §6.2.1, Table 1). */
export const FACILITIES = {
  kern: 0,
  user: 1,
  daemon: 3,
  auth: 4,
  authpriv: 10,
  audit: 13,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

export type FacilityName = keyof typeof FACILITIES;
export const FACILITY_NAMES = Object.keys(FACILITIES) as [FacilityName, ...FacilityName[]];

/** Severities (RFC 5424 §6.2.1, Table 2). */
export const Severity = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;

/** The SD-ID of every structured-data element Keyhaven sends (RFC 5424 §6.3.2, RFC 5612). */
export const SD_ID = 'keyhaven@32473';
/** MSGID of audit records and of the notice about records that were not forwarded. */
export const MSGID_AUDIT = 'audit';
export const MSGID_GAP = 'audit-gap';

/** Header field limits in octets (RFC 5424 §6). */
export const HEADER_LIMITS = { hostname: 255, appName: 48, procId: 128, msgId: 32 } as const;

const NILVALUE = '-';

/** PRI value: facility * 8 + severity (RFC 5424 §6.2.1). */
export function priority(facility: number, severity: number): number {
  return facility * 8 + severity;
}

/** info for success, warning for a failed operation, alert for the audit log's tamper record. */
export function severityOf(record: Pick<AuditRecord, 'operation' | 'result'>): number {
  if (record.operation === AUDIT_CHECK_OPERATION) return Severity.alert;
  return record.result === 'success' ? Severity.info : Severity.warning;
}

// Control characters (C0, DEL, C1) are written as '#' and three octal digits, the convention
// rsyslog uses for received control characters (LF is "#012"), so a value can never end the line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const PARAM_SPECIAL = /["\\\]\u0000-\u001f\u007f-\u009f]/g;
// Non-global twins for the common case, a value with nothing to escape (no lastIndex state).
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const HAS_PARAM_SPECIAL = /["\\\]\u0000-\u001f\u007f-\u009f]/;

function controlEscape(c: string): string {
  return `#${c.charCodeAt(0).toString(8).padStart(3, '0')}`;
}

/** Free text (MSG) with control characters made visible. */
export function escapeText(text: string): string {
  return HAS_CONTROL.test(text) ? text.replace(CONTROL, controlEscape) : text;
}

/** An SD-PARAM value: '"', '\' and ']' escaped with '\' (RFC 5424 §6.3.3), control characters made visible. */
export function escapeParamValue(value: string): string {
  if (!HAS_PARAM_SPECIAL.test(value)) return value;
  return value.replace(PARAM_SPECIAL, (c) => (c === '"' || c === '\\' || c === ']' ? `\\${c}` : controlEscape(c)));
}

/**
 * A header field (HOSTNAME, APP-NAME, PROCID, MSGID): PRINTUSASCII only (RFC 5424 §6: octets
 * 33..126), anything else replaced by '_', cut to the field's limit; NILVALUE when empty.
 */
export function headerField(value: string, limit: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, limit);
  return clean.length > 0 ? clean : NILVALUE;
}

// FULL-DATE "T" FULL-TIME with at most 6 fraction digits (RFC 5424 §6.2.3).
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** The record's time when it is a valid RFC 5424 TIMESTAMP (the audit log writes ISO 8601 UTC), else NILVALUE. */
export function timestamp(time: string): string {
  // Records of one event-loop turn share their time: check each distinct value once.
  if (time === lastTime) return lastTimestamp;
  lastTime = time;
  lastTimestamp = TIMESTAMP.test(time) ? time : NILVALUE;
  return lastTimestamp;
}
let lastTime = '';
let lastTimestamp = NILVALUE;

export interface SyslogHeaderOptions {
  /** Facility code (see FACILITIES). */
  facility: number;
  hostname: string;
  appName: string;
  procId: string;
}

/** The parts of the header that are the same for every message, checked once. */
export interface SyslogHeader {
  facility: number;
  /** "HOSTNAME APP-NAME PROCID" */
  middle: string;
}

export function syslogHeader(o: SyslogHeaderOptions): SyslogHeader {
  const middle = [
    headerField(o.hostname, HEADER_LIMITS.hostname),
    headerField(o.appName, HEADER_LIMITS.appName),
    headerField(o.procId, HEADER_LIMITS.procId),
  ].join(' ');
  return { facility: o.facility, middle };
}

/** Object lists longer than this are shortened in the sentence (the SD-PARAM keeps all of them). */
const MAX_OBJECTS_IN_TEXT = 80;

function objectsText(objectId: string): string {
  if (objectId.length <= MAX_OBJECTS_IN_TEXT) return objectId;
  const ids = objectId.split(',');
  return `${ids[0]} and ${ids.length - 1} more`;
}

/** The human sentence of a record, e.g. "Get 1234 by CN=vcenter from 10.0.0.5: success". */
export function auditSentence(r: AuditRecord): string {
  let s = r.operation;
  if (r.objectId) s += ` ${objectsText(r.objectId)}`;
  s += ` by ${r.identity}`;
  if (r.address && r.address !== NILVALUE) s += ` from ${r.address}`;
  s += `: ${r.result}`;
  if (r.reason) s += ` (${r.reason})`;
  return s;
}

/**
 * One audit record as an RFC 5424 message (no framing). MSG is UTF-8 without the BOM that §6.4
 * allows: many SIEMs display the BOM as junk at the start of every message.
 */
export function formatAuditRecord(h: SyslogHeader, r: AuditRecord): string {
  const pri = priority(h.facility, severityOf(r));
  const sd =
    `[${SD_ID} seq="${r.seq}" identity="${escapeParamValue(r.identity)}" address="${escapeParamValue(r.address)}"` +
    ` operation="${escapeParamValue(r.operation)}" object="${escapeParamValue(r.objectId)}"` +
    ` result="${escapeParamValue(r.result)}" reason="${escapeParamValue(r.reason)}"]`;
  return `<${pri}>1 ${timestamp(r.time)} ${h.middle} ${MSGID_AUDIT} ${sd} ${escapeText(auditSentence(r))}`;
}

export interface Notice {
  severity: number;
  msgId: string;
  text: string;
  /** ISO 8601; now when omitted. */
  time?: string;
  /** SD-PARAMs of an optional keyhaven@32473 element. */
  params?: Record<string, string | number>;
}

/** A message that is not an audit record (e.g. "N audit records were not forwarded…"). */
export function formatNotice(h: SyslogHeader, n: Notice): string {
  const pri = priority(h.facility, n.severity);
  const params = n.params ? Object.entries(n.params) : [];
  const sd = params.length
    ? `[${SD_ID}${params.map(([k, v]) => ` ${headerField(k.replace(/[= \]"]/g, '_'), 32)}="${escapeParamValue(String(v))}"`).join('')}]`
    : NILVALUE;
  const msgId = headerField(n.msgId, HEADER_LIMITS.msgId);
  return `<${pri}>1 ${timestamp(n.time ?? new Date().toISOString())} ${h.middle} ${msgId} ${sd} ${escapeText(n.text)}`;
}

/** The notice sent once the collector is reachable again after records were dropped. */
export function gapNotice(h: SyslogHeader, count: number, firstSeq: number, lastSeq: number): string {
  const contiguous = count === lastSeq - firstSeq + 1;
  const range = count === 1 ? `seq ${firstSeq}` : contiguous ? `seq ${firstSeq} to ${lastSeq}` : `between seq ${firstSeq} and ${lastSeq}`;
  const text =
    `${count} audit record${count === 1 ? ' was' : 's were'} not forwarded (${range}): the forwarding queue was full ` +
    'while the collector was unreachable or slow; the local hash-chained audit log holds them (keyhaven audit tail)';
  return formatNotice(h, {
    severity: Severity.warning,
    msgId: MSGID_GAP,
    text,
    params: { dropped: count, firstSeq, lastSeq },
  });
}

/** Octet-counting framing for TCP: "MSG-LEN SP SYSLOG-MSG" (RFC 6587 §3.4.1). */
export function frameOctetCounted(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}

/**
 * A message cut to at most `max` octets for one UDP datagram (RFC 5426 §3.2), never inside a UTF-8
 * character: the cut moves back over continuation bytes (10xxxxxx) to the start of a character.
 */
export function truncateUtf8(message: Buffer, max: number): Buffer {
  if (message.length <= max) return message;
  let end = max;
  while (end > 0 && (message[end]! & 0xc0) === 0x80) end--;
  return message.subarray(0, end);
}
