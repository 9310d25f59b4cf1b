#!/bin/bash
# Paravirtual I/O benchmark: inside the default RISC-V guest, sequential
# read/write MB/s and 4 KiB random-read IOPS on virtio-blk, and TCP
# throughput guest -> host on virtio-net (user networking), for Trevo's
# --mode para and --mode full, beside QEMU (TCG) as a reference.
#
#   bench/io.sh [--modes para,full,qemu] [--mb N] [-v]
#
# The guest program (bench/io-guest.c) is cross-compiled here and reaches
# the guest on a small ext2 "tools" disk.
cd "$(dirname "$0")/.." || exit 1
exec python3 bench/io.py "$@"
