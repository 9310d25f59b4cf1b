#!/bin/bash
# SMP litmus tests (tests/smp/*.S, see lib/smp.h): each with 2, 4 and 8 harts
# on their own host threads (--cpus N); one PASS/FAIL line per test and hart
# count. Env: TREVO, ROOT (tests/run.sh); TIMEOUT (seconds per run).
cd "${ROOT:-$(dirname "$0")/../..}"
TREVO=${TREVO:-build/trevo}
dir=build/smp
limit=${TIMEOUT:-60}
[ "${VARIANT:-plain}" = plain ] || limit=$((limit * 3))
if [ ! -x "$TREVO" ]; then
	echo "SKIP smp: no $TREVO"
	exit 0
fi
for src in tests/smp/*.S; do
	name=$(basename "$src" .S)
	for n in 2 4 8; do
		elf=$dir/$name-$n.elf
		if [ ! -f "$elf" ]; then
			echo "FAIL $name-$n: $elf not built (make smp)"
			continue
		fi
		err=$(mktemp)
		timeout "$limit" "$TREVO" run --firmware "$elf" --cpus "$n" > "$err.out" 2> "$err"
		rc=$?
		sanitizer=$(grep -a -m1 -E 'Sanitizer|runtime error' "$err" "$err.out")
		if [ -n "$sanitizer" ]; then
			echo "FAIL $name-$n: $sanitizer"
		elif [ $rc -eq 0 ]; then
			echo "PASS $name-$n"
		elif [ $rc -eq 124 ]; then
			echo "FAIL $name-$n: timeout (${limit}s)"
		else
			echo "FAIL $name-$n: status $rc (case $((rc))) $(head -c 200 "$err" | tr '\n' ' ')"
		fi
		rm -f "$err" "$err.out"
	done
done
