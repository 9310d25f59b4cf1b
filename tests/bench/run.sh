#!/bin/bash
# tests/bench: `trevo bench --quick` on a reduced set (bench/bench.py), its
# table, JSON, SVG and PNG, the workloads' checksums on every mode, a native
# program that returns a wrong checksum (the bench must fail), bad options.
# The plain build runs every mode this host has; the sanitized build (whose
# figures mean nothing) only checks the checksums under para, briefly.
cd "$(dirname "$0")/../.."
ROOT=${ROOT:-$(pwd)}
exec /usr/bin/env python3 -B tests/bench/bench_test.py --trevo "${TREVO:-$ROOT/build/trevo}" \
	--variant "${VARIANT:-plain}" "$@"
