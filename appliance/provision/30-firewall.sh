#!/bin/sh
# The fail-closed ruleset (firewall/fail-closed.ts): loopback only, everything else dropped. It is
# what keyhaven-firewall.service loads when no valid policy has been saved yet, and Debian's own
# /etc/nftables.conf, so nothing that loads that file can open the appliance. The policy itself is
# rendered at every boot from the appliance settings (keyhaven-configure.service).
set -eu
keyhaven firewall render --fail-closed > /usr/lib/keyhaven/firewall-fail-closed.nft.tmp
nft -c -f /usr/lib/keyhaven/firewall-fail-closed.nft.tmp
mv /usr/lib/keyhaven/firewall-fail-closed.nft.tmp /usr/lib/keyhaven/firewall-fail-closed.nft
chmod 0644 /usr/lib/keyhaven/firewall-fail-closed.nft
{ echo '#!/usr/sbin/nft -f'; cat /usr/lib/keyhaven/firewall-fail-closed.nft; } > /etc/nftables.conf
chmod 0644 /etc/nftables.conf
rm -f /etc/keyhaven/firewall.nft
# Debian's nftables.service flushes the whole ruleset when it starts and stops: never run it.
systemctl disable nftables.service 2>/dev/null || true
systemctl mask nftables.service
