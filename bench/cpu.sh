#!/bin/bash
# CPU benchmark: run build/bench/cpu.elf (bench/cpu.c, bare metal, fixed work)
# on trevo and on QEMU (TCG) and print instructions, seconds, MIPS and the
# ratio trevo/QEMU. The instruction count comes from trevo's minstret, which
# is exact (the program is deterministic); QEMU's minstret under TCG counts
# host ticks, so when trevo cannot run, the count comes from a second QEMU run
# with -icount shift=0 (exact instruction counting). Both runs must print the
# same checksum. Env: TREVO (default build/trevo), QEMU.
cd "$(dirname "$0")/.."
TREVO=${TREVO:-build/trevo}
QEMU=${QEMU:-qemu-system-riscv64}
ELF=build/bench/cpu.elf
make --no-print-directory -s "$ELF" || exit 1

now() { date +%s.%N; }
# run NAME CMD...: sets out, secs, rc
run() {
	local t0 t1
	t0=$(now)
	out=$(timeout 600 "$@" 2>&1 < /dev/null)
	rc=$?
	t1=$(now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}
field() { echo "$out" | tr -d '\r' | sed -n "s/.*cpu: instret=\([0-9]*\) checksum=\(0x[0-9a-f]*\).*/\\$1/p" | head -1; }

qemu_cmd=("$QEMU" -M virt -m 256M -nographic -bios none -kernel "$ELF")
run "${qemu_cmd[@]}"
q_rc=$rc q_secs=$secs q_sum=$(field 2)
if [ $q_rc -ne 0 ] || [ -z "$q_sum" ]; then
	echo "cpu: QEMU run failed (status $q_rc): $out"
	exit 1
fi

t_ok=0
if [ -x "$TREVO" ]; then
	run "$TREVO" run --firmware "$ELF"
	t_rc=$rc t_secs=$secs t_sum=$(field 2) t_count=$(field 1)
	if [ $t_rc -eq 0 ] && [ -n "$t_sum" ]; then
		t_ok=1
	else
		echo "cpu: trevo run failed (status $t_rc): $(echo "$out" | tail -3)"
	fi
fi

if [ $t_ok -eq 1 ]; then
	count=$t_count
	how="trevo's minstret, exact"
else
	run "${qemu_cmd[@]}" -icount shift=0
	count=$(field 1)
	how="QEMU with -icount shift=0"
fi

mips() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }
echo "CPU benchmark: bench/cpu.c, $count instructions (counted by $how)"
printf '%-10s %14s %10s %10s %20s\n' engine instructions seconds MIPS checksum
if [ $t_ok -eq 1 ]; then
	printf '%-10s %14s %10.3f %10s %20s\n' trevo "$count" "$t_secs" "$(mips "$t_secs")" "$t_sum"
else
	printf '%-10s %14s %10s %10s %20s\n' trevo - - - "n/a"
fi
printf '%-10s %14s %10.3f %10s %20s\n' qemu-tcg "$count" "$q_secs" "$(mips "$q_secs")" "$q_sum"
if [ $t_ok -eq 1 ]; then
	awk -v t="$t_secs" -v q="$q_secs" 'BEGIN { printf "ratio trevo/qemu: time %.2fx, MIPS %.3f\n", t / q, q / t }'
	if [ "$t_sum" != "$q_sum" ]; then
		echo "cpu: FAIL: checksums differ (trevo $t_sum, qemu $q_sum)"
		exit 1
	fi
fi
