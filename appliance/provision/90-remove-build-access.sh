#!/bin/sh
# Last step: remove every way in the build used and everything that identifies this build's machine.
# After it nothing can log in; SSH host keys and the machine id are made on the appliance's first boot.
set -eu
rm -rf /root/.ssh
rm -f /etc/ssh/ssh_host_*
ln -sf /dev/null /etc/tmpfiles.d/provision.conf
rm -f /etc/systemd/system/ssh.socket.d/listen.conf /etc/systemd/system/sshd-vsock.socket
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id /var/lib/systemd/random-seed /var/lib/systemd/credential.secret
rm -rf /var/log/journal/*/ /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /tmp/* /var/tmp/*
find /var/log -type f -delete
rm -f /root/.bash_history
