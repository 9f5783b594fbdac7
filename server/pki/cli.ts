// `keyhaven pki …`: the administrator's commands for the CA.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../../lib/cli.js';
import { KeyhavenError, ErrorCodes } from '../errors.js';
import { refreshCrl } from './crl.js';
import { inspectCsr, readCsrFile, signCsr } from './csr.js';
import { initPki } from './init.js';
import { issueClient, issueServer, type IssueResult } from './issue.js';
import { REVOCATION_REASON_NAMES } from './reasons.js';
import { checkReason, listIssued, revoke, type RevokeSelector } from './revoke.js';
import { MODE_PUBLIC, pkiPaths, writeFileAtomic, type IssuedCertificate, type LockOptions } from './store.js';
import { checkBits, type RsaBits } from './validate.js';


export const PKI_USAGE = `usage: keyhaven pki <command> --dir DIR [options]

DIR is the data directory; the PKI lives in DIR/pki.

  init     --dir DIR [--name NAME] [--days N] [--bits 3072|4096]
           create the CA "Keyhaven CA NAME" (default: this host's name; 10 years) and an empty CRL
  server   --dir DIR --dns NAME[,NAME…] --ip ADDR[,ADDR…] [--days N] [--bits N] [--force]
           issue the server certificate (serverAuth + clientAuth; at most 825 days, default 730)
  client   --dir DIR --name NAME [--cn CN] [--org ORG] [--dns NAME,…] [--email ADDR,…] [--days N]
           [--bits 2048|3072|4096] [--p12-password-file FILE | --p12-password-env VAR] [--force] [--reissue]
           issue a client certificate: DIR/pki/clients/NAME.crt and .key, and NAME.p12 when a
           password is given (never on the command line), e.g.
             KH_P12_PASSWORD='…' keyhaven pki client --dir DIR --name mongo1 --p12-password-env KH_P12_PASSWORD
  sign-csr --dir DIR --csr FILE [--out FILE] [--days N] [--name CN] [--reissue]
           sign a client's certificate request (e.g. vCenter's "KMS trusts vCenter via CSR");
           shows the subject and subjectAltNames first; the certificate goes to FILE, or to
           standard output

  The subject (e.g. CN=vcenter,O=Keyhaven) is the client's identity on the key server: its keys
  belong to it. A subject that a valid certificate already has is refused unless --reissue is
  given (renewal or new key for the same client; revoke the old certificate afterwards). The
  server's and the CA's subjects are never given to a client. --force (client) only allows a
  second certificate filed under the same NAME.
  revoke   --dir DIR (--name NAME | --serial HEX | --fingerprint SHA256) [--reason REASON]
           revoke and re-sign the CRL; REASON: ${REVOCATION_REASON_NAMES.join(', ')}
  list     --dir DIR [--json]
           every certificate the CA issued, with its status
  crl      --dir DIR [--days N]
           re-sign the CRL (new nextUpdate, default 30 days ahead)
`;

class UsageError extends KeyhavenError {
  constructor(message: string) {
    super(ErrorCodes.CLI_USAGE, message);
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

const SPEC = {
  dir: { type: 'string' },
  name: { type: 'string' },
  days: { type: 'string' },
  bits: { type: 'string' },
  dns: { type: 'string', multiple: true },
  ip: { type: 'string', multiple: true },
  email: { type: 'string', multiple: true },
  cn: { type: 'string' },
  org: { type: 'string' },
  force: { type: 'boolean' },
  reissue: { type: 'boolean' },
  'p12-password-file': { type: 'string' },
  'p12-password-env': { type: 'string' },
  csr: { type: 'string' },
  out: { type: 'string' },
  serial: { type: 'string' },
  fingerprint: { type: 'string' },
  reason: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  init: ['dir', 'name', 'days', 'bits'],
  server: ['dir', 'dns', 'ip', 'days', 'bits', 'force'],
  client: ['dir', 'name', 'cn', 'org', 'dns', 'email', 'days', 'bits', 'p12-password-file', 'p12-password-env', 'force', 'reissue'],
  'sign-csr': ['dir', 'csr', 'out', 'days', 'name', 'reissue'],
  revoke: ['dir', 'name', 'serial', 'fingerprint', 'reason'],
  list: ['dir', 'json'],
  crl: ['dir', 'days'],
};

function str(v: Values, key: string): string | undefined {
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
}

function list(v: Values, key: string): string[] {
  const x = v[key];
  const items = Array.isArray(x) ? x : typeof x === 'string' ? [x] : [];
  return items.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
}

function int(v: Values, key: string): number | undefined {
  const s = str(v, key);
  if (s === undefined) return undefined;
  if (!/^\d{1,6}$/.test(s)) throw new UsageError(`--${key} takes a whole number, not '${s}'`);
  return Number(s);
}

function bits(v: Values): RsaBits | undefined {
  const n = int(v, 'bits');
  return n === undefined ? undefined : checkBits(n);
}

function required(v: Values, key: string, command: string): string {
  const s = str(v, key);
  if (s === undefined || s === '') throw new UsageError(`keyhaven pki ${command} needs --${key}`);
  return s;
}

/** The PKCS#12 password from a file (first line) or an environment variable; never from argv. */
function p12Password(v: Values): string | undefined {
  const file = str(v, 'p12-password-file');
  const env = str(v, 'p12-password-env');
  if (file !== undefined && env !== undefined) throw new UsageError('give either --p12-password-file or --p12-password-env, not both');
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new KeyhavenError(ErrorCodes.PKI_BAD_INPUT, `cannot read the password file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const pw = text.split(/\r?\n/)[0] ?? '';
    if (pw === '') throw new KeyhavenError(ErrorCodes.PKI_BAD_INPUT, `the password file ${file} is empty: put the PKCS#12 password on its first line`);
    return pw;
  }
  if (env !== undefined) {
    const pw = process.env[env];
    if (pw === undefined || pw === '') {
      throw new KeyhavenError(ErrorCodes.PKI_BAD_INPUT, `the environment variable ${env} is not set or empty: export the PKCS#12 password in it`);
    }
    return pw;
  }
  return undefined;
}

function reissueLine(c: IssuedCertificate): string {
  return `  re-issues    ${c.serial} ('${c.name}', valid until ${c.notAfter})`;
}

function revokeNote(dir: string, c: IssuedCertificate): string {
  return (
    `note: the earlier certificate ${c.serial} (${c.subject}) stays valid until ${c.notAfter}; ` +
    `revoke it with \`keyhaven pki revoke --serial ${c.serial} --reason superseded --dir ${dir}\` when it is no longer used`
  );
}

/** The index entries of these serials (what a re-issue re-issued), for the printout. */
function entries(dir: string, serials: readonly string[]): IssuedCertificate[] {
  if (serials.length === 0) return [];
  return listIssued(dir).filter((c) => serials.includes(c.serial));
}

function describe(out: CliIo['stdout'], dir: string, title: string, r: IssueResult): void {
  const reissued = entries(dir, r.reissues);
  const lines = [
    title,
    `  subject      ${r.subject}`,
    `  serial       ${r.serial}`,
    `  valid until  ${r.notAfter.toISOString()}`,
    `  sha256       ${r.fingerprint}`,
    `  certificate  ${r.certPath}`,
    `  key          ${r.keyPath} (mode 0600)`,
  ];
  if (r.p12Path) lines.push(`  pkcs#12      ${r.p12Path} (mode 0600)`);
  lines.push(...reissued.map(reissueLine));
  const earlier = [...reissued, ...r.stillValid.filter((c) => !r.reissues.includes(c.serial))];
  lines.push(...earlier.map((c) => revokeNote(dir, c)));
  out.write(lines.join('\n') + '\n');
}

function row(c: IssuedCertificate & { status: string }): string {
  return [c.status.padEnd(7), c.kind.padEnd(6), c.name.padEnd(24), c.serial.padEnd(32), c.notAfter.slice(0, 10), c.subject].join('  ');
}

/** Runs `keyhaven pki ARGS`; returns the exit status (0 ok, 1 failed, 2 usage). */
export async function runPkiCli(args: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { stdout, stderr } = io;
  const command = args[0];
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? stderr : stdout).write(PKI_USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    const allowed = ALLOWED[command];
    if (!allowed) throw new UsageError(`unknown command '${command}'`);
    let values: Values;
    try {
      ({ values } = parseArgs({ args: args.slice(1), options: SPEC, strict: true, allowPositionals: false }) as { values: Values });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values['help']) {
      stdout.write(PKI_USAGE);
      return 0;
    }
    for (const key of Object.keys(values)) {
      if (!allowed.includes(key)) throw new UsageError(`keyhaven pki ${command} does not take --${key}`);
    }
    const dir = required(values, 'dir', command);
    const lock: LockOptions = { onMessage: (m) => stderr.write(`keyhaven pki: ${m}\n`) };
    const days = int(values, 'days');
    const withDays = days === undefined ? {} : { days };
    const b = bits(values);
    const withBits = b === undefined ? {} : { bits: b };

    switch (command) {
      case 'init': {
        const name = str(values, 'name');
        const r = await initPki(dir, { ...withDays, ...withBits, ...(name !== undefined ? { name } : {}), lock });
        stdout.write(
          [
            `created CA in ${pkiPaths(dir).root}`,
            `  subject      ${r.subject}`,
            `  valid until  ${r.notAfter.toISOString()}`,
            `  sha256       ${r.fingerprint}`,
            `  certificate  ${r.certPath}   (give this file to clients, e.g. vCenter, to trust the KMS)`,
            `  key          ${r.keyPath} (mode 0600; back it up, keep it secret)`,
            `  crl          ${r.crlPath}`,
          ].join('\n') + '\n',
        );
        return 0;
      }
      case 'server': {
        const r = await issueServer(dir, { dns: list(values, 'dns'), ip: list(values, 'ip'), ...withDays, ...withBits, force: values['force'] === true, lock });
        describe(stdout, dir, 'issued the server certificate', r);
        return 0;
      }
      case 'client': {
        const name = required(values, 'name', command);
        const pw = p12Password(values);
        const cn = str(values, 'cn');
        const org = str(values, 'org');
        const r = await issueClient(dir, {
          name,
          ...(cn !== undefined ? { commonName: cn } : {}),
          ...(org !== undefined ? { organization: org } : {}),
          dns: list(values, 'dns'),
          email: list(values, 'email'),
          ...withDays,
          ...withBits,
          ...(pw !== undefined ? { p12Password: pw } : {}),
          force: values['force'] === true,
          reissue: values['reissue'] === true,
          lock,
        });
        describe(stdout, dir, `issued client certificate '${name}'`, r);
        return 0;
      }
      case 'sign-csr': {
        const csrFile = required(values, 'csr', command);
        const out = str(values, 'out');
        const cn = str(values, 'name');
        const reissue = values['reissue'] === true;
        const info = out !== undefined ? stdout : stderr; // standard output may carry the certificate
        const csrPem = readCsrFile(csrFile);
        // What will be signed, before signing (the signing below checks all of it again under the lock).
        const look = inspectCsr(csrPem, { dataDir: dir, ...(cn !== undefined ? { commonName: cn } : {}) });
        const pv = look.preview;
        info.write(
          [
            `certificate request ${csrFile}`,
            `  subject      ${pv.subject}`,
            `  altNames     ${pv.altNames.length > 0 ? pv.altNames.join(', ') : '(none)'}`,
            ...pv.dropped.map((d) => `  dropped      ${d}`),
            `  key          RSA ${pv.keyBits} bits, request signed with ${pv.signatureHash}`,
            ...(reissue && look.holders.length > 0 ? look.holders.map(reissueLine) : []),
            ...(reissue && !pv.existing ? ['  re-issues    nothing: no valid certificate has this subject'] : []),
          ].join('\n') + '\n',
        );
        const r = await signCsr(dir, csrPem, { ...withDays, ...(cn !== undefined ? { commonName: cn } : {}), reissue, lock });
        if (out !== undefined) writeFileAtomic(path.resolve(out), r.certPem, MODE_PUBLIC);
        else stdout.write(r.certPem);
        const reissued = entries(dir, r.reissues);
        info.write(
          [
            `signed the certificate request from ${csrFile}`,
            `  subject      ${r.subject}`,
            `  serial       ${r.serial}`,
            `  valid until  ${r.notAfter.toISOString()}`,
            `  sha256       ${r.fingerprint}`,
            `  certificate  ${out !== undefined ? path.resolve(out) : '(standard output)'}, copy in ${r.certPath}`,
            `  CA           ${pkiPaths(dir).caCert}`,
            ...reissued.map(reissueLine),
            ...reissued.map((c) => revokeNote(dir, c)),
          ].join('\n') + '\n',
        );
        return 0;
      }
      case 'revoke': {
        const selectors: RevokeSelector[] = [];
        const name = str(values, 'name');
        const serial = str(values, 'serial');
        const fingerprint = str(values, 'fingerprint');
        if (name !== undefined) selectors.push({ name });
        if (serial !== undefined) selectors.push({ serial });
        if (fingerprint !== undefined) selectors.push({ fingerprint });
        if (selectors.length !== 1) throw new UsageError('keyhaven pki revoke needs exactly one of --name, --serial, --fingerprint');
        const reason = checkReason(str(values, 'reason') ?? 'unspecified');
        const r = await revoke(dir, selectors[0]!, reason, { lock });
        for (const c of r.revoked) stdout.write(`revoked ${c.serial} (${c.subject}, sha256 ${c.fingerprint}): ${reason}\n`);
        for (const c of r.alreadyRevoked) {
          stdout.write(`already revoked ${c.serial} (${c.subject}) on ${c.revoked!.date}: ${c.revoked!.reason}; nothing to do\n`);
        }
        if (r.crl) {
          stdout.write(
            `CRL #${r.crl.crlNumber} written to ${pkiPaths(dir).crl} (next update ${r.crl.nextUpdate.toISOString()}); ` +
              `running servers pick it up when they reload\n`,
          );
        }
        return 0;
      }
      case 'list': {
        const items = listIssued(dir);
        if (values['json']) {
          stdout.write(JSON.stringify(items, null, 2) + '\n');
          return 0;
        }
        if (items.length === 0) {
          stdout.write('no certificates issued yet\n');
          return 0;
        }
        stdout.write(['status ', 'kind  ', 'name'.padEnd(24), 'serial'.padEnd(32), 'not after ', 'subject'].join('  ') + '\n');
        for (const c of items) stdout.write(row(c) + '\n');
        return 0;
      }
      case 'crl': {
        const r = await refreshCrl(dir, { ...withDays, ...lock });
        stdout.write(
          `CRL #${r.crlNumber} written to ${pkiPaths(dir).crl}: ${r.serials.length} revoked, next update ${r.nextUpdate.toISOString()}\n`,
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`keyhaven pki: ${err.message}\n\n${PKI_USAGE}`);
      return 2;
    }
    if (err instanceof KeyhavenError) {
      stderr.write(`keyhaven pki: error: ${err.message} [${err.code}]\n`);
      return 1;
    }
    throw err;
  }
}
