#!/bin/bash
# Short, bounded libFuzzer runs of each fuzzer (the same binaries serve both
# variants; they carry their own ASan+UBSan). FUZZ_RUNS overrides the length.
# Each starts from its seed corpus, tests/fuzz/corpus/NAME, when there is one
# (copied: the run never writes into the source tree).
# `make fuzz FUZZ_SECONDS=N` sets FUZZ_CAMPAIGN=1: every target for N
# seconds, keeping what it finds in build/fuzz/corpus/NAME across campaigns.
# FUZZ_ONLY="a b" runs only those targets.
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
runs=${FUZZ_RUNS:-200000}
all="virtq net_tx virtio_mmio blk_req vmstate ahci e1000 uart qmp_json \
	plic rtc sbi virtio_console x86_boot rv_loader snapshot clint sifive_test pvpanic ecam migration qmp"
for f in ${FUZZ_ONLY:-$all}; do
	bin=build/fuzz/fuzz_$f
	if [ ! -x "$bin" ]; then
		echo "SKIP fuzz-$f: $bin not built (needs clang; make $bin)"
		continue
	fi
	# The plain variant runs it; the san pass would only repeat the same run.
	if [ "${VARIANT:-plain}" = san ]; then
		echo "SKIP fuzz-$f: already run in the plain variant (the fuzzer is sanitized)"
		continue
	fi
	# Targets whose every input builds and parses a whole image or state
	# run fewer inputs in make test (a few seconds each).
	n=$runs
	case $f in plic|rtc|x86_boot|rv_loader|snapshot|ecam|qmp) n=$((runs / 10)) ;; esac
	# A socket and a thread per input (a few hundred a second).
	[ "$f" = migration ] && n=$((runs / 100))
	if [ -n "${FUZZ_CAMPAIGN:-}" ]; then
		corpus=build/fuzz/corpus/$f
		mkdir -p "$corpus"
		limits=(-max_total_time="${FUZZ_SECONDS:-60}")
	else
		corpus=$(mktemp -d)
		limits=(-runs="$n" -max_total_time=60)
	fi
	[ -d "tests/fuzz/corpus/$f" ] && cp -n tests/fuzz/corpus/$f/* "$corpus"/
	# Start past the driver handshake (see mkseed.py).
	case $f in virtio_mmio|virtio_console) python3 tests/fuzz/mkseed.py "$corpus" ;; esac
	# A snapshot or migration seed is a whole small machine (about 4.5 KiB,
	# and 3.6 KiB more per vCPU: the nine or more that once overflowed the
	# readers' tables need 40 KiB).
	maxlen=8192
	case $f in snapshot|migration) maxlen=65536 ;; esac
	log=$(mktemp)
	if ASAN_OPTIONS=detect_leaks=1 timeout $((${FUZZ_SECONDS:-60} + 240)) "$bin" "${limits[@]}" \
		-max_len=$maxlen -seed=1 -artifact_prefix="$(dirname "$log")/" "$corpus" >"$log" 2>&1; then
		echo "PASS fuzz-$f: $(grep -o 'Done [0-9]* runs' "$log" || echo ok)"
	else
		echo "FAIL fuzz-$f: $(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$log" || tail -n1 "$log")"
		tail -n 40 "$log" >&2
	fi
	[ -z "${FUZZ_CAMPAIGN:-}" ] && rm -rf "$corpus"
	rm -f "$log"
done
exit 0
