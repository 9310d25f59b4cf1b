#!/bin/bash
# End-to-end paravirtual I/O tests (virtio-blk, virtio-net) on the default
# RISC-V guest in --mode para. PARA_QEMU=1 runs the same guest commands on
# qemu-system-riscv64 instead (to check the tests themselves).
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
scale=1
[ "${VARIANT:-plain}" = san ] && scale=4
args=(--timeout-scale "$scale")
[ -n "$TREVO" ] && args+=(--trevo "$TREVO")
[ -n "${PARA_QEMU:-}" ] && args+=(--qemu)
exec python3 tests/para/para_test.py "${args[@]}"
