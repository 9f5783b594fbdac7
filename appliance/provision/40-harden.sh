#!/bin/sh
# Operating-system hardening that holds from the first boot: kernel settings, no core dumps, a locked
# root account, no set-user-ID programs, persistent bounded journal, time only from configured
# servers, and no way for systemd credentials or generators to open SSH behind the firewall's back.
set -eu

# Kernel (sysctl.d(5)): hide kernel addresses and logs, restrict ptrace, BPF and perf, no routing,
# no redirects or source routes, reverse-path filtering, SYN cookies.
cat > /etc/sysctl.d/90-keyhaven.conf <<'CONF'
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
kernel.yama.ptrace_scope = 2
kernel.unprivileged_bpf_disabled = 1
net.core.bpf_jit_harden = 2
kernel.perf_event_paranoid = 3
kernel.kexec_load_disabled = 1
kernel.sysrq = 0
kernel.core_pattern = |/bin/false
kernel.randomize_va_space = 2
dev.tty.ldisc_autoload = 0
fs.suid_dumpable = 0
fs.protected_hardlinks = 1
fs.protected_symlinks = 1
fs.protected_fifos = 2
fs.protected_regular = 2
net.ipv4.ip_forward = 0
net.ipv4.conf.all.forwarding = 0
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.default.rp_filter = 1
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv4.conf.all.secure_redirects = 0
net.ipv4.conf.default.secure_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.default.accept_source_route = 0
net.ipv4.conf.all.log_martians = 1
net.ipv4.conf.default.log_martians = 1
net.ipv4.icmp_echo_ignore_broadcasts = 1
net.ipv4.icmp_ignore_bogus_error_responses = 1
net.ipv4.tcp_syncookies = 1
net.ipv4.tcp_rfc1337 = 1
net.ipv6.conf.all.forwarding = 0
net.ipv6.conf.all.accept_redirects = 0
net.ipv6.conf.default.accept_redirects = 0
net.ipv6.conf.all.accept_source_route = 0
net.ipv6.conf.default.accept_source_route = 0
CONF

# No core dumps anywhere (they would hold key material).
install -d /etc/security/limits.d /etc/systemd/system.conf.d /etc/systemd/journald.conf.d
printf '* hard core 0\n* soft core 0\n' > /etc/security/limits.d/90-keyhaven.conf
printf '[Manager]\nDefaultLimitCORE=0\n' > /etc/systemd/system.conf.d/90-keyhaven.conf

# Journal: persistent, bounded, compressed.
printf '[Journal]\nStorage=persistent\nCompress=yes\nSystemMaxUse=256M\nSystemKeepFree=512M\nMaxRetentionSec=1year\n' > /etc/systemd/journald.conf.d/90-keyhaven.conf
install -d -m 2755 -g systemd-journal /var/log/journal

# root cannot log in with a password; no account has one until first boot sets admin's.
usermod --lock root
passwd --lock root >/dev/null 2>&1 || true
sed -i 's/^UMASK.*/UMASK\t\t027/' /etc/login.defs

# No set-user-ID or set-group-ID programs: administration goes through the key server's own helper.
find / -xdev -type f \( -perm -4000 -o -perm -2000 \) -print -exec chmod ug-s {} + > /usr/lib/keyhaven/suid-removed.txt

# Time only from the configured servers (keyhaven-configure.service writes sources.d), no command port.
cat > /etc/chrony/chrony.conf <<'CONF'
# Keyhaven: time sources are only those in sources.d (written from the appliance settings).
sourcedir /etc/chrony/sources.d
driftfile /var/lib/chrony/chrony.drift
makestep 1 3
rtcsync
cmdport 0
CONF
rm -f /etc/chrony/sources.d/*.sources /etc/chrony/conf.d/*.conf

# systemd can open SSH by itself: a credential (ssh.authorized_keys.root, imported by tmpfiles) would
# install a root key, and systemd-ssh-generator would bind sshd to AF_VSOCK, which no IP firewall
# sees. Neither may run on the appliance.
ln -sf /dev/null /etc/tmpfiles.d/provision.conf
install -d /etc/systemd/system-generators
ln -sf /dev/null /etc/systemd/system-generators/systemd-ssh-generator

# No Ctrl-Alt-Del reboot from the console; no swap.
systemctl mask ctrl-alt-del.target
sed -i '/\sswap\s/d' /etc/fstab 2>/dev/null || true

# The root file system by label (the disk stage names it), /tmp in memory without exec.
cat > /etc/fstab <<'CONF'
LABEL=keyhaven / ext4 defaults,noatime,errors=remount-ro 0 1
tmpfs /tmp tmpfs rw,nosuid,nodev,noexec,mode=1777,size=256M 0 0
CONF
echo keyhaven > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tkeyhaven\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
