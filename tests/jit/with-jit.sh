#!/bin/bash
# trevo with --cpu jit after the subcommand, for running another group's
# tests on the translator: TREVO_REAL=build/trevo with-jit.sh run ...
cmd=$1
shift
exec "$TREVO_REAL" "$cmd" --cpu jit "$@"
