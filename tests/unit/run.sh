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
	out=$(cd "$ROOT" && timeout 120 "$t" </dev/null 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
		echo "FAIL $name: exited with status $rc"
	fi
done
exit 0
