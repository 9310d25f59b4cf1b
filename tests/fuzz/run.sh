#!/bin/bash
# Short, bounded libFuzzer runs of each fuzzer (the same binaries serve both
# variants; they carry their own ASan+UBSan). FUZZ_RUNS overrides the length.
cd "${ROOT:-$(dirname "$0")/../..}" || exit 1
runs=${FUZZ_RUNS:-200000}
for f in virtq net_tx virtio_mmio blk_req vmstate ahci e1000; do
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
	corpus=$(mktemp -d)
	# Start past the driver handshake (see mkseed.py).
	[ "$f" = virtio_mmio ] && python3 tests/fuzz/mkseed.py "$corpus"
	log=$(mktemp)
	if ASAN_OPTIONS=detect_leaks=0 timeout 300 "$bin" -runs="$runs" -max_total_time=60 \
		-max_len=8192 -seed=1 "$corpus" >"$log" 2>&1; then
		echo "PASS fuzz-$f: $(grep -o 'Done [0-9]* runs' "$log" || echo ok)"
	else
		echo "FAIL fuzz-$f: $(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$log" || tail -n1 "$log")"
		tail -n 40 "$log" >&2
	fi
	rm -rf "$corpus" "$log"
done
exit 0
