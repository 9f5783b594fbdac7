#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (run as root), then the npm packages.
#   python3-pykmip  real KMIP client and server for interop tests and the benchmark (/usr/bin/python3)
#   nftables, iproute2  the firewall's nft -c checks and network-namespace proofs
#   openssl, sqlite3    the PKI tests check certificates with openssl; audit tamper tests edit the store
#   systemd             systemd-analyze verifies the appliance's units
#   packer              packer validate checks the rendered keyhaven.pkr.json (Debian's 1.6.6 on bookworm)
#   image build         the end-to-end test builds the OVA (appliance/install-build-deps.sh lists why each)
#   qemu-system-x86, xorriso  it then boots the disk with the OVF environment on a CD image
#   openssh-server, openssh-client  sshd -t and a real sshd check the admin SSH configuration
#   tmux                the admin menu and the first-boot wizard are driven in a pseudo-terminal
#   rsyslog             rsyslogd -N1 checks the rendered configuration; a real rsyslogd relays to a test SIEM
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(python3-pykmip nftables iproute2 openssl sqlite3 systemd procps qemu-utils libxml2-utils packer
  mmdebstrap debian-archive-keyring e2fsprogs fdisk grub-pc-bin grub-common zstd tar qemu-system-x86 xorriso
  openssh-server openssh-client tmux rsyslog)
bash .ci/apt-install-missing.sh "${packages[@]}"
npm ci --no-audit --no-fund
