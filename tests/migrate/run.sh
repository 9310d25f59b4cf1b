#!/bin/bash
# Snapshots end to end (migrate_test.py): the default RISC-V guest in full
# and para mode snapshotted through QMP and restored with --restore, a KVM
# test guest counting in memory, hostile snapshot files, a changed disk.
# Then live migration between two network namespaces (live_test.py).
# Under the ASan build (VARIANT=san) every timeout is three times longer.
cd "$(dirname "$0")/../.."
ROOT=${ROOT:-$(pwd)}
export ROOT
for t in migrate_test.py live_test.py; do
	python3 -B tests/migrate/$t --trevo "${TREVO:-$ROOT/build/trevo}" \
		--kernel "$ROOT/build/guest/riscv/Image" \
		--initrd "$ROOT/build/guest/riscv/initramfs.cpio.gz" \
		--firmware /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin \
		--kvm-guest "$ROOT/build/tests/kvm/counter.bin" "$@" || exit 1
done
