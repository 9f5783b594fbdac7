// Time synchronisation in words, from `chronyc -n tracking` and `chronyc -n sources` (the report
// formats of chronyc(1), chrony 4). Pure: the status action runs the commands and passes the text.

export interface NtpState {
  /** undefined when chrony could not be asked. */
  readonly synchronized: boolean | undefined;
  /** e.g. "synchronised to 10.0.0.5 (stratum 2), offset 0.4 ms fast". */
  readonly text: string;
}

/** One line of `chronyc -n sources`. */
export interface NtpSource {
  /** '^' server, '=' peer, '#' local reference clock. */
  readonly mode: string;
  /** '*' selected, '+' combined, '-' not combined, '?' unusable, 'x' falseticker, '~' too variable. */
  readonly state: string;
  readonly name: string;
  readonly stratum: number;
  /** The reach register (octal in the report): the last eight polls, 0 when none was answered. */
  readonly reach: number;
}

/** "Name : value" lines of the tracking report. */
export function trackingFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z ()]*?)\s*:\s?(.*)$/.exec(line.trimEnd());
    if (m) fields.set(m[1]!, m[2]!.trim());
  }
  return fields;
}

/** The source lines of the sources report (after the "=====" rule; "210 Number of sources" is older chrony's header). */
export function parseSources(text: string): NtpSource[] {
  const out: NtpSource[] = [];
  for (const line of text.split('\n')) {
    const m = /^([\^=#])([*+\-?x~])\s+(\S+)\s+(\d+)\s+\d+\s+([0-7]+)\s/.exec(line);
    if (m) out.push({ mode: m[1]!, state: m[2]!, name: m[3]!, stratum: Number(m[4]), reach: parseInt(m[5]!, 8) });
  }
  return out;
}

/** Seconds as the administrator reads an offset: µs below 0.1 ms, ms below 1 s. */
export function formatOffset(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 0.0001) return `${Math.round(s * 1e6)} µs`;
  if (s < 1) return `${(s * 1000).toFixed(1)} ms`;
  return `${s.toFixed(3)} s`;
}

const list = (names: readonly string[]): string => (names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', '));

/**
 * The state in words. `tracking` and `sources` are the commands' output; `error` what they printed
 * on stderr when they failed (chronyd not running: "506 Cannot talk to daemon").
 */
export function describeNtp(tracking: string, sources: string | undefined, error = ''): NtpState {
  const f = trackingFields(tracking);
  const leap = f.get('Leap status');
  if (!leap) {
    const why = error.trim() || tracking.trim();
    if (/cannot talk to daemon|connection refused|no such file/i.test(why)) return { synchronized: undefined, text: 'unknown: the time service (chrony) is not running' };
    return { synchronized: undefined, text: `unknown: chrony gave no tracking information${why ? ` (${why.split('\n')[0]!.slice(0, 120)})` : ''}` };
  }
  // "Reference ID : C0A80105 (192.168.1.5)"; 00000000 when it has none (RFC 5905 §7.3: refid).
  const ref = /^([0-9A-Fa-f]{8})\s*\((.*)\)$/.exec(f.get('Reference ID') ?? '');
  const refId = ref?.[1]?.toUpperCase() ?? '00000000';
  const refName = ref?.[2]?.trim() ?? '';
  if (leap !== 'Not synchronised' && refId !== '00000000') {
    const stratum = Number(f.get('Stratum'));
    const offset = /^([\d.]+) seconds (slow|fast) of NTP time$/.exec(f.get('System time') ?? '');
    // chrony's stratum is this machine's: its source is one less (RFC 5905 §3).
    const local = refId === '7F7F0101' || (refName === '' && stratum >= 10);
    const source = local ? 'the local clock, not an NTP server' : refName || refId;
    const parts = [`synchronised to ${source}${!local && stratum > 1 ? ` (stratum ${stratum - 1})` : ''}`];
    if (offset) parts.push(`offset ${formatOffset(Number(offset[1]))} ${offset[2]}`);
    const pending = leap === 'Insert second' ? '; a leap second will be inserted' : leap === 'Delete second' ? '; a leap second will be deleted' : '';
    return { synchronized: true, text: `${parts.join(', ')}${pending}` };
  }
  if (sources === undefined) return { synchronized: false, text: 'not synchronised' };
  const all = parseSources(sources).filter((s) => s.mode !== '#');
  if (all.length === 0) return { synchronized: false, text: 'not synchronised: no NTP servers configured' };
  const reachable = all.filter((s) => s.reach !== 0);
  if (reachable.length === 0) return { synchronized: false, text: `not synchronised: no NTP server reachable (${list(all.map((s) => s.name))})` };
  const falsetickers = reachable.filter((s) => s.state === 'x');
  if (falsetickers.length > 0 && falsetickers.length === reachable.length) {
    return { synchronized: false, text: `not synchronised: the NTP servers disagree about the time (${list(falsetickers.map((s) => s.name))})` };
  }
  return { synchronized: false, text: `not synchronised yet: ${reachable.length} of ${all.length} NTP servers reachable (${list(reachable.map((s) => s.name))}), waiting for enough samples` };
}
