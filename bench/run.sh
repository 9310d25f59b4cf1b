#!/bin/bash
# Run benchmarks: bench/run.sh [NAME...] runs bench/NAME.sh for each NAME
# given (default: every bench/*.sh but this one). Exits non-zero if any fails.
cd "$(dirname "$0")"
if [ $# -eq 0 ]; then
	set --
	for f in *.sh; do
		[ "$f" = run.sh ] || set -- "$@" "${f%.sh}"
	done
fi
status=0
for name in "$@"; do
	name=${name%.sh}
	if [ ! -f "$name.sh" ]; then
		echo "bench: no bench/$name.sh"
		status=1
		continue
	fi
	echo "== $name"
	bash "./$name.sh" || status=1
done
exit $status
