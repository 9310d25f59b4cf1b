#!/bin/bash
# Run every ISA test ELF on trevo; one PASS/FAIL/SKIP line each.
# Env: TREVO, BUILD, ROOT (see tests/run.sh). The ELFs live in build/isa.
cd "${ROOT:-$(dirname "$0")/../..}"
TREVO=${TREVO:-build/trevo}
dir=build/isa
if [ ! -x "$TREVO" ]; then
	echo "SKIP isa: no $TREVO"
	exit 0
fi
for src in tests/isa/*.S; do
	name=$(basename "$src" .S)
	elf=$dir/$name.elf
	if [ ! -f "$elf" ]; then
		echo "FAIL $name: $elf not built (make isa)"
		continue
	fi
	err=$(mktemp)
	# extra options a test names in its source ("trevo-args: ...")
	read -r -a extra <<< "$(sed -n 's/.*trevo-args: *\(.*\)$/\1/p' "$src" | head -1)"
	timeout 30 "$TREVO" run --firmware "$elf" "${extra[@]}" > "$err.out" 2> "$err"
	rc=$?
	sanitizer=$(grep -m1 -E 'AddressSanitizer|runtime error|LeakSanitizer' "$err" "$err.out")
	case "$name" in
	random_m)
		# Random code in M-mode may do anything the guest may, power off
		# with any status included; it must only never crash trevo.
		if [ -n "$sanitizer" ]; then
			echo "FAIL $name: $sanitizer"
		elif [ $rc -ge 128 ] && [ $rc -ne 124 ]; then
			echo "FAIL $name: trevo died (status $rc)"
		else
			echo "PASS $name"
		fi ;;
	*)
		# a test that must end with another status says so in its source
		expect=$(sed -n 's/.*expect-status: *\([0-9]*\).*/\1/p' "$src" | head -1)
		expect=${expect:-0}
		if [ -n "$sanitizer" ]; then
			echo "FAIL $name: $sanitizer"
		elif [ $rc -eq "$expect" ]; then
			echo "PASS $name"
		elif [ $rc -eq 124 ]; then
			echo "FAIL $name: timeout"
		else
			msg=$(grep -m1 -a 'isa:' "$err.out" | tr -d '\r')
			echo "FAIL $name: status $rc (expected $expect) ${msg}"
		fi ;;
	esac
	rm -f "$err" "$err.out"
done
