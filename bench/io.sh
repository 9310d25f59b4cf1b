#!/bin/bash
# I/O benchmark per device family: inside the default RISC-V guest,
# sequential read/write MB/s and 4 KiB random-read IOPS on the data disk,
# and TCP throughput guest -> host (user networking), each for at least
# --secs seconds, with the VMM's host CPU seconds per GB: Trevo --mode para
# (virtio-blk, virtio-net), Trevo --mode full (AHCI, e1000), QEMU TCG with
# virtio (qemu) and with the same real devices (qemu-real), all through
# the host's page cache (QEMU cache=writeback). --repeat N boots each mode
# N times, in turn, for medians; --stats adds Trevo's counters per MiB.
#
#   bench/io.sh [--modes para,full,full:jit,full=BIN,qemu,qemu-real] [--mb 256]
#               [--secs 3] [--repeat N] [--stats] [--json F] [--trevo BIN] [-v]
#
# The guest program (bench/io-guest.c) is cross-compiled here and reaches
# the guest on a small ext2 "tools" disk.
cd "$(dirname "$0")/.." || exit 1
exec python3 bench/io.py "$@"
