// The address this appliance has now on its network interface: with DHCP the settings do not say,
// and the mirror group must be told where to reach the key server (server-config.ts `advertise`).
// Read from `ip -json address show scope global` (iproute2): IPv4 before IPv6, a permanent or
// DHCP-given address that finished duplicate address detection, never loopback or link-local.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const run = promisify(execFile);

interface IpAddressInfo {
  family?: string;
  local?: string;
  scope?: string;
  tentative?: boolean;
  dadfailed?: boolean;
  deprecated?: boolean;
}
interface IpLink {
  ifname?: string;
  addr_info?: IpAddressInfo[];
}

/** The first usable global address in `ip -json address` output, IPv4 first; undefined when none. */
export function pickOwnAddress(ipJson: string): string | undefined {
  let links: IpLink[];
  try {
    links = JSON.parse(ipJson) as IpLink[];
  } catch {
    return undefined;
  }
  const usable = links
    .filter((l) => l.ifname !== 'lo')
    .flatMap((l) => l.addr_info ?? [])
    .filter((a) => a.scope === 'global' && a.local && !a.tentative && !a.dadfailed && !a.deprecated);
  return (usable.find((a) => a.family === 'inet') ?? usable.find((a) => a.family === 'inet6'))?.local;
}

/** The address the interface has now (undefined when it has none yet). */
export async function ownAddress(): Promise<string | undefined> {
  try {
    const { stdout } = await run('/usr/sbin/ip', ['-json', 'address', 'show', 'scope', 'global']);
    return pickOwnAddress(stdout);
  } catch {
    return undefined;
  }
}

/** Waits up to `timeoutMs` for the interface to have an address (DHCP may still be answering). */
export async function awaitOwnAddress(timeoutMs: number): Promise<string | undefined> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(1000)) {
    const a = await ownAddress();
    if (a || Date.now() >= deadline) return a;
  }
}
