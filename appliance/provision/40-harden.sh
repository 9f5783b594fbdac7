#!/bin/sh
# Operating-system hardening that holds from the first boot: kernel settings, no core dumps, a locked
# root account, no set-user-ID programs, persistent bounded journal, time only from configured
# servers, and no way for systemd credentials or generators to open SSH behind the firewall's back.
# Then: OS audit (auditd), the key server confined by AppArmor, file-integrity checks (AIDE), no
# unused kernel modules, strict mount options, login defaults, a legal banner, no package manager.
# Measured with Lynis on the booted image: npm run lynis (test/hardening/lynis-audit.ts).
set -eu

# Kernel (sysctl.d(5)): hide kernel addresses and logs, restrict ptrace, BPF and perf, no io_uring
# (a frequent source of kernel exploits; libuv falls back to its thread pool), no unprivileged user
# namespaces or userfaultfd (systemd, as root, still sets up PrivateUsers=), no routing, no redirects
# or source routes, reverse-path filtering, SYN cookies. A leading - ignores a key this kernel lacks.
# The consoles print only critical kernel messages (panics, oopses): the firewall's drop log lines
# (warnings) and everything else go to the journal, not over the wizard or the menu.
cat > /etc/sysctl.d/90-keyhaven.conf <<'CONF'
kernel.printk = 3 4 1 3
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
kernel.yama.ptrace_scope = 2
kernel.unprivileged_bpf_disabled = 1
net.core.bpf_jit_harden = 2
kernel.perf_event_paranoid = 3
kernel.kexec_load_disabled = 1
kernel.io_uring_disabled = 2
vm.unprivileged_userfaultfd = 0
-kernel.unprivileged_userns_clone = 0
kernel.sysrq = 0
kernel.core_pattern = |/bin/false
kernel.core_uses_pid = 1
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
# Debian's own file raises the hard limit to infinity (for systemd-coredump): ours is the only one.
rm -f /etc/security/limits.d/10-coredump-debian.conf
printf '[Manager]\nDefaultLimitCORE=0\n' > /etc/systemd/system.conf.d/90-keyhaven.conf
# systemd-coredump is not installed; should anything bring it in, it stores nothing either.
install -d /etc/systemd/coredump.conf.d
printf '[Coredump]\nStorage=none\nProcessSizeMax=0\n' > /etc/systemd/coredump.conf.d/90-keyhaven.conf

# Journal: persistent, bounded, compressed.
printf '[Journal]\nStorage=persistent\nCompress=yes\nSystemMaxUse=256M\nSystemKeepFree=512M\nMaxRetentionSec=1year\n' > /etc/systemd/journald.conf.d/90-keyhaven.conf
install -d -m 2755 -g systemd-journal /var/log/journal

# root cannot log in with a password; no account has one until first boot sets admin's.
usermod --lock root
passwd --lock root >/dev/null 2>&1 || true

# Login defaults (login.defs(5), read by pam_umask, chpasswd, useradd): files private to their group
# by default; password hashes costlier to brute-force (yescrypt is the method; SHA-512 rounds apply
# if a deployment switches ENCRYPT_METHOD, e.g. for FIPS mode). Password ageing is not set: NIST SP
# 800-63B §5.1.1.2 advises against forced rotation, and the admin password is changed only through
# the appliance's own policy (appliance/accounts), never with passwd(1).
set_login_def() {
  if grep -qE "^$1[[:space:]]" /etc/login.defs; then
    sed -i -E "s|^$1[[:space:]].*$|$1\t$2|" /etc/login.defs
  else
    printf '%s\t%s\n' "$1" "$2" >> /etc/login.defs
  fi
}
set_login_def UMASK 027
set_login_def ENCRYPT_METHOD YESCRYPT
set_login_def YESCRYPT_COST_FACTOR 7
set_login_def SHA_CRYPT_MIN_ROUNDS 65536
set_login_def SHA_CRYPT_MAX_ROUNDS 65536
# Idle shells end after 15 minutes; no core files from login sessions either.
cat > /etc/profile.d/keyhaven-session.sh <<'PROFILE'
# Keyhaven: idle interactive shells are closed after 15 minutes; no core files.
TMOUT=900
readonly TMOUT
export TMOUT
ulimit -c 0
PROFILE
chmod 0644 /etc/profile.d/keyhaven-session.sh
# su: only members of the root group (none but root) may use it, should it ever be set-user-ID again.
sed -i -E 's/^#[[:space:]]*(auth[[:space:]]+required[[:space:]]+pam_wheel\.so)[[:space:]]*$/\1/' /etc/pam.d/su

# The legal notice on the console and before any network login (SSH Banner may point at issue.net).
cat > /etc/issue <<'ISSUE'
Keyhaven key management appliance.

Authorized access only. This system and the keys it holds are the property of its owner.
All access and activity are monitored, logged and audited; records may be used as evidence.
Unauthorized use is prohibited and may be subject to criminal prosecution under applicable law.
By continuing you consent to these terms and to the organization's security policy.

ISSUE
sed '/^$/d' /etc/issue > /etc/issue.net
chmod 0644 /etc/issue /etc/issue.net

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
# No login prompts on tty2-tty6 (Debian starts them when there is no logind): the console is tty1.
systemctl mask getty-static.service
# The kernel, its symbol map and configuration are for the boot loader and root only.
chmod 0600 /boot/vmlinuz-* /boot/System.map-* /boot/config-* 2>/dev/null || true
sed -i '/\sswap\s/d' /etc/fstab 2>/dev/null || true

# The root file system by label (the disk stage names it), /tmp in memory without exec. /home too:
# the only account with a home is admin, whose program is the menu; nothing there may persist or run
# (its SSH keys live in /etc/ssh/authorized_keys; 50-admin-access.sh has tmpfiles make /home/admin).
cat > /etc/fstab <<'CONF'
LABEL=keyhaven / ext4 defaults,noatime,errors=remount-ro 0 1
tmpfs /tmp tmpfs rw,nosuid,nodev,noexec,mode=1777,size=256M 0 0
tmpfs /home tmpfs rw,nosuid,nodev,noexec,mode=0755,size=16M 0 0
tmpfs /var/tmp tmpfs rw,nosuid,nodev,noexec,mode=1777,size=64M 0 0
tmpfs /dev/shm tmpfs rw,nosuid,nodev,noexec 0 0
devtmpfs /dev devtmpfs rw,nosuid,noexec,mode=0755 0 0
proc /proc proc rw,nosuid,nodev,noexec,hidepid=invisible 0 0
CONF
# (systemd-remount-fs applies the options to the API file systems systemd mounted itself. With
# hidepid=invisible an account sees only its own processes; root and the services running as root
# see all, and nothing on the appliance needs more: there is no polkit, no D-Bus, no logind client.)
echo keyhaven > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tkeyhaven\n::1\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts

# Kernel modules the appliance never needs may not be loaded, even if a later kernel or module list
# ships them (customize.sh keeps only the VM drivers): removable storage, FireWire, uncommon network
# protocols, file systems nobody mounts here. `install X /bin/true` makes modprobe succeed without
# loading anything; the blacklist also stops aliases from pulling them in.
{
  echo '# Keyhaven: modules the appliance never loads (40-harden.sh).'
  for m in usb-storage uas firewire-core firewire-ohci firewire-sbp2 thunderbolt bluetooth \
           dccp sctp rds tipc n-hdlc ax25 netrom x25 rose decnet econet af_802154 ipx appletalk psnap p8023 p8022 can atm \
           cramfs freevxfs jffs2 hfs hfsplus squashfs udf; do
    printf 'install %s /bin/true\nblacklist %s\n' "$m" "$m"
  done
} > /etc/modprobe.d/keyhaven-blacklist.conf
chmod 0644 /etc/modprobe.d/keyhaven-blacklist.conf

# VMware Tools: vmtoolsd stays (heartbeat, addresses, clean shutdown from vSphere), but guest
# operations are off and their authentication service is not run: with them, anyone holding vCenter's
# "guest operations" privilege and the admin password could run programs in the appliance directly,
# past the menu, SSH and the firewall.
install -d /etc/vmware-tools
if ! grep -q '^\[guestoperations\]' /etc/vmware-tools/tools.conf 2>/dev/null; then
  printf '\n[guestoperations]\ndisabled = true\n' >> /etc/vmware-tools/tools.conf
fi
systemctl disable vgauth.service 2>/dev/null || true
systemctl mask vgauth.service

# Cron is not installed: the job directories packages leave behind are readable by root only.
for d in /etc/cron.d /etc/cron.daily /etc/cron.hourly /etc/cron.weekly /etc/cron.monthly; do
  [ -d "$d" ] && chmod 0700 "$d"
done

# OS audit trail (auditd, base-layer.ts): who changed accounts, authentication, the appliance's
# configuration, program or firewall; module loading, mounts, clock; every command a login session
# (the admin, or root through recovery) runs; and any access to the key store by anything but the
# key server itself. Rules are locked (-e 2) until the next boot.
keyhaven_uid=$(id -u keyhaven)
cat > /etc/audit/rules.d/keyhaven.rules <<RULES
## Keyhaven audit rules (appliance/provision/40-harden.sh), loaded by augenrules at boot.
-D
-b 8192
--backlog_wait_time 60000
-f 1

## Accounts and authentication
-w /etc/passwd -p wa -k identity
-w /etc/group -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/gshadow -p wa -k identity
-w /etc/security/ -p wa -k identity
-w /etc/pam.d/ -p wa -k pam
-w /etc/login.defs -p wa -k login
-w /etc/ssh/ -p wa -k sshd

## The appliance: configuration, program, firewall, boot
-w /etc/keyhaven/ -p wa -k keyhaven-config
-w /opt/keyhaven/ -p wa -k keyhaven-program
-w /usr/lib/keyhaven/ -p wa -k keyhaven-program
-w /usr/local/bin/ -p wa -k keyhaven-program
-w /etc/nftables.conf -p wa -k firewall
-w /etc/systemd/ -p wa -k systemd
-w /etc/sysctl.conf -p wa -k sysctl
-w /etc/sysctl.d/ -p wa -k sysctl
-w /etc/modprobe.d/ -p wa -k modules
-w /etc/chrony/ -p wa -k time
-w /etc/apparmor.d/ -p wa -k apparmor
-w /etc/audit/ -p wa -k audit-config
-w /boot/ -p wa -k boot

## The key store: every access by any account other than the key server's
-a always,exit -F arch=b64 -F dir=/var/lib/keyhaven -F perm=rwa -F uid!=${keyhaven_uid} -k keyhaven-data
-a always,exit -F arch=b64 -F dir=/var/lib/keyhaven-anchor -F perm=wa -F uid!=${keyhaven_uid} -k keyhaven-data

## Kernel modules, mounts, the clock (chrony slews with adjtimex, which is not listed)
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -k modules
-a always,exit -F arch=b32 -S init_module,finit_module,delete_module -k modules
-a always,exit -F arch=b64 -S mount,umount2 -F auid!=unset -k mount
-a always,exit -F arch=b64 -S settimeofday,clock_settime -k time-change
-a always,exit -F arch=b32 -S settimeofday,clock_settime,stime -k time-change

## Commands run from login sessions (services have no login uid)
-a always,exit -F arch=b64 -S execve,execveat -F auid!=unset -k session-exec
-a always,exit -F arch=b32 -S execve,execveat -F auid!=unset -k session-exec

## Locked until reboot
-e 2
RULES
chmod 0640 /etc/audit/rules.d/keyhaven.rules
rm -f /etc/audit/rules.d/audit.rules
# Bounded local trail (8 MiB x 8), kept when the disk fills (auditd suspends logging rather than overwrite).
sed -i -E -e 's/^#?[[:space:]]*max_log_file[[:space:]]*=.*/max_log_file = 8/' \
          -e 's/^#?[[:space:]]*num_logs[[:space:]]*=.*/num_logs = 8/' \
          -e 's/^#?[[:space:]]*max_log_file_action[[:space:]]*=.*/max_log_file_action = ROTATE/' /etc/audit/auditd.conf
systemctl enable auditd.service

# Process accounting (acct, base-layer.ts): one record per process that ends, services included —
# what auditd's session rule does not cover. acct's own rotation runs from cron, which the appliance
# does not have: a weekly timer keeps this week's and last week's file.
rm -f /etc/cron.daily/acct /etc/cron.monthly/acct
install -d -m 0750 /var/log/account
# accton needs the file; the build leaves /var/log empty, so tmpfiles makes it at boot.
printf 'f /var/log/account/pacct 0600 root root -\n' > /usr/lib/tmpfiles.d/keyhaven-acct.conf
cat > /etc/systemd/system/keyhaven-acct-rotate.service <<'UNIT'
[Unit]
Description=Rotate the process accounting file (keeps one previous week)
ConditionPathExists=/var/log/account/pacct

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'cd /var/log/account && mv -f pacct pacct.0 && install -m 0600 /dev/null pacct && exec /usr/sbin/accton /var/log/account/pacct'
UNIT
cat > /etc/systemd/system/keyhaven-acct-rotate.timer <<'UNIT'
[Unit]
Description=Weekly rotation of the process accounting file

[Timer]
OnCalendar=weekly
Persistent=true

[Install]
WantedBy=timers.target
UNIT
chmod 0644 /etc/systemd/system/keyhaven-acct-rotate.service /etc/systemd/system/keyhaven-acct-rotate.timer
systemctl enable acct.service keyhaven-acct-rotate.timer
SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no /etc/systemd/system/keyhaven-acct-rotate.service

# AppArmor (enabled in Debian's kernel): the key server runs confined by its own profile — it may read
# its program and configuration, read and write its data directory, use IP and Unix sockets, and
# nothing else: no program may be executed, nothing else written. Chrony keeps Debian's profile. The
# other profiles the apparmor package ships are for software the appliance does not have.
# attach_disconnected: systemd's PrivateDevices/PrivateTmp give the service its own mount namespace,
# so descriptors systemd opened outside it (stdin /dev/null) have no path the profile could match.
find /etc/apparmor.d -maxdepth 1 -type f ! -name usr.sbin.chronyd -delete
cat > /etc/apparmor.d/keyhaven <<'PROFILE'
# Keyhaven KMIP key server (appliance/provision/40-harden.sh); attached by keyhaven.service
# (AppArmorProfile=keyhaven).
abi <abi/4.0>,
include <tunables/global>

profile keyhaven flags=(enforce, attach_disconnected) {
  include <abstractions/base>
  include <abstractions/nameservice>
  include <abstractions/openssl>

  # The runtime and the program: read and map only.
  /usr/bin/node mr,
  /usr/lib/** mr,
  /usr/share/nodejs/** r,
  /usr/share/zoneinfo/** r,
  /opt/keyhaven/ r,
  /opt/keyhaven/** r,
  /opt/keyhaven/**.node mr,
  /etc/keyhaven/ r,
  /etc/keyhaven/** r,
  /usr/lib/keyhaven/** r,

  # Its data: the key store and the PKI (SQLite needs locks and may spill to temporary files).
  /var/lib/keyhaven/ rw,
  /var/lib/keyhaven/** rwk,
  /var/lib/keyhaven-anchor/ rw,
  /var/lib/keyhaven-anchor/** rw,
  # The administration log's copy its backups carry (appliance/backup/backup-settings.ts).
  /var/lib/keyhaven-appliance/backup-copy/admin-audit.db r,
  owner /tmp/** rwk,
  owner /var/tmp/** rwk,

  # What Node.js reads about its host.
  @{PROC}/@{pid}/** r,
  @{PROC}/sys/vm/overcommit_memory r,
  @{PROC}/sys/kernel/random/* r,
  @{PROC}/meminfo r,
  @{PROC}/stat r,
  @{PROC}/cpuinfo r,
  @{PROC}/loadavg r,
  @{sys}/devices/system/cpu/** r,
  @{sys}/fs/cgroup/** r,

  network inet stream,
  network inet6 stream,
  network inet dgram,
  network inet6 dgram,
  network unix stream,
  network unix dgram,
  network netlink raw,
  # Its audit records for the SIEM, to rsyslog (45-log-forwarding.sh).
  /run/keyhaven-syslog/audit.sock rw,

  signal (receive) peer=unconfined,
  signal (send, receive) peer=keyhaven,

  deny /etc/shadow r,
  deny /etc/gshadow r,
  deny /root/** rwx,
}
PROFILE
chmod 0644 /etc/apparmor.d/keyhaven
apparmor_parser --skip-kernel-load --skip-cache -Q /etc/apparmor.d/keyhaven
systemctl enable apparmor.service
install -d /etc/systemd/system/keyhaven.service.d
cat > /etc/systemd/system/keyhaven.service.d/50-apparmor.conf <<'UNIT'
# The key server's AppArmor profile (40-harden.sh, /etc/apparmor.d/keyhaven). Without it loaded the
# server does not start: it never runs unconfined.
[Unit]
After=apparmor.service
Requires=apparmor.service

[Service]
AppArmorProfile=keyhaven
UNIT
chmod 0644 /etc/systemd/system/keyhaven.service.d/50-apparmor.conf

# File integrity (AIDE, base-layer.ts): the operating system, the key server and the boot files are
# compared daily with the baseline the first run records (first boot, as shipped). Findings go to the
# journal and leave keyhaven-integrity.service failed. What the appliance itself changes at boot or
# from its settings (network, time sources, host name, firewall, the admin password) is not compared.
install -d -m 0700 /var/lib/aide
install -d -m 0755 /etc/aide
cat > /etc/aide/aide.conf <<'AIDE'
# Keyhaven file integrity baseline (appliance/provision/40-harden.sh).
database_in=file:/var/lib/aide/aide.db
database_out=file:/var/lib/aide/aide.db.new
database_new=file:/var/lib/aide/aide.db.new
gzip_dbout=yes
report_url=stdout
report_summarize_changes=yes

Checked = p+i+n+u+g+s+b+m+c+acl+xattrs+sha256+sha512
Perms = p+i+n+u+g+acl+xattrs

/boot Checked
/usr Checked
/opt/keyhaven Checked
/etc Checked
/var/lib/keyhaven Perms
!/var/lib/keyhaven/.+
/var/lib/keyhaven-anchor Perms
!/var/lib/keyhaven-anchor/.+

# Written at boot or from the appliance settings (keyhaven-configure.service, first boot, admin).
!/etc/machine-id$
!/etc/hostname$
!/etc/hosts$
!/etc/resolv.conf$
!/etc/adjtime$
!/etc/chrony/sources.d(/|$)
!/etc/systemd/network(/|$)
!/etc/keyhaven/appliance.json$
!/etc/keyhaven/firewall.nft$
!/etc/keyhaven/keyhaven.json$
# The status banner (keyhaven-banner.service, every boot) and SSH opened or closed from the menu.
!/etc/issue$
!/etc/systemd/system/multi-user\.target\.wants/ssh\.service$
!/etc/rsyslog.d/60-keyhaven-siem.conf$
!/etc/ssh/ssh_host_.*
# SSH keys the admin adds in the menu (recorded by auditd and the admin audit log instead).
!/etc/ssh/authorized_keys(/|$)
!/etc/shadow-?$
!/etc/gshadow-?$
!/etc/passwd-$
!/etc/group-$
!/etc/\.pwd\.lock$
!/etc/ld\.so\.cache$
AIDE
chmod 0600 /etc/aide/aide.conf
aide --config=/etc/aide/aide.conf --config-check
cat > /etc/systemd/system/keyhaven-integrity.service <<'UNIT'
# File integrity check (AIDE, /etc/aide/aide.conf): the first run records the baseline, later runs
# compare with it and fail when anything differs. Started by keyhaven-integrity.timer.
[Unit]
Description=Keyhaven file integrity check (AIDE)
After=local-fs.target
ConditionPathExists=/etc/aide/aide.conf

[Service]
Type=oneshot
Nice=19
IOSchedulingClass=idle
ExecStart=/bin/sh -c 'if [ -s /var/lib/aide/aide.db ]; then exec /usr/bin/aide --config=/etc/aide/aide.conf --check; fi; /usr/bin/aide --config=/etc/aide/aide.conf --init >/dev/null && mv /var/lib/aide/aide.db.new /var/lib/aide/aide.db && chmod 0600 /var/lib/aide/aide.db && echo "baseline recorded"'
PrivateNetwork=yes
ProtectHome=read-only
UNIT
cat > /etc/systemd/system/keyhaven-integrity.timer <<'UNIT'
[Unit]
Description=Daily file integrity check (AIDE)

[Timer]
OnBootSec=10min
OnUnitActiveSec=1d
RandomizedDelaySec=30min
Persistent=false

[Install]
WantedBy=timers.target
UNIT
chmod 0644 /etc/systemd/system/keyhaven-integrity.service /etc/systemd/system/keyhaven-integrity.timer
systemctl enable keyhaven-integrity.timer
SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no /etc/systemd/system/keyhaven-integrity.service

# No package manager: the appliance is updated as a whole image, its firewall lets no traffic reach a
# package archive, and no account may install software. dpkg stays (package database, support).
dpkg --purge apt libapt-pkg7.0 sqv debian-archive-keyring
rm -rf /etc/apt /var/lib/apt /var/cache/apt /var/log/apt
if getent passwd _apt >/dev/null; then userdel _apt; fi
