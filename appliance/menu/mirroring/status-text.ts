// The mirroring status as the menu prints it: this server, then each peer — connected or not and
// since when, whether it hears us and we hear it, lag in changes (queue) and seconds, the last error,
// the last digest comparison. Pure, so it is tested on its own.
import type { MirrorStatusOutcome } from '../../admin/actions/mirror-status.js';

type Status = NonNullable<MirrorStatusOutcome>;

const since = (iso: string | undefined) => (iso ? ` since ${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}` : '');

export function mirrorStatusText(s: MirrorStatusOutcome): string {
  if (!s) return 'The key server has not run with mirroring yet (it starts when first boot is complete).';
  const lines = [
    `This server   ${s.node} at ${s.address}, group ${s.group}: ${s.running ? 'running' : 'NOT RUNNING'} (status of ${s.updatedAt})`,
    `              ${s.objects} objects, change log at ${s.head}`,
  ];
  if (s.applyLag.changes > 0 && s.applyLag.p50Ms !== null) lines.push(`              applied ${s.applyLag.changes} changes from peers in the last minute, lag p50 ${s.applyLag.p50Ms} ms, p99 ${s.applyLag.p99Ms} ms`);
  const members = s.peers.filter((p) => !p.removed);
  if (members.length === 0) lines.push('', 'No other servers: this server is a group of one. Add one with Mirroring → Add a server.');
  for (const p of members) lines.push('', ...peerLines(p));
  const removed = s.peers.filter((p) => p.removed);
  if (removed.length) lines.push('', `Removed: ${removed.map((p) => `${p.node} (${p.address})`).join(', ')}`);
  return lines.join('\n');
}

function peerLines(p: Status['peers'][number]): string[] {
  const link = p.connected ? `connected${since(p.since)}` : `NOT CONNECTED${since(p.since)}`;
  const lag = p.lagSeconds === null ? 'unknown' : `${p.lagSeconds.toFixed(1)} s`;
  return [
    `Peer ${p.node} at ${p.address}: ${link}`,
    `  queue ${p.queueDepth} changes, lag ${lag}; ${p.inbound ? 'we hear it' : 'we do not hear it'}`,
    `  last digest comparison: ${p.lastDigestCheck ? `${p.lastDigestCheck.result} at ${p.lastDigestCheck.at}` : 'none yet'}`,
    ...(p.lastError ? [`  last error: ${p.lastError}`] : []),
    ...(p.clockAheadMs ? [`  its clock is ${Math.round(p.clockAheadMs / 1000)} s ahead of ours: check NTP`] : []),
  ];
}
