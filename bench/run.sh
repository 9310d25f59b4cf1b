#!/bin/bash
# `trevo bench`: with no arguments or with options (--modes, --quick, ...),
# the side-by-side benchmark of every mode (bench/bench.py, `trevo bench
# --help`); with names, the older separate benchmarks: bench/run.sh NAME...
# runs bench/NAME.sh for each NAME. Exits non-zero if any fails.
cd "$(dirname "$0")"
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
	# Debian's python3 carries python3-matplotlib (scripts/deps.sh), which
	# a python3 earlier on PATH (a virtualenv, pyenv) may not.
	py=python3
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3
	exec "$py" -B ./bench.py "$@"
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
