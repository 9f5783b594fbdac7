// Which skipped members' versions a link passes on after all, when the peer's digest could not be
// compared while we had skipped versions (partial). A link skips versions from members the peer
// hears (peer-link.ts); a comparison that fails then may mean they never reach it (a member cut off
// from the peer, or gone), so we send them. But it may only mean the peer is still taking them from
// that member: a server restarted after a partition catches up from every peer at once, and sending
// it all of the member's versions a second time, through us, doubled its work (measured: 20,001
// forwarded on top of 20,001 direct in a 20,000-change catch-up).
//
// Protocol 2's digest-result carries how far the peer has applied each member it hears (cursors).
// A member is still being taken in directly while the peer stands behind where we stand in that
// member's log and has moved on since its last answer; anything else (no cursor, another log of
// the member's, no progress since last time: a stalled or silent link) is sent as before.

export interface LogCursor {
  log: string;
  applied: number;
}

/**
 * `skipped`: the members whose versions we skipped; `theirs`: the peer's cursors (protocol 2; absent
 * from a protocol 1 peer); `ours`: how far we applied each member's log; `previous`: the peer's
 * applied positions at its last answer (updated here). Returns the members to send again.
 */
export function membersToResend(skipped: Iterable<string>, theirs: ReadonlyMap<string, LogCursor> | undefined, ours: ReadonlyMap<string, LogCursor>, previous: Map<string, number>): string[] {
  const resend: string[] = [];
  for (const member of skipped) {
    const their = theirs?.get(member);
    const our = ours.get(member);
    const before = previous.get(member);
    if (their) previous.set(member, their.applied);
    else previous.delete(member);
    const catchingUp = their !== undefined && our !== undefined && their.log === our.log && their.applied < our.applied && (before === undefined || their.applied > before);
    if (!catchingUp) resend.push(member);
  }
  return resend;
}
