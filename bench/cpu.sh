#!/bin/bash
# CPU benchmark: run build/bench/cpu.elf (bench/cpu.c, bare metal, fixed work)
# on trevo and on QEMU (TCG) and print instructions, seconds, MIPS and the
# ratio trevo/QEMU. The instruction count comes from trevo's minstret, which
# is exact (the program is deterministic); QEMU's minstret under TCG counts
# host ticks, so when trevo cannot run, the count comes from a second QEMU run
# with -icount shift=0 (exact instruction counting). Both runs must print the
# same checksum. Env: TREVO (default build/trevo), QEMU.
#
#   bench/cpu.sh [--repeat N]
#
# N rounds (default 3) of one QEMU run and one trevo run, the order swapped
# every round (Q T, T Q, Q T, ...: on a shared host the second of two
# back-to-back runs is often the slower one); seconds are medians, and the
# MIPS ratio is given for each round and as the median of the rounds.
cd "$(dirname "$0")/.."
ROUNDS=3
while [ $# -gt 0 ]; do
	case "$1" in
	--repeat) ROUNDS=$2; shift 2 ;;
	*) echo "usage: bench/cpu.sh [--repeat N]" >&2; exit 2 ;;
	esac
done
case "$ROUNDS" in ''|*[!0-9]*|0) echo "cpu: --repeat wants a positive number" >&2; exit 2 ;; esac
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
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

q_all= t_all= ratios= t_ok=1
[ -x "$TREVO" ] || t_ok=0
q_sum= t_sum= t_count=
run_qemu() {
	run "${qemu_cmd[@]}"
	if [ $rc -ne 0 ] || [ -z "$(field 2)" ]; then
		echo "cpu: QEMU run failed (status $rc): $out"
		exit 1
	fi
	q_sum=$(field 2) q_secs=$secs
}
run_trevo() {
	[ $t_ok -eq 1 ] || return
	run "$TREVO" run --firmware "$ELF"
	if [ $rc -eq 0 ] && [ -n "$(field 2)" ]; then
		t_sum=$(field 2) t_count=$(field 1) t_secs=$secs
	else
		echo "cpu: trevo run failed (status $rc): $(echo "$out" | tail -3)"
		t_ok=0
	fi
}
for ((r = 0; r < ROUNDS; r++)); do
	if [ $((r % 2)) -eq 0 ]; then run_qemu; run_trevo; else run_trevo; run_qemu; fi
	q_all+=" $q_secs"
	if [ $t_ok -eq 1 ]; then
		t_all+=" $t_secs"
		ratios+=" $(awk -v t="$t_secs" -v q="$q_secs" 'BEGIN { printf "%.3f", q / t }')"
	fi
done
q_secs=$(echo "$q_all" | median)

if [ $t_ok -eq 1 ]; then
	count=$t_count
	t_secs=$(echo "$t_all" | median)
	how="trevo's minstret, exact"
else
	run "${qemu_cmd[@]}" -icount shift=0
	count=$(field 1)
	how="QEMU with -icount shift=0"
fi

mips() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }
echo "CPU benchmark: bench/cpu.c, $count instructions (counted by $how), $ROUNDS rounds, medians"
printf '%-10s %14s %10s %10s %20s\n' engine instructions seconds MIPS checksum
if [ $t_ok -eq 1 ]; then
	printf '%-10s %14s %10.3f %10s %20s\n' trevo "$count" "$t_secs" "$(mips "$t_secs")" "$t_sum"
else
	printf '%-10s %14s %10s %10s %20s\n' trevo - - - "n/a"
fi
printf '%-10s %14s %10.3f %10s %20s\n' qemu-tcg "$count" "$q_secs" "$(mips "$q_secs")" "$q_sum"
if [ $t_ok -eq 1 ]; then
	echo "MIPS ratio trevo/qemu by round:$ratios"
	awk -v t="$t_secs" -v q="$q_secs" -v m="$(echo "$ratios" | median)" \
		'BEGIN { printf "ratio trevo/qemu: time %.2fx, MIPS %.3f (median of the rounds %.3f)\n", t / q, q / t, m }'
	if [ "$t_sum" != "$q_sum" ]; then
		echo "cpu: FAIL: checksums differ (trevo $t_sum, qemu $q_sum)"
		exit 1
	fi
fi
