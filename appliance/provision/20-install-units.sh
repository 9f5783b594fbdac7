#!/bin/sh
# Installs Keyhaven's systemd units from $KEYHAVEN_UNITS (units, and drop-in directories NAME.d/ for
# units the distribution ships), enables them with the network stack the appliance uses
# (systemd-networkd), and disables what it does not run.
set -eu
: "${KEYHAVEN_UNITS:?}"

for unit in "$KEYHAVEN_UNITS"/*.service "$KEYHAVEN_UNITS"/*.socket "$KEYHAVEN_UNITS"/*.timer; do
  [ -e "$unit" ] || continue
  install -m 0644 -o root -g root "$unit" /etc/systemd/system/
done
for dropin in "$KEYHAVEN_UNITS"/*.d; do
  [ -d "$dropin" ] || continue
  install -d -m 0755 "/etc/systemd/system/$(basename "$dropin")"
  install -m 0644 -o root -g root "$dropin"/*.conf "/etc/systemd/system/$(basename "$dropin")/"
done
rm -rf "$KEYHAVEN_UNITS"

systemctl enable keyhaven-firewall.service keyhaven-configure.service keyhaven.service
# The firewall's mirroring peers follow the group's member list (appliance/mirroring/peer-firewall.ts).
systemctl enable keyhaven-mirror-peers.timer
# The first-boot wizard on the VM console and the serial port (it gives way to the login prompts).
systemctl enable keyhaven-first-boot@tty1.service keyhaven-first-boot@ttyS0.service keyhaven-banner.service
systemctl enable systemd-networkd.service chrony.service open-vm-tools.service
# SSH stays off until the administrator finishes first boot on the console; its host keys are made
# at first start (sshd-keygen.service), never shipped in the image.
systemctl disable ssh.service ssh.socket 2>/dev/null || true
systemctl mask systemd-networkd-wait-online.service
# Not used on the appliance: timers that would reach the network or touch packages.
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
  systemctl disable "$u" 2>/dev/null || true
  systemctl mask "$u"
done

# The units must parse (offline: in a chroot nothing runs).
SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no /etc/systemd/system/keyhaven.service /etc/systemd/system/keyhaven-configure.service /etc/systemd/system/keyhaven-firewall.service /etc/systemd/system/keyhaven-banner.service /etc/systemd/system/keyhaven-mirror-peers.service /etc/systemd/system/keyhaven-mirror-peers.timer keyhaven-first-boot@tty1.service
