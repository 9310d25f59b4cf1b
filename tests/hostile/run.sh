#!/bin/bash
# Hostile guests: tests/hostile/rv_hostile.c in full mode with an AHCI disk
# and an e1000 on slirp (wild DMA, hostile descriptors, random register
# writes, resets mid-request, illegal instructions, accesses outside RAM).
# Trevo must survive with no sanitizer report, the guest's well-behaved
# console line must come out after the chaos, the guest's power-off
# (status 0) must end Trevo, and the disk image must keep its size.
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
TREVO=${TREVO:-build/trevo}
elf=build/hostile/rv_hostile.elf
if [ ! -f "$elf" ]; then
	echo "SKIP hostile-riscv: $elf not built (needs riscv64-linux-gnu-gcc)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 4M "$tmp/disk.img"
scale=1
[ "${VARIANT:-plain}" = san ] && scale=4
timeout $((60 * scale)) "$TREVO" run --firmware "$elf" --memory 128M --disk "$tmp/disk.img" \
	--net user < /dev/null > "$tmp/out" 2> "$tmp/err"
rc=$?
san=$(grep -a -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err" "$tmp/out")
line=$(grep -a -o 'HOSTILE-SURVIVED traps=0x[0-9a-f]*' "$tmp/out")
size=$(stat -c %s "$tmp/disk.img")
if [ -n "$san" ]; then
	echo "FAIL hostile-riscv: $san"
elif [ $rc -ne 0 ]; then
	echo "FAIL hostile-riscv: status $rc $(tail -n1 "$tmp/err")"
elif [ -z "$line" ]; then
	echo "FAIL hostile-riscv: no console line after the chaos"
elif [ "$size" -ne $((4 << 20)) ]; then
	echo "FAIL hostile-riscv: the disk image is now $size bytes"
else
	echo "PASS hostile-riscv: ${line#HOSTILE-SURVIVED }"
fi
echo "SKIP hostile-x86: no x86-64 hostile guest yet"
