#!/bin/bash
# Regenerate tests/unit/fpu_vectors.h on an x86 host with Debian's
# gcc-riscv64-linux-gnu and qemu-user. Arguments (seed, count multiplier)
# go to the generator; without them the output is the committed table.
set -e
cd "$(dirname "$0")"
out=${OUT:-../fpu_vectors.h}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
riscv64-linux-gnu-gcc -static -O2 -Wall -Wextra -o "$tmp/gen" gen_fpu_vectors.c
qemu-riscv64 "$tmp/gen" "$@" >"$tmp/v.h"
mv "$tmp/v.h" "$out"
# The unit test #includes the table; the Makefile only tracks its .c.
[ -n "${OUT:-}" ] || touch ../test_fpu.c
