// Syslog / SIEM destinations. The appliance sends over TCP to port 514 only; "host:514" is
// accepted so a value copied from a SIEM's documentation works.
import { confirmChange } from '../confirm-change.js';
import { currentSettings, done, parseList, settingsCheck, showList } from '../forms.js';
import type { MenuOption } from '../option.js';
import { Ports } from '../../../firewall/ports.js';

const SYSLOG_PORT = Ports.syslog;

/** "192.0.2.10", "192.0.2.10:514", "[2001:db8::1]:514" → the address; other ports are refused. */
export function syslogHost(entry: string): { host: string } | { problem: string } {
  const m = /^\[([^\]]+)\](?::(\d*))?$/.exec(entry) ?? /^([^:]+)(?::(\d*))?$/.exec(entry);
  if (!m) return { host: entry }; // a bare IPv6 address: the settings schema judges it
  if (m[2] === undefined) return { host: m[1]! };
  const port = Number(m[2]);
  if (m[2] === '' || !Number.isInteger(port) || port < 1 || port > 65535) return { problem: `"${entry}": port ${m[2] || '(empty)'} is out of range (1-65535)` };
  if (port !== SYSLOG_PORT) return { problem: `"${entry}": the appliance sends syslog to port ${SYSLOG_PORT} only` };
  return { host: m[1]! };
}

function hosts(text: string): { hosts: string[] } | { problem: string } {
  const out: string[] = [];
  for (const e of parseList(text)) {
    const r = syslogHost(e);
    if ('problem' in r) return r;
    out.push(r.host);
  }
  return { hosts: out };
}

export const syslogOption: MenuOption = {
  label: 'Syslog / SIEM destinations',
  description: `Where the system and audit logs are sent (IP addresses, TCP port ${SYSLOG_PORT})`,
  async run(ui) {
    const s = await currentSettings(ui);
    ui.print(`\nNow: ${showList(s.network.siemHosts)}.`);
    const text = await ui.input(`SIEM hosts (IP addresses, optionally :${SYSLOG_PORT}; comma-separated; "none" for none)`, {
      default: s.network.siemHosts.join(', '),
      validate: settingsCheck(
        s,
        (x, v) => {
          const r = hosts(v);
          return { ...x, network: { ...x.network, siemHosts: 'hosts' in r ? r.hosts : [] } };
        },
        (v) => {
          const r = hosts(v);
          return 'problem' in r ? r.problem : true;
        },
      ),
    });
    const r = hosts(text);
    const next = 'hosts' in r ? r.hosts : [];
    if (!(await confirmChange(ui, 'SIEM hosts:', s.network.siemHosts, next, 'Apply these SIEM hosts now?'))) return;
    const { summary } = await ui.call('syslog.set', { hosts: next });
    done(ui, summary);
  },
};
