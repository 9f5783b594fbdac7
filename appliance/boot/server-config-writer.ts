// `keyhaven appliance server-config --write`: run as root by keyhaven.service just before the key
// server starts (ExecStartPre=+), so that with DHCP the mirror address it advertises is the one the
// interface has then (server-config.ts). With a static address it rewrites the same text.
import { existsSync, readFileSync } from 'node:fs';
import { readApplianceSettings } from '../settings.js';
import { awaitOwnAddress } from './own-address.js';
import { PATHS } from './configure.js';
import { renderServerConfig, SERVER_CONFIG } from './server-config.js';
import { writeAtomic } from './write-atomic.js';

/** How long the key server's start waits for a DHCP lease before it fails (and systemd retries). */
const DHCP_WAIT_MS = 60_000;

export async function writeServerConfig(io: { log: (line: string) => void }): Promise<number> {
  if (!existsSync(PATHS.settings)) {
    io.log(`${PATHS.settings} does not exist: first boot is not complete`);
    return 1;
  }
  const settings = readApplianceSettings(PATHS.settings);
  let dhcpAddress: string | undefined;
  if (settings.address.mode === 'dhcp') {
    dhcpAddress = await awaitOwnAddress(DHCP_WAIT_MS);
    if (!dhcpAddress) {
      io.log(`no address from DHCP within ${DHCP_WAIT_MS / 1000} s: the key server waits for one (its mirror group must know where to reach it)`);
      return 1;
    }
  }
  const text = renderServerConfig(settings, dhcpAddress);
  if (!existsSync(SERVER_CONFIG) || readFileSync(SERVER_CONFIG, 'utf8') !== text) {
    writeAtomic(SERVER_CONFIG, text);
    if (dhcpAddress) io.log(`mirroring advertised at ${dhcpAddress} (from DHCP)`);
  }
  return 0;
}
