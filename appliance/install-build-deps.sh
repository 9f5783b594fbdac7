#!/usr/bin/env bash
# Installs what `npm run ova` needs on a fresh Debian machine (run as root), then the npm packages.
#   mmdebstrap, debian-archive-keyring  the root file system from Debian 13 packages
#   e2fsprogs, fdisk                    the ext4 file system (mkfs.ext4 -d) and the partition table
#   grub-pc-bin, grub-common            the BIOS boot loader written into the disk image
#   qemu-utils                          raw disk -> streamOptimized VMDK (qemu-img)
#   zstd                                the cached base layer is a zstd-compressed tar
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(mmdebstrap debian-archive-keyring e2fsprogs fdisk grub-pc-bin grub-common qemu-utils zstd tar)
bash .ci/apt-install-missing.sh "${packages[@]}"
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
