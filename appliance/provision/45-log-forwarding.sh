#!/bin/sh
# Log forwarding to the SIEM hosts (appliance/boot/log-forwarding.ts): rsyslog reads the journal,
# auditd's trail and the key server's audit socket, keeps no files of its own, and forwards over TCP
# 514 to the hosts keyhaven-configure.service writes into /etc/rsyslog.d/60-keyhaven-siem.conf (at
# every boot and on every settings change). The firewall lets 514 out to those hosts only.
set -eu

/usr/local/bin/keyhaven appliance rsyslog-conf > /etc/rsyslog.conf
chmod 0644 /etc/rsyslog.conf
rm -f /etc/rsyslog.d/*.conf /etc/logrotate.d/rsyslog
install -d -m 0700 /var/spool/rsyslog
# rsyslog reads the journal itself: journald need not copy every message to the syslog socket.
install -d /etc/systemd/journald.conf.d
printf '[Journal]\nForwardToSyslog=no\n' > /etc/systemd/journald.conf.d/91-keyhaven-syslog.conf

# Started after the settings are applied, and only while they name a SIEM host (rsyslog refuses to run
# without a destination; the admin helper restarts it on every change); the key server's socket
# directory; a sandbox: rsyslog runs as root to read the journal and auditd's log, but may write only
# its queues and needs no capability beyond giving the socket to the key server's group.
install -d /etc/systemd/system/rsyslog.service.d
cat > /etc/systemd/system/rsyslog.service.d/50-keyhaven.conf <<'UNIT'
[Unit]
After=keyhaven-configure.service auditd.service

[Service]
ExecCondition=/bin/grep -q '^action(' /etc/rsyslog.d/60-keyhaven-siem.conf
RuntimeDirectory=keyhaven-syslog
RuntimeDirectoryMode=0755
UMask=0077
CapabilityBoundingSet=CAP_CHOWN
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/spool/rsyslog
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UNIT
chmod 0644 /etc/systemd/system/rsyslog.service.d/50-keyhaven.conf

# Checked as it runs with a SIEM host (the documentation range address; the file is rewritten at boot).
/usr/local/bin/keyhaven appliance siem-conf 192.0.2.1 2001:db8::1 > /etc/rsyslog.d/60-keyhaven-siem.conf
rsyslogd -N1 -f /etc/rsyslog.conf
/usr/local/bin/keyhaven appliance siem-conf > /etc/rsyslog.d/60-keyhaven-siem.conf
systemctl enable rsyslog.service
SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no /lib/systemd/system/rsyslog.service
