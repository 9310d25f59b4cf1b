#!/bin/bash
# The translator (--cpu jit): lockstep against the interpreter on random
# programs (LOCKSTEP_SECONDS, default 20), the x86-64 emitter against
# objdump, and the ISA and boot tests run again on the translator (boot and
# para in the plain build only, to bound the sanitized run). JIT_ALL=1 also
# runs the qmp, full and migrate groups on the translator (minutes more).
# Env: TREVO, BUILD, ROOT, VARIANT (see tests/run.sh).
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
ROOT=$(pwd)
BUILD=${BUILD:-$ROOT/build}
TREVO=${TREVO:-$BUILD/trevo}
for t in lockstep emit; do
	if [ ! -x "$BUILD/tests/jit/$t" ]; then
		echo "FAIL jit-$t: $BUILD/tests/jit/$t not built (make test-build)"
		continue
	fi
	case $t in
	lockstep) timeout 120 "$BUILD/tests/jit/lockstep" "${LOCKSTEP_SECONDS:-20}" ;;
	*) timeout 60 "$BUILD/tests/jit/$t" ;;
	esac || echo "FAIL jit-$t-runner: exited $?"
done
export TREVO_REAL=$TREVO
TREVO=$ROOT/tests/jit/with-jit.sh tests/isa/run.sh | sed 's/^\(PASS\|FAIL\|SKIP\) /\1 jit-isa-/'
if [ "${VARIANT:-plain}" = plain ]; then
	TREVO=$ROOT/tests/jit/with-jit.sh tests/boot/run.sh | sed 's/^\(PASS\|FAIL\|SKIP\) /\1 jit-boot-/'
	TREVO=$ROOT/tests/jit/with-jit.sh tests/para/run.sh | sed 's/^\(PASS\|FAIL\|SKIP\) /\1 jit-para-/'
fi
if [ -n "${JIT_ALL:-}" ]; then
	for g in qmp full migrate; do
		TREVO=$ROOT/tests/jit/with-jit.sh tests/$g/run.sh | sed "s/^\(PASS\|FAIL\|SKIP\) /\1 jit-$g-/"
	done
fi
exit 0
