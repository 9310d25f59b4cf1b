#!/bin/bash
# Unit tests: each program built from tests/unit/X.c (as $BUILD/tests/unit/X)
# prints its own PASS/FAIL/SKIP lines and exits non-zero on failure.
shopt -s nullglob
bins=("$BUILD"/tests/unit/*)
if [ ${#bins[@]} -eq 0 ]; then
	echo "SKIP unit: no unit test binaries in $BUILD/tests/unit (make test-build)"
	exit 0
fi
for t in "${bins[@]}"; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t")
	# Still leaking in their own set-up (not in Trevo): leak check off
	# for these two until they free what they make.
	case "$name" in
	test_uart|test_x86_boot) opts=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0} ;;
	*) opts=${ASAN_OPTIONS:-} ;;
	esac
	out=$(cd "$ROOT" && ASAN_OPTIONS=$opts timeout 120 "$t" </dev/null 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
		echo "FAIL $name: exited with status $rc"
	fi
done
exit 0
