#!/bin/bash
# The QMP management socket end to end: the default RISC-V guest (make
# guest) in full mode with --qmp, driven on a pty and through the socket by
# qmp_test.py, and the `trevo qmp` client. Under the ASan build
# (VARIANT=san) every timeout is three times longer.
cd "$(dirname "$0")/../.."
ROOT=${ROOT:-$(pwd)}
export ROOT
exec python3 -B tests/qmp/qmp_test.py --trevo "${TREVO:-$ROOT/build/trevo}" \
	--kernel "$ROOT/build/guest/riscv/Image" \
	--initrd "$ROOT/build/guest/riscv/initramfs.cpio.gz" \
	--firmware /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin "$@"
