#!/bin/sh
# Runs inside the fresh Debian 13 root file system (mmdebstrap customize hook, as root in a chroot).
# Keeps the kernel modules a VM on ESXi or QEMU needs and builds a small initramfs from an explicit
# module list: MODULES=dep would inspect the build host, not the VM.
set -eu

kver=$(ls /lib/modules)
[ "$(echo "$kver" | wc -w)" -eq 1 ] || { echo "customize: expected one kernel, found: $kver" >&2; exit 1; }
mods=/lib/modules/$kver/kernel

# Storage (pvscsi, LSI Logic, SATA/IDE, NVMe, virtio), CD (iso transport), network (VMXNET3, E1000,
# virtio), VMware VMCI/vsock (VMware Tools), file systems, netfilter (nftables), crypto and libraries.
keep="
arch/x86/crypto
crypto
lib
drivers/ata
drivers/block
drivers/cdrom
drivers/char/hw_random
drivers/message/fusion
drivers/misc/vmw_vmci
drivers/net/vmxnet3
drivers/net/virtio_net.ko*
drivers/net/net_failover.ko*
drivers/net/ethernet/intel/e1000
drivers/net/ethernet/intel/e1000e
drivers/nvme
drivers/scsi/*.ko*
drivers/virtio
fs/ext4
fs/jbd2
fs/mbcache.ko*
fs/isofs
fs/nls
net/core
net/ipv4
net/ipv6
net/netfilter
net/packet
net/vmw_vsock
"
keepdir=$(mktemp -d /lib/modules/keep.XXXXXX)
for p in $keep; do
  found=
  # Unquoted on purpose: entries such as drivers/scsi/*.ko* are globs (module compression varies).
  for cand in $mods/$p; do
    [ -e "$cand" ] || continue
    rel=${cand#"$mods"/}
    mkdir -p "$keepdir/$(dirname "$rel")"
    cp -a "$cand" "$keepdir/$rel"
    found=1
  done
  [ -n "$found" ] || echo "customize: $p not in this kernel (skipped)" >&2
done
rm -rf "$mods"
mv "$keepdir" "$mods"
depmod -a "$kver"

cat > /etc/initramfs-tools/conf.d/keyhaven.conf <<'CONF'
# Keyhaven: only the listed modules, zstd compressed.
MODULES=list
COMPRESS=zstd
CONF
cat > /etc/initramfs-tools/modules <<'LIST'
vmw_pvscsi
mptspi
BusLogic
ahci
ata_piix
nvme
virtio_pci
virtio_scsi
virtio_blk
sd_mod
ext4
crc32c_generic
LIST
update-initramfs -u -k "$kver"

# Nothing the appliance does not need at run time: package lists and caches (documentation was never
# unpacked, see base-layer.ts; the copyright files stay).
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old
rm -rf /usr/share/lintian /usr/share/linda
