#!/bin/bash
# Boot benchmark: the default RISC-V guest on Trevo (--mode full) and on
# qemu-system-riscv64 with the same firmware, kernel and initramfs; boot to
# init, start to poweroff, and a CPU-bound guest program. Options: see
# bench/boot.py --help (--repeat N, --only trevo|qemu, -v).
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export ROOT
[ -e build/guest/riscv/Image ] || guest/build.sh riscv >&2 || exit 1
exec python3 bench/boot.py --trevo "${TREVO:-$ROOT/build/trevo}" "$@"
