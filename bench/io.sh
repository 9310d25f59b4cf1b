#!/bin/bash
# I/O benchmark per device family: inside the default RISC-V guest,
# sequential read/write MB/s and 4 KiB random-read IOPS on the data disk,
# and TCP throughput guest -> host (user networking): Trevo --mode para
# (virtio-blk, virtio-net), Trevo --mode full (AHCI, e1000), QEMU TCG with
# virtio (qemu) and with the same real devices (qemu-real), all through
# the host's page cache (QEMU cache=writeback).
#
#   bench/io.sh [--modes para,full,qemu,qemu-real] [--mb N] [--trevo BIN] [-v]
#
# The guest program (bench/io-guest.c) is cross-compiled here and reaches
# the guest on a small ext2 "tools" disk.
cd "$(dirname "$0")/.." || exit 1
exec python3 bench/io.py "$@"
