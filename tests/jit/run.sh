#!/bin/bash
# The translator (--cpu jit): lockstep against the interpreter on random
# programs (LOCKSTEP_SECONDS, default 20), the x86-64 emitter against
# objdump, and the ISA, boot and para tests run again on the software CPU
# that is not the default (the interpreter on x86-64 hosts; boot and para in
# the plain build only, to bound the sanitized run). JIT_ALL=1 also runs the
# qmp, full and migrate groups on it (minutes more).
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
# --cpu-trace: each translated block's guest instructions and its host code
# disassembled (Capstone), under the sandbox as a user would run it.
out=$(timeout 60 "$TREVO" run --cpu jit --cpu-trace --firmware "$ROOT/build/isa/except.elf" 2>&1 < /dev/null)
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL jit-cpu-trace: status $rc $(grep -m1 trevo: <<< "$out")"
elif ! grep -q '^jit:   +000 [0-9a-f]* AUIPC' <<< "$out"; then
	echo "FAIL jit-cpu-trace: no guest instruction lines"
elif ! grep -Eq '^jit:   0x[0-9a-f]+  (sub|mov|cmp|jmp) ' <<< "$out"; then
	echo "FAIL jit-cpu-trace: no host disassembly lines"
else
	echo "PASS jit-cpu-trace"
fi
# The other groups run on the default software CPU (the translator on
# x86-64 hosts, cli.c); these run them again on the other one.
export TREVO_REAL=$TREVO TREVO_CPU=interp
[ "$(uname -m)" = x86_64 ] || TREVO_CPU=jit
TREVO=$ROOT/tests/jit/with-jit.sh tests/isa/run.sh | sed "s/^\(PASS\|FAIL\|SKIP\) /\1 $TREVO_CPU-isa-/"
if [ "${VARIANT:-plain}" = plain ]; then
	TREVO=$ROOT/tests/jit/with-jit.sh tests/boot/run.sh | sed "s/^\(PASS\|FAIL\|SKIP\) /\1 $TREVO_CPU-boot-/"
	TREVO=$ROOT/tests/jit/with-jit.sh tests/para/run.sh | sed "s/^\(PASS\|FAIL\|SKIP\) /\1 $TREVO_CPU-para-/"
fi
if [ -n "${JIT_ALL:-}" ]; then
	for g in qmp full migrate; do
		TREVO=$ROOT/tests/jit/with-jit.sh tests/$g/run.sh | sed "s/^\(PASS\|FAIL\|SKIP\) /\1 $TREVO_CPU-$g-/"
	done
fi
exit 0
