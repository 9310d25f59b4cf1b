#!/bin/bash
# Isolation and robustness on the default guest (tests/isol/isol_test.py):
# nothing lost on SIGKILL after a guest fsync (nor a snapshot's old file);
# the sandbox on every thread; --jail.
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
scale=1
[ "${VARIANT:-plain}" = san ] && scale=4
args=(--timeout-scale "$scale")
[ -n "$TREVO" ] && args+=(--trevo "$TREVO")
exec python3 tests/isol/isol_test.py "${args[@]}"
