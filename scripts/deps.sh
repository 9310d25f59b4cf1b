#!/bin/bash
# Install the Debian packages Trevo needs to build, test and make its guests,
# only those missing. Non-interactive; needs root (or sudo) the first time.
set -e
PKGS="build-essential pkg-config libfdt-dev libslirp-dev libseccomp-dev libzstd-dev liblzma-dev zlib1g-dev acpica-tools
gcc-riscv64-linux-gnu libc6-dev-riscv64-cross binutils-riscv64-linux-gnu
opensbi qemu-system-misc qemu-system-x86 linux-source-6.1 busybox-static linux-image-amd64
device-tree-compiler flex bison bc cpio lz4 xz-utils libssl-dev libelf-dev python3 iproute2
e2fsprogs dpkg-dev clang kmod python3-matplotlib libnbd-dev nbdkit libcapstone-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
