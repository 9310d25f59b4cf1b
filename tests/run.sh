#!/bin/bash
# Run every test group twice: with build/trevo, then with the ASan+UBSan
# build. A group is a folder tests/NAME with a run.sh that prints one line per
# test: "PASS name", "FAIL name: why" or "SKIP name: why". The summary line
# "N passed, N failed, N skipped" ends the run; any failure exits 1.
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export ROOT
pass=0 fail=0 skip=0
failed=()
only="${1:-}"
for variant in plain san; do
	if [ "$variant" = plain ]; then
		export TREVO=$ROOT/build/trevo BUILD=$ROOT/build VARIANT=plain
	else
		export TREVO=$ROOT/build/san/trevo BUILD=$ROOT/build/san VARIANT=san
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
	fi
	for g in tests/*/run.sh; do
		group=$(basename "$(dirname "$g")")
		[ -n "$only" ] && [ "$only" != "$group" ] && continue
		echo "== $group ($variant)"
		while IFS= read -r line; do
			echo "$line"
			case "$line" in
			PASS\ *) pass=$((pass + 1)) ;;
			FAIL\ *) fail=$((fail + 1)); failed+=("$variant/$group: ${line#FAIL }") ;;
			SKIP\ *) skip=$((skip + 1)) ;;
			esac
		done < <(bash "$g" 2>&1; rc=$?; [ $rc -ne 0 ] && echo "FAIL $group-runner: exited $rc")
	done
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
