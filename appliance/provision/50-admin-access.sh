#!/bin/sh
# The admin account and its only ways in: the console login and SSH, both leading to the admin menu
# (appliance/menu), which reaches root only through the keyhaven-admin socket's helper.
#   - group keyhaven-admin (may use the helper's socket), user admin in it: home /home/admin (0700),
#     login shell /usr/local/bin/keyhaven-menu, password locked ("!"): there is no default password,
#     the first-boot wizard sets it;
#   - /usr/local/bin/keyhaven-menu: starts the menu with a clean environment, whatever it is given
#     (sshd runs "SHELL -c ForceCommand": the arguments are ignored);
#   - sshd: the hardened configuration (appliance/ssh/sshd-config.ts) replaces Debian's, checked with
#     sshd -t; ssh.service stays disabled until first boot completes (the wizard enables it);
#   - keyhaven-admin.socket enabled (installed by 20-install-units.sh).
set -eu
MENU=/usr/local/bin/keyhaven-menu

getent group keyhaven-admin >/dev/null || groupadd --system keyhaven-admin
getent passwd admin >/dev/null || useradd --no-create-home --no-user-group --gid keyhaven-admin --home-dir /home/admin --shell "$MENU" --comment 'Keyhaven administrator (menu only)' admin
# Re-assert everything, also for an account that existed before this step.
usermod --shell "$MENU" --gid keyhaven-admin --home /home/admin admin
usermod --password '!' admin
install -d -m 0700 -o admin -g keyhaven-admin /home/admin
# /home is a tmpfs (40-harden.sh): the home directory is made at every boot.
printf 'd /home/admin 0700 admin keyhaven-admin -\n' > /usr/lib/tmpfiles.d/keyhaven-admin-home.conf
# Root's state directory: first-boot progress and the administration audit log (admin-audit.db).
install -d -m 0755 -o root -g root /var/lib/keyhaven-appliance

cat > "$MENU" <<'WRAPPER'
#!/bin/sh
# The admin account's login shell and sshd's ForceCommand: the admin menu and nothing else. Arguments
# (such as "-c COMMAND") are ignored; the environment is rebuilt so nothing a client sends reaches node.
exec /usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/admin LANG=C.UTF-8 TERM="${TERM:-vt100}" \
  SSH_CONNECTION="${SSH_CONNECTION:-}" /usr/bin/node /opt/keyhaven/appliance/bin/keyhaven.js menu
WRAPPER
chmod 0755 "$MENU"
grep -qx "$MENU" /etc/shells || echo "$MENU" >> /etc/shells

# sshd: our configuration only. The admin's keys live in a root-owned file the menu manages.
install -d -m 0755 /etc/ssh/sshd_config.d /etc/ssh/authorized_keys
printf '# Keyhaven: everything is in sshd_config.d/10-keyhaven.conf.\nInclude /etc/ssh/sshd_config.d/*.conf\n' > /etc/ssh/sshd_config
/usr/local/bin/keyhaven sshd-config > /etc/ssh/sshd_config.d/10-keyhaven.conf
# Readable by root only (sshd runs as root): nothing else needs the configuration.
chmod 0600 /etc/ssh/sshd_config /etc/ssh/sshd_config.d/10-keyhaven.conf
# Debian 13's OpenSSH must have kept the post-quantum key exchange (the renderer drops what it lacks).
grep -q '^KexAlgorithms mlkem768x25519-sha256,' /etc/ssh/sshd_config.d/10-keyhaven.conf \
  || { echo "50-admin-access: the installed OpenSSH lacks mlkem768x25519-sha256" >&2; exit 1; }
# Check the whole configuration with a throw-away host key (the real ones are made at first start).
check=$(mktemp -d)
ssh-keygen -q -t ed25519 -N '' -f "$check/key"
install -d -m 0755 /run/sshd
/usr/sbin/sshd -t -f /etc/ssh/sshd_config -h "$check/key"
rm -rf "$check"
# sshd opens admin's keys as admin: the directory and the file must be readable by all, writable by
# root only (the helper writes them so). Re-asserted at every boot, which also repairs what an older
# helper left unreadable (its umask 0077 made the file 0600).
cat > /usr/lib/tmpfiles.d/keyhaven-authorized-keys.conf <<'CONF'
d /etc/ssh/authorized_keys 0755 root root -
z /etc/ssh/authorized_keys/admin 0644 root root -
CONF

# No operating-system MOTD before the menu (Debian's licence text and update-motd.d's kernel version):
# sshd's PrintMotd is off (sshd-config.ts), but pam_motd prints it for both login and sshd.
# ROOT is "" here; tests run the function on a copy (test/appliance/motd.test.ts).
remove_motd() {
  rm -f "$1/etc/motd" "$1/run/motd.dynamic"
  rm -rf "$1/etc/update-motd.d"
  for f in "$1/etc/pam.d/login" "$1/etc/pam.d/sshd"; do
    sed -i -E '/^[[:space:]]*session[[:space:]].*pam_motd\.so/d' "$f"
    if grep -qE '^[^#]*pam_motd' "$f"; then echo "50-admin-access: pam_motd is still in $f" >&2; return 1; fi
  done
}
remove_motd ""

# Lockout for SSH (PCI DSS v4.0 8.3.4: lock after at most 10 invalid attempts, for at least 30
# minutes): pam_faillock in sshd's auth stack only. The console login stays unlocked: it is the
# recovery path, and reaching it already takes vSphere console rights. Public-key logins do not go
# through the PAM auth stack and still work while the password is locked.
cat > /etc/security/faillock.conf <<'CONF'
# Keyhaven (50-admin-access.sh): used by /etc/pam.d/sshd.
deny = 10
fail_interval = 900
unlock_time = 1800
audit
CONF
chmod 0644 /etc/security/faillock.conf
grep -qx '@include common-auth' /etc/pam.d/sshd || { echo "50-admin-access: /etc/pam.d/sshd has no '@include common-auth' line to replace" >&2; exit 1; }
awk '
  $0 == "@include common-auth" {
    print "# Keyhaven: passwords checked by pam_unix (no empty ones), failures counted by pam_faillock"
    print "# (/etc/security/faillock.conf); a locked account is refused before its password is checked."
    print "auth    requisite                pam_faillock.so preauth"
    print "auth    [success=1 default=bad]  pam_unix.so"
    print "auth    [default=die]            pam_faillock.so authfail"
    print "auth    sufficient               pam_faillock.so authsucc"
    print "auth    requisite                pam_deny.so"
    next
  }
  { print }
' /etc/pam.d/sshd > /etc/pam.d/sshd.new
mv /etc/pam.d/sshd.new /etc/pam.d/sshd
chmod 0644 /etc/pam.d/sshd
printf 'd /run/faillock 0755 root root -\n' > /usr/lib/tmpfiles.d/keyhaven-faillock.conf

# Password quality for any password PAM changes (pam-auth-update put pam_pwquality in
# common-password when libpam-pwquality was installed): the admin password policy's floor
# (appliance/accounts/password-policy.ts). The wizard and the menu check that policy first.
install -d /etc/security/pwquality.conf.d
cat > /etc/security/pwquality.conf.d/keyhaven.conf <<'CONF'
# Keyhaven (50-admin-access.sh): the floor of appliance/accounts/password-policy.ts (which is stricter).
minlen = 15
minclass = 2
maxrepeat = 3
maxsequence = 3
usercheck = 1
dictcheck = 1
enforcing = 1
retry = 3
CONF
chmod 0644 /etc/security/pwquality.conf.d/keyhaven.conf
grep -q 'pam_pwquality.so' /etc/pam.d/common-password || { echo "50-admin-access: pam_pwquality is not in common-password" >&2; exit 1; }
# Each login session gets its own temporary directory (TMPDIR=/tmp/user/UID, libpam-tmpdir).
grep -q 'pam_tmpdir.so' /etc/pam.d/common-session || { echo "50-admin-access: pam_tmpdir is not in common-session" >&2; exit 1; }

systemctl enable keyhaven-admin.socket
# SSH stays off until first boot completes (20-install-units.sh disabled it; the wizard enables it).
systemctl disable ssh.service ssh.socket 2>/dev/null || true
