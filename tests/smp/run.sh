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
for cpu in interp jit; do
	[ $cpu = jit ] && sfx=-jit || sfx=
for src in tests/smp/*.S; do
	name=$(basename "$src" .S)
	for n in 2 4 8; do
		elf=$dir/$name-$n.elf
		if [ ! -f "$elf" ]; then
			echo "FAIL $name-$n$sfx: $elf not built (make smp)"
			continue
		fi
		err=$(mktemp)
		timeout "$limit" "$TREVO" run --cpu "$cpu" --firmware "$elf" --cpus "$n" > "$err.out" 2> "$err"
		rc=$?
		sanitizer=$(grep -a -m1 -E 'Sanitizer|runtime error' "$err" "$err.out")
		if [ -n "$sanitizer" ]; then
			echo "FAIL $name-$n$sfx: $sanitizer"
		elif [ $rc -eq 0 ]; then
			echo "PASS $name-$n$sfx"
		elif [ $rc -eq 124 ]; then
			echo "FAIL $name-$n$sfx: timeout (${limit}s)"
		else
			echo "FAIL $name-$n$sfx: status $rc (case $((rc))) $(head -c 200 "$err" | tr '\n' ' ')"
		fi
		rm -f "$err" "$err.out"
	done
done
done

# Under ThreadSanitizer (make tsan), once (with the plain variant): the
# 2-hart litmus tests, on the interpreter and on the translator. TSan's runtime opens files (symbolizing a report to
# match the suppressions), which no sandboxed thread may: --sandbox off.
tsan=$(dirname "$TREVO")/tsan/trevo
if [ "${VARIANT:-plain}" = plain ]; then
	if [ ! -x "$tsan" ]; then
		echo "SKIP tsan: no $tsan (make tsan)"
	else
		for cpu in interp jit; do
		[ $cpu = jit ] && sfx=-jit || sfx=
		for src in tests/smp/*.S; do
			name=$(basename "$src" .S)
			out=$(TSAN_OPTIONS="suppressions=$PWD/tests/smp/tsan.supp halt_on_error=1 exitcode=66" \
			      timeout $((limit * 3)) "$tsan" run --cpu "$cpu" --sandbox off --firmware "$dir/$name-2.elf" --cpus 2 2>&1)
			rc=$?
			if grep -q "WARNING: ThreadSanitizer" <<< "$out"; then
				echo "FAIL tsan-$name-2$sfx: $(grep -m1 -A3 'WARNING: ThreadSanitizer' <<< "$out" | tr '\n' ' ')"
			elif [ $rc -ne 0 ]; then
				echo "FAIL tsan-$name-2$sfx: status $rc"
			else
				echo "PASS tsan-$name-2$sfx"
			fi
		done
		done
	fi
fi

# The default guest (make guest) with several harts: boot, clock_gettime
# hammered on every hart (the vDSO must survive another hart updating the
# clock data), then fork/exec/pipe stress on every hart for a bounded time.
# Full mode (OpenSBI, IPIs through the CLINT) with 8 harts, para mode (SBI
# HSM, IPI and RFENCE answered by Trevo) with 4.
kernel=build/guest/riscv/Image
initrd=build/guest/riscv/initramfs.cpio.gz
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
guest() {
	local name=$1 harts=$2 mode=$3 cpu=$4 out rc
	shift 4
	local cmd="/bin/trevo-smp clock 3 && /bin/trevo-smp stress 4"
	local args=(--cpu "$cpu" --cpus "$harts" --memory 512M --kernel "$kernel" --initrd "$initrd")
	if [ "$mode" = full ]; then
		args+=(--firmware "$fw" --append "console=ttyS0 trevo.run=${cmd// /%20}")
	else
		args+=(--mode para --append "console=hvc0 trevo.run=${cmd// /%20}")
	fi
	out=$(timeout $((limit * 4)) "$TREVO" run "${args[@]}" 2>&1 < /dev/null)
	rc=$?
	if ! grep -aq "TREVO-SMP clock harts=$harts .* ok" <<< "$out"; then
		echo "FAIL $name: no clock result for $harts harts (status $rc) $(grep -a -m2 -E 'TREVO-SMP|Oops|segfault|Kernel panic' <<< "$out" | tr '\r\n' '  ')"
	elif ! grep -aq "TREVO-SMP stress harts=$harts .* ok" <<< "$out"; then
		echo "FAIL $name: stress failed (status $rc) $(grep -a -m2 -E 'TREVO-SMP stress|Oops|Kernel panic' <<< "$out" | tr '\r\n' '  ')"
	elif [ $rc -ne 0 ] || ! grep -aq "TREVO-RUN-EXIT 0" <<< "$out"; then
		echo "FAIL $name: status $rc"
	else
		echo "PASS $name"
	fi
}
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ] || [ ! -f "$fw" ]; then
	echo "SKIP guest-full-8: no default guest (make guest) or no OpenSBI"
	echo "SKIP guest-para-4: no default guest (make guest)"
	echo "SKIP guest-full-8-jit: no default guest (make guest) or no OpenSBI"
	echo "SKIP guest-para-4-jit: no default guest (make guest)"
elif ! gzip -dc "$initrd" | grep -aq trevo-smp; then
	echo "SKIP guest-full-8: the guest predates trevo-smp (make guest)"
	echo "SKIP guest-para-4: the guest predates trevo-smp (make guest)"
	echo "SKIP guest-full-8-jit: the guest predates trevo-smp (make guest)"
	echo "SKIP guest-para-4-jit: the guest predates trevo-smp (make guest)"
else
	guest guest-full-8 8 full interp
	guest guest-para-4 4 para interp
	# the translator's harts in parallel too (jit.c): same checks, same bounds
	guest guest-full-8-jit 8 full jit
	guest guest-para-4-jit 4 para jit
fi
