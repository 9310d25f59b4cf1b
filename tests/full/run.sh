#!/bin/bash
# End-to-end tests of full mode's real devices (PCIe host, AHCI) on the
# default RISC-V guest. FULL_QEMU=1 runs the same guest commands on
# qemu-system-riscv64 with -device ahci (to check the tests themselves).
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
scale=1
[ "${VARIANT:-plain}" = san ] && scale=4
args=(--timeout-scale "$scale")
[ -n "$TREVO" ] && args+=(--trevo "$TREVO")
[ -n "${FULL_QEMU:-}" ] && args+=(--qemu)
exec python3 tests/full/full_test.py "${args[@]}"
