#!/bin/bash
# Hostile guests: tests/hostile/rv_hostile.c in full mode with an AHCI disk
# and an e1000 on slirp (wild DMA, hostile descriptors, random register
# writes, resets mid-request, illegal instructions, accesses outside RAM).
# Trevo must survive with no sanitizer report, the guest's well-behaved
# AHCI write and read-back of sectors 1-4 must succeed and the console line
# come out after the chaos, the guest's power-off (status 0) must end
# Trevo, the disk image must keep its size and hold the sectors.
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
TREVO=${TREVO:-build/trevo}
elf=build/hostile/rv_hostile.elf
if [ ! -f "$elf" ]; then
	echo "SKIP hostile-riscv: $elf not built (needs riscv64-linux-gnu-gcc)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# What both guests' well-behaved drivers write: in sectors 1-4, byte i of
# sector s is (s * 31 + i) & 0xff after the 15-byte tag "HOSTILE-PATTERN".
pattern_check() {
	python3 -c '
import sys
d = open(sys.argv[1], "rb").read(5 * 512)
ok = all(d[s * 512:s * 512 + 15] == b"HOSTILE-PATTERN" and
         all(d[s * 512 + i] == (s * 31 + i) & 0xff for i in range(15, 512)) for s in range(1, 5))
print("yes" if ok else "no")' "$1"
}
truncate -s 4M "$tmp/disk.img"
scale=1
[ "${VARIANT:-plain}" = san ] && scale=4
timeout $((180 * scale)) "$TREVO" run --firmware "$elf" --memory 128M --disk "$tmp/disk.img" \
	--net user < /dev/null > "$tmp/out" 2> "$tmp/err"
rc=$?
san=$(grep -a -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err" "$tmp/out")
line=$(grep -a -o 'HOSTILE-SURVIVED traps=0x[0-9a-f]* disk=[a-zA-Z]*.*' "$tmp/out" | tr -d '\r')
size=$(stat -c %s "$tmp/disk.img")
pattern_ok=$(pattern_check "$tmp/disk.img")
if [ -n "$san" ]; then
	echo "FAIL hostile-riscv: $san"
elif [ $rc -ne 0 ]; then
	echo "FAIL hostile-riscv: status $rc $(tail -n1 "$tmp/err")"
elif [ -z "$line" ]; then
	echo "FAIL hostile-riscv: no console line after the chaos"
elif [ "${line#*disk=}" != ok ]; then
	echo "FAIL hostile-riscv: the well-behaved AHCI driver: ${line#*disk=}"
elif [ "$size" -ne $((4 << 20)) ]; then
	echo "FAIL hostile-riscv: the disk image is now $size bytes"
elif [ "$pattern_ok" != yes ]; then
	echo "FAIL hostile-riscv: the well-behaved driver's sectors are not in the host image"
else
	echo "PASS hostile-riscv: ${line#HOSTILE-SURVIVED }"
fi

# The x86-64 hostile guest (tests/kvm/guest/hostile.c) on KVM with a
# virtio-blk disk and virtio-net on slirp: the same checks, and its
# well-behaved driver's pattern in sectors 1-4 of the host image.
x86=build/tests/kvm/hostile.bin
if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP hostile-x86: no usable /dev/kvm on this host"
	exit 0
fi
if [ ! -f "$x86" ]; then
	echo "FAIL hostile-x86: $x86 not built (make test-build)"
	exit 0
fi
rm -f "$tmp/disk.img"
truncate -s 4M "$tmp/disk.img"
start=$(date +%s)
# 3,000 rounds, about 20,000 exits: 41 s at load 2-3; nested KVM's exits
# slow down six-fold at load 14, hence the margin.
timeout $((300 * scale)) "$TREVO" run --mode hw --memory 64M --kernel "$x86" --disk "$tmp/disk.img" \
	--net user < /dev/null > "$tmp/out" 2> "$tmp/err"
rc=$?
secs=$(( $(date +%s) - start ))
san=$(grep -a -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/err" "$tmp/out")
line=$(grep -a -o 'HOSTILE-X86-SURVIVED.*needs-reset=[0-9]*' "$tmp/out")
size=$(stat -c %s "$tmp/disk.img")
pattern_ok=$(pattern_check "$tmp/disk.img")
if [ -n "$san" ]; then
	echo "FAIL hostile-x86: $san"
elif [ $rc -ne 0 ]; then
	echo "FAIL hostile-x86: status $rc $(tail -n1 "$tmp/err") $(tail -n1 "$tmp/out" | tr -d '\r')"
elif [ -z "$line" ]; then
	echo "FAIL hostile-x86: no console line after the chaos"
elif [ "$size" -ne $((4 << 20)) ]; then
	echo "FAIL hostile-x86: the disk image is now $size bytes"
elif [ "$pattern_ok" != yes ]; then
	echo "FAIL hostile-x86: the well-behaved driver's sectors are not in the host image"
else
	echo "PASS hostile-x86: ${line#HOSTILE-X86-SURVIVED } (${secs} s)"
fi
