#!/bin/bash
# Whole-machine boot tests: the default RISC-V guest (make guest) on Trevo's
# full mode, driven on a pty by boot_test.py (which can also run the same
# checks on QEMU: tests/boot/boot_test.py --qemu). Under the ASan build
# (VARIANT=san) every timeout is three times longer.
cd "$(dirname "$0")/../.."
ROOT=${ROOT:-$(pwd)}
export ROOT
exec python3 tests/boot/boot_test.py --trevo "${TREVO:-$ROOT/build/trevo}" \
	--kernel "$ROOT/build/guest/riscv/Image" \
	--initrd "$ROOT/build/guest/riscv/initramfs.cpio.gz" \
	--firmware /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin --cpus 2
