#!/bin/bash
# trevo with --cpu jit (or $TREVO_CPU) after "run", for running another group's tests on the
# translator: TREVO_REAL=build/trevo with-jit.sh run ... Other subcommands
# (such as "qmp") pass through unchanged, and so does a run from a snapshot
# or a migration stream, whose engine is the one recorded in it.
cmd=$1
shift
if [ "$cmd" = run ]; then
	for a in "$@"; do
		case $a in
		--restore|--restore=*|--incoming|--incoming=*) exec "$TREVO_REAL" run "$@" ;;
		esac
	done
	exec "$TREVO_REAL" run --cpu "${TREVO_CPU:-jit}" "$@"
fi
exec "$TREVO_REAL" "$cmd" "$@"
