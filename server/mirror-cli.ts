// `keyhaven mirror …` and the joining half of `keyhaven dev --join-from`: work on a data directory
// outside the running server (the server itself mirrors: server/mirror/).
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { readInput, usageError, type CliIo } from '../lib/cli.js';
import type { Config } from './config.js';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { GroupState, newId } from './mirror/group-state.js';
import { formatHlc } from './mirror/hlc.js';
import { JOIN_TOKEN_TTL_MS, requestJoin } from './mirror/join.js';
import { formatJoinToken, joinAddress, parseJoinToken } from './mirror/join-token.js';
import type { Member } from './mirror/protocol.js';
import { readMirrorStatus, type MirrorStatus } from './mirror/status-file.js';
import { ensureDir, MODE_PUBLIC, MODE_SECRET, pkiPaths, writeFileAtomic } from './pki/store.js';

const openStore = async (config: Config, create: boolean) => (await import('./server.js')).openStore(config, { create });

/**
 * A join token of the group `config`'s server is in (its store records the token's hash; the
 * running server takes it). Works while that server runs.
 */
export async function issueJoinToken(config: Config, ttlMs = JOIN_TOKEN_TTL_MS): Promise<{ token: string; caFingerprint: string; address: string }> {
  const opened = await openStore(config, false);
  try {
    const group = new GroupState(opened.db, opened.store);
    const id = group.identity();
    if (!id) throw new KeyhavenError(ErrorCodes.MIRROR_NOT_ENABLED, `the server of ${config.dataDir} is not in a mirror group: start it with a mirror port first`);
    const self = group.members().find((m) => m.node === id.node);
    if (!self) throw new KeyhavenError(ErrorCodes.MIRROR_STATE, `the member list of ${config.dataDir} lacks this server (${id.node})`);
    const caFingerprint = new X509Certificate(fs.readFileSync(pkiPaths(config.dataDir).caCert)).fingerprint256;
    const secret = group.issueToken(ttlMs);
    return { token: formatJoinToken({ address: self.address, caFingerprint, secret }), caFingerprint, address: self.address };
  } finally {
    opened.db.close();
  }
}

/**
 * Makes `config`'s (new) server a member of the group the token names: the member records it, and
 * this store and pki/ take the group's identity, key and CA. A store that is a member already is
 * left alone (result 'member'): the same command run again resumes, it never joins twice.
 */
export async function joinGroup(config: Config, token: string | (() => Promise<string>), advertise: string): Promise<{ result: 'joined' | 'member'; node: string; members: Member[] }> {
  process.umask(0o077);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const opened = await openStore(config, true);
  try {
    const group = new GroupState(opened.db, opened.store);
    const known = group.identity();
    if (known) return { result: 'member', node: known.node, members: group.members() };
    if (opened.store.count().objects > 0) {
      throw new KeyhavenError(ErrorCodes.MIRROR_JOIN_REFUSED, `${config.dataDir} holds keys of its own: a server joins a group with an empty store (back up and move the data directory away first)`);
    }
    const p = pkiPaths(config.dataDir);
    const node = newId('n');
    const text = typeof token === 'string' ? token : await token();
    // Checked before the member is asked: a join refused here afterwards would leave the group a
    // member that never comes, and the token used. (requestJoin checks the member's CA is the token's.)
    if (fs.existsSync(p.caCert) && new X509Certificate(fs.readFileSync(p.caCert)).fingerprint256 !== parseJoinToken(text).caFingerprint) {
      throw new KeyhavenError(ErrorCodes.MIRROR_JOIN_REFUSED, `${p.caCert} is another CA than the group's: a server joins with a data directory without a CA (move ${p.root} away first)`);
    }
    const joined = await requestJoin(text, node, advertise);
    ensureDir(p.root);
    writeFileAtomic(p.caKey, joined.pki.caKey, MODE_SECRET);
    writeFileAtomic(p.crl, joined.pki.crl, MODE_PUBLIC);
    writeFileAtomic(p.index, joined.pki.index, MODE_SECRET);
    writeFileAtomic(p.caCert, joined.pki.caCert, MODE_PUBLIC);
    const groupKey = Buffer.from(joined.groupKey, 'base64');
    group.establish({ node, group: joined.group, log: newId('l') }, groupKey, joined.members);
    groupKey.fill(0);
    // The member list as joined: where the peers are (the appliance opens its firewall to them).
    return { result: 'joined', node, members: group.members() };
  } finally {
    opened.db.close();
  }
}

/**
 * Removes `node` from the group, from a member's data directory: its membership ends (final: it never
 * joins again) and its node certificate is revoked; the running member passes both on to the group,
 * whose servers then refuse it.
 */
export async function removeMember(config: Config, node: string): Promise<{ revoked: number }> {
  const opened = await openStore(config, false);
  try {
    const group = new GroupState(opened.db, opened.store);
    const id = group.identity();
    if (!id) throw new KeyhavenError(ErrorCodes.MIRROR_NOT_ENABLED, `the server of ${config.dataDir} is not in a mirror group`);
    if (node === id.node) throw new KeyhavenError(ErrorCodes.MIRROR_STATE, `${node} is this server: remove a server from another member of the group`);
    const m = group.members().find((x) => x.node === node);
    if (!m) throw new KeyhavenError(ErrorCodes.MIRROR_STATE, `${node} is not a member of group ${id.group}; members: ${group.members().map((x) => x.node).join(', ')}`);
    group.mergeMember({ ...m, removed: true, stamp: formatHlc({ wall: Date.now(), logical: 0, node: id.node }) });
  } finally {
    opened.db.close();
  }
  const { revoke } = await import('./pki/revoke.js');
  try {
    const r = await revoke(config.dataDir, { name: `mirror-${node}` }, 'cessationOfOperation');
    return { revoked: r.revoked.length };
  } catch (err) {
    if ((err as { code?: string }).code === ErrorCodes.PKI_UNKNOWN_CERTIFICATE) return { revoked: 0 };
    throw err;
  }
}

function describeStatus(s: MirrorStatus): string {
  const lines = [
    `server ${s.node} of group ${s.group}, reached at ${s.address}: ${s.running ? 'running' : 'NOT RUNNING'} (status of ${s.updatedAt})`,
    `  objects ${s.objects}, change log at ${s.head}, digest ${s.digest.slice(0, 16)}…`,
    `  changes applied from peers in the last minute: ${s.applyLag.changes}${s.applyLag.p50Ms === null ? '' : `, lag p50 ${s.applyLag.p50Ms} ms, p99 ${s.applyLag.p99Ms} ms, max ${s.applyLag.maxMs} ms`}`,
  ];
  if (s.peers.length === 0) lines.push('  no other members yet: add one with `keyhaven mirror token` on this server and --join-from / the wizard on the new one');
  for (const p of s.peers) {
    const state = p.removed ? 'removed' : p.connected ? `connected since ${p.since}` : `NOT CONNECTED${p.since ? ` since ${p.since}` : ''}`;
    lines.push(`  peer ${p.node} at ${p.address}: ${state}; queue ${p.queueDepth} changes, lag ${p.lagSeconds === null ? '?' : `${p.lagSeconds.toFixed(1)} s`}; ${p.connected ? 'it hears us' : 'it does not hear us'}, ${p.inbound ? 'we hear it' : 'we do not hear it'}`);
    if (p.lastError) lines.push(`    last error: ${p.lastError}`);
    if (p.lastDigestCheck) lines.push(`    last digest comparison: ${p.lastDigestCheck.result} at ${p.lastDigestCheck.at}`);
    if (p.clockAheadMs) lines.push(`    its clock is ${Math.round(p.clockAheadMs / 1000)} s ahead of ours: check NTP`);
  }
  return `${lines.join('\n')}\n`;
}

/** `keyhaven mirror status|token`. */
export async function mirrorCommand(args: string[], io: CliIo, configFrom: (v: { config?: string | undefined; 'data-dir'?: string | undefined }) => Config): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' } } });
  const config = configFrom(values);
  if (sub === 'status') {
    const s = readMirrorStatus(config.dataDir);
    if (!s) throw new KeyhavenError(ErrorCodes.MIRROR_NOT_ENABLED, `no mirroring status in ${config.dataDir}: the server there has never run with mirroring`);
    io.stdout.write(values.json ? `${JSON.stringify(s)}\n` : describeStatus(s));
    return s.running ? 0 : 3;
  }
  if (sub === 'token') {
    const t = await issueJoinToken(config);
    io.stdout.write(
      values.json
        ? `${JSON.stringify(t)}\n`
        : `join token (single use, valid ${JOIN_TOKEN_TTL_MS / 60_000} minutes):\n${t.token}\nthe group's CA fingerprint (compare it on the joining server):\n${t.caFingerprint}\n`,
    );
    return 0;
  }
  if (sub === 'join') {
    // The token on standard input (never an argument: it is a secret until used).
    const token = (await readInput(io)).toString('utf8').trim();
    const m = config.mirror;
    if (!m) throw new KeyhavenError(ErrorCodes.MIRROR_NOT_ENABLED, 'the configuration has no "mirror" section: give this server its mirror address first');
    const advertise = m.advertise ?? joinAddress(m.host, m.port);
    const r = await joinGroup(config, token, advertise);
    io.stdout.write(r.result === 'joined' ? `joined as ${r.node}; start the server to receive every key of the group\n` : `already a member (${r.node}); nothing to do\n`);
    return 0;
  }
  if (sub === 'remove') {
    const node = positionals[0];
    if (!node) throw usageError('mirror remove needs the id of the server to remove (see keyhaven mirror status)');
    const r = await removeMember(config, node);
    io.stdout.write(`${node} is removed from the group${r.revoked > 0 ? ' and its node certificate revoked' : ' (its node certificate is not known here yet: the group revokes it as it learns of it)'}; the running server tells the others\n`);
    return 0;
  }
  throw usageError(`unknown mirror command "${sub ?? ''}"`);
}
