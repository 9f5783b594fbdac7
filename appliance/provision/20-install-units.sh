#!/bin/sh
# Installs Keyhaven's systemd units from $KEYHAVEN_UNITS, enables them with the network stack the
# appliance uses (systemd-networkd), and disables what it does not run.
set -eu
: "${KEYHAVEN_UNITS:?}"

for unit in "$KEYHAVEN_UNITS"/*.service; do
  install -m 0644 -o root -g root "$unit" /etc/systemd/system/
done
rm -rf "$KEYHAVEN_UNITS"

systemctl enable keyhaven-firewall.service keyhaven-configure.service keyhaven.service
systemctl enable systemd-networkd.service chrony.service open-vm-tools.service
# SSH stays off until the administrator finishes first boot on the console; its host keys are made
# at first start (keyhaven-ssh-keygen.service), never shipped in the image.
systemctl disable ssh.service ssh.socket 2>/dev/null || true
systemctl mask systemd-networkd-wait-online.service
# Not used on the appliance: timers that would reach the network or touch packages.
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
  systemctl disable "$u" 2>/dev/null || true
  systemctl mask "$u"
done

# The units must parse (offline: in a chroot nothing runs).
SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no /etc/systemd/system/keyhaven*.service
