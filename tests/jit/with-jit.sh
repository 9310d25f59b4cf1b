#!/bin/bash
# trevo with --cpu jit after "run", for running another group's tests on the
# translator: TREVO_REAL=build/trevo with-jit.sh run ... (other subcommands,
# such as "qmp", pass through unchanged).
cmd=$1
shift
if [ "$cmd" = run ]; then
	exec "$TREVO_REAL" run --cpu jit "$@"
fi
exec "$TREVO_REAL" "$cmd" "$@"
