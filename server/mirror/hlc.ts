// Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): timestamps that follow
// wall-clock time and still order every change after the changes it has seen, across servers whose
// clocks differ. Mirroring stamps each change with one; concurrent edits of one attribute resolve to
// the greater stamp, with the server id as the tie-break, the same on every server.
//
// A peer whose clock is far ahead must not drag everyone's stamps into its future (a later local
// change would then lose to its older one for as long as the skew lasts): its wall time is taken
// only up to MAX_AHEAD_MS beyond ours, and how far ahead it was is returned to be reported.

/** A timestamp: wall-clock milliseconds, a counter within one millisecond, and the stamping server. */
export interface Hlc {
  readonly wall: number;
  readonly logical: number;
  readonly node: string;
}

/** How far ahead of our clock a peer's stamp may pull ours (also what counts as "far ahead"). */
export const MAX_AHEAD_MS = 60_000;

/** Orders stamps: wall time, then counter, then server id (a total order: two servers never share an id). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The greater of two stamps. */
export const maxHlc = (a: Hlc, b: Hlc): Hlc => (compareHlc(a, b) >= 0 ? a : b);

const WALL_DIGITS = 15; // milliseconds up to the year 33658
const LOGICAL_DIGITS = 8; // hex: 4 billion stamps in one millisecond

/** Text that sorts as compareHlc does (for SQLite columns and logs): "000001733486400000-0000002a-node". */
export function formatHlc(h: Hlc): string {
  // The slots of one change share its stamp (one object): a replica's stamps are mostly one text.
  if (h === formatted.stamp) return formatted.text;
  const text = `${String(h.wall).padStart(WALL_DIGITS, '0')}-${h.logical.toString(16).padStart(LOGICAL_DIGITS, '0')}-${h.node}`;
  formatted.stamp = h;
  formatted.text = text;
  return text;
}

/** The stamp formatHlc wrote, or an Error naming what is wrong. */
export function parseHlc(text: string): Hlc {
  // The same text again (the slots of one change): the same (immutable) stamp.
  if (text === parsed.text) return parsed.stamp;
  const m = /^(\d{15})-([0-9a-f]{8})-(.+)$/.exec(text);
  if (!m) throw new Error(`"${text.slice(0, 80)}" is not a hybrid logical clock stamp`);
  const stamp: Hlc = Object.freeze({ wall: Number(m[1]), logical: parseInt(m[2]!, 16), node: m[3]! });
  parsed.text = text;
  parsed.stamp = stamp;
  return stamp;
}

/** The last stamp each of formatHlc and parseHlc handled (stamps are never changed once made). */
const formatted: { stamp: Hlc | undefined; text: string } = { stamp: undefined, text: '' };
const parsed: { text: string; stamp: Hlc } = { text: '', stamp: { wall: 0, logical: 0, node: '' } };

/** What receive() made of a peer's stamp. */
export interface Received {
  /** Our stamp after it: greater than both our previous stamp and the peer's (if not too far ahead). */
  readonly stamp: Hlc;
  /** How far the peer's wall time was ahead of ours, when more than MAX_AHEAD_MS; else undefined. */
  readonly aheadMs?: number;
}

export class HybridClock {
  private last: Hlc;

  constructor(
    readonly node: string,
    private readonly physical: () => number = Date.now,
    last?: Hlc,
  ) {
    if (!node) throw new Error('a hybrid logical clock needs the id of its server');
    // Resuming after a restart: never stamp below what was already handed out.
    this.last = last ? { ...last, node } : { wall: 0, logical: 0, node };
  }

  /** A stamp for a change made here, greater than every stamp this clock issued or received. */
  now(): Hlc {
    const wall = Math.max(this.last.wall, this.physical());
    const logical = wall === this.last.wall ? this.last.logical + 1 : 0;
    return (this.last = { wall, logical, node: this.node });
  }

  /** Takes in a peer's stamp (a change received): later local stamps order after it. */
  receive(remote: Hlc): Received {
    const physical = this.physical();
    const limit = physical + MAX_AHEAD_MS;
    const aheadMs = remote.wall > limit ? remote.wall - physical : undefined;
    // A stamp from too far ahead counts as if made at our limit: it is ordered, but does not drag us along.
    const remoteWall = Math.min(remote.wall, limit);
    const remoteLogical = remote.wall > limit ? 0 : remote.logical;
    const wall = Math.max(this.last.wall, remoteWall, physical);
    let logical: number;
    if (wall === this.last.wall && wall === remoteWall) logical = Math.max(this.last.logical, remoteLogical) + 1;
    else if (wall === this.last.wall) logical = this.last.logical + 1;
    else if (wall === remoteWall) logical = remoteLogical + 1;
    else logical = 0;
    this.last = { wall, logical, node: this.node };
    return aheadMs === undefined ? { stamp: this.last } : { stamp: this.last, aheadMs };
  }

  /** The last stamp issued or taken in (to persist, so a restart resumes above it). */
  get latest(): Hlc {
    return this.last;
  }
}
