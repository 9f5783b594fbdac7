// Joining a mirror group. The new server has no certificate of the group yet: it connects to the
// member named in its join token without one, checks that the member's certificate was issued by
// the CA whose fingerprint the token carries (so a stranger at that address learns nothing and
// gives nothing), and sends the token's secret. The member takes the token (single use, unexpired),
// records the new member durably, and answers with what a member holds: the group id and key, the
// member list and the group's CA (certificate, key, CRL and index), so that the new server serves
// the same clients with certificates of the same CA, and can issue its own node certificate.
// All of it crosses only inside TLS 1.3.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { ErrorCodes, KeyhavenError } from '../errors.js';
import { pkiPaths } from '../pki/index.js';
import { FramedSocket } from './framed-socket.js';
import { formatHlc } from './hlc.js';
import { parseJoinToken, splitAddress } from './join-token.js';
import type { MirrorContext } from './mirror-context.js';
import { PROTOCOL, agreeVersion, receiverMessage, type ReceiverMessage, type SenderMessage } from './protocol.js';

export type Joined = Extract<ReceiverMessage, { t: 'joined' }>;

/** How long a join token made by Mirroring → Add a server (or --join-from) stays valid. */
export const JOIN_TOKEN_TTL_MS = 30 * 60_000;
const JOIN_TIMEOUT_MS = 15_000;

/** The member's side: answers one join message (the connection presented no certificate). */
export function acceptJoin(ctx: MirrorContext, conn: FramedSocket<SenderMessage>, msg: Extract<SenderMessage, { t: 'join' }>, address: string): void {
  const refuse = (reason: string) => {
    conn.send({ t: 'refuse', code: ErrorCodes.MIRROR_JOIN_REFUSED, reason });
    ctx.report('warn', 'Mirror Join', `refused ${msg.node} from ${address}: ${reason}`, msg.node);
    conn.end(reason);
  };
  const agreed = agreeVersion(msg.versions);
  if ('problem' in agreed) return refuse(agreed.problem);
  if (msg.node === ctx.identity.node) return refuse('the joining server has the id of this one');
  let verdict: string = 'ok';
  ctx.write(
    () => {
      const known = ctx.group.members().find((m) => m.node === msg.node);
      if (known) {
        verdict = known.removed ? 'that server was removed from the group; a removed server never joins again' : 'a member with that id exists';
        return;
      }
      verdict = ctx.group.takeToken(msg.token);
      if (verdict !== 'ok') return;
      ctx.group.mergeMember({ node: msg.node, address: msg.address, removed: false, stamp: formatHlc(ctx.changes.clock.now()) });
    },
    (err) => {
      if (err) return refuse(`the member could not be recorded: ${err.message}`);
      if (verdict !== 'ok') return refuse(verdict === 'unknown' ? 'the join token is not one this server issued' : verdict === 'used' ? 'the join token was used already; make a new one' : verdict === 'expired' ? 'the join token expired; make a new one' : verdict);
      const p = pkiPaths(ctx.pkiDataDir());
      let pki: Joined['pki'];
      try {
        pki = {
          caCert: fs.readFileSync(p.caCert, 'utf8'),
          caKey: fs.readFileSync(p.caKey, 'utf8'),
          crl: fs.readFileSync(p.crl, 'utf8'),
          index: fs.readFileSync(p.index, 'utf8'),
        };
      } catch (e) {
        return refuse(`this member cannot read its PKI: ${(e as Error).message}`);
      }
      const key = ctx.group.groupKey();
      conn.send({
        t: 'joined',
        version: agreed.version,
        node: ctx.identity.node,
        group: ctx.identity.group,
        groupKey: key.toString('base64'),
        members: ctx.group.members(),
        pki,
      });
      key.fill(0);
      ctx.report('info', 'Mirror Join', `${msg.node} (${msg.address}) joined the group from ${address}`, msg.node);
      ctx.membersChanged();
      conn.end('joined');
    },
  );
}

/** The new server's side: connects to the token's member, checks it, and returns what it answered. */
export function requestJoin(tokenText: string, node: string, address: string): Promise<Joined> {
  const token = parseJoinToken(tokenText);
  const { host, port } = splitAddress(token.address);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, minVersion: 'TLSv1.3', rejectUnauthorized: false, timeout: JOIN_TIMEOUT_MS });
    const conn = new FramedSocket(socket, receiverMessage, JOIN_TIMEOUT_MS);
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      conn.end(why);
      reject(new KeyhavenError(ErrorCodes.MIRROR_JOIN_REFUSED, `joining through ${token.address} failed: ${why}`));
    };
    socket.once('secureConnect', () => {
      const chain = socket.getPeerCertificate(true);
      const leaf = chain?.raw ? new X509Certificate(chain.raw) : undefined;
      const issuer = chain?.issuerCertificate?.raw ? new X509Certificate(chain.issuerCertificate.raw) : undefined;
      if (!leaf || !issuer || issuer.fingerprint256 !== token.caFingerprint || !leaf.verify(issuer.publicKey)) {
        return fail(`the server at ${token.address} does not hold a certificate of the CA the token names (${token.caFingerprint.slice(0, 23)}…): nothing was sent`);
      }
      conn.send({ t: 'join', versions: [PROTOCOL.min, PROTOCOL.max], token: token.secret, node, address });
    });
    conn.start(
      (msg) => {
        if (msg.t === 'refuse') return fail(`the member refused: ${msg.reason}`);
        if (msg.t !== 'joined') return fail(`the member answered ${msg.t}`);
        const ca = new X509Certificate(msg.pki.caCert);
        if (ca.fingerprint256 !== token.caFingerprint) return fail('the member sent a CA other than the one the token names');
        settled = true;
        conn.end('joined');
        resolve(msg);
      },
      (reason) => fail(reason),
    );
  });
}
