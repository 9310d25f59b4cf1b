#!/bin/bash
# MMU-heavy guest benchmark (issue #10 items 6 and 7): the default RISC-V
# guest (OpenSBI, Linux, BusyBox) on Trevo full mode (--cpu interp and
# --cpu jit) and on QEMU TCG (qemu-system-riscv64 -M virt), same firmware,
# kernel and initramfs, one hart. Inside one boot the guest runs three
# phases, each timed by the host between console markers:
#   shell     a BusyBox shell loop of N fork/exec of /bin/true
#   forkexec  trevo-bench forkexec N (fork, exec itself, exit, wait)
#   pagefault trevo-bench pagefault M (M MiB of fresh anonymous pages)
# The machines run in turn, round after round (A B C A B C ...), and the
# tables give each phase's median over the rounds: wall seconds, and the
# CPU seconds of the VMM process (user + system, all its threads, from
# /proc at each marker), which a loaded host distorts much less.
#
#   bench/mmu.sh [--rounds R] [--loops N] [--mib M] [--only LIST] [--stats]
#
# R defaults to 3, N to 500, M to 64; LIST is a comma list of
# trevo-interp, trevo-jit, qemu (default: all); trevo-CPU@BINARY runs
# another trevo binary (A/B of two builds in the same rounds). --stats also prints, for
# the Trevo machines, the soft TLB flushes by cause during the phases
# (query-stats over QMP, last round).
cd "$(dirname "$0")/.." || exit 1
ROUNDS=3 N=500 MIB=64 ONLY=trevo-interp,trevo-jit,qemu STATS=
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--loops) N=$2; shift ;;
	--mib) MIB=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--stats) STATS=1 ;;
	*) echo "bench/mmu.sh: unknown option '$1' (--rounds R, --loops N, --mib M, --only LIST, --stats)" >&2; exit 2 ;;
	esac
	shift
done
TREVO=${TREVO:-build/trevo}
KERNEL=build/guest/riscv/Image
INITRD=build/guest/riscv/initramfs.cpio.gz
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
[ -e "$KERNEL" ] || guest/build.sh riscv >&2 || exit 1
[ -x "$TREVO" ] || { echo "bench/mmu.sh: no $TREVO (make)" >&2; exit 1; }
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

# With --stats the guest pauses before the first and after the last
# phase, so that the host's query-stats sees the counters between them.
pause=
[ -n "$STATS" ] && pause="; sleep 1"
guest="echo MMU-S0$pause; echo MMU-T0; i=0; while [ \$i -lt $N ]; do /bin/true; i=\$((i+1)); done; echo MMU-T1 \$i;"
guest+=" echo forkexec $N | trevo-bench serve; echo MMU-T2;"
guest+=" echo pagefault $MIB | trevo-bench serve; echo MMU-T3$pause"
enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$guest")
append="console=ttyS0 quiet trevo.run=$enc"

# Sum of the tlb-flush-* counters over the harts, as "name=value ...".
flushes() {
	"${2:-$TREVO}" qmp "$1" query-stats target=vcpu 2>/dev/null | python3 -c '
import json, sys
tot = {}
for p in json.load(sys.stdin):
    for s in p["stats"]:
        if s["name"].startswith("tlb-"):
            tot[s["name"]] = tot.get(s["name"], 0) + s["value"]
print(" ".join("%s=%d" % kv for kv in sorted(tot.items())))'
}

# CPU seconds (user + system) of process $1 so far
cputime() {
	local f
	read -r -a f < "/proc/$1/stat" 2>/dev/null || { echo 0; return; }
	# fields 14 and 15 (after a command name without spaces)
	echo "scale=2; (${f[13]} + ${f[14]}) / $(getconf CLK_TCK)" | bc
}

# run MACHINE: prints "shell forkexec pagefault" wall seconds, then the
# same in CPU seconds (- on failure); with --stats, the flush counters go
# to $TMP/MACHINE.stats
run() {
	local who=$1 t0 t1 t2 t3 c0 c1 c2 c3 line now pid sock=$TMP/qmp.sock s0=
	case "$who" in
	trevo-*)
		local bin=$TREVO cpu=${who#trevo-}
		case "$cpu" in *@*) bin=${cpu#*@}; cpu=${cpu%%@*} ;; esac
		set -- "$bin" run --cpu "$cpu" --cpus 1 --memory 512M --firmware "$FW" \
			--kernel "$KERNEL" --initrd "$INITRD" ${STATS:+--qmp unix:$sock} --append "$append" ;;
	qemu)
		set -- qemu-system-riscv64 -M virt -accel tcg -smp 1 -m 512M -nographic \
			-bios "$FW" -kernel "$KERNEL" -initrd "$INITRD" -append "$append" ;;
	esac
	t0= t1= t2= t3=
	rm -f "$TMP/pid"
	while IFS= read -r line; do
		now=$(date +%s.%N)
		[ -z "$pid" ] && pid=$(cat "$TMP/pid" 2>/dev/null)
		case "$line" in
		MMU-S0*) [ -n "$STATS" ] && [ "$who" != qemu ] && s0=$(flushes "$sock" "$1") ;;
		MMU-T0*) t0=$now c0=$(cputime "$pid") ;;
		"MMU-T1 $N"*) t1=$now c1=$(cputime "$pid") ;;
		"R forkexec $N "*) t2=$now c2=$(cputime "$pid") ;;
		"R pagefault $MIB "*) t3=$now c3=$(cputime "$pid")
			[ -n "$STATS" ] && [ "$who" != qemu ] &&
				echo "$s0 | $(flushes "$sock" "$1")" > "$TMP/$(key "$who").stats" ;;
		esac
	# tr must not buffer: each marker is timed when it arrives.
	done < <(timeout 1800 sh -c 'echo $$ > "$0"; exec "$@"' "$TMP/pid" "$@" < /dev/null 2>&1 |
		 stdbuf -o0 tr -d '\r')
	if [ -z "$t3" ] || [ -z "$t2" ] || [ -z "$t1" ] || [ -z "$t0" ]; then
		echo "- - - - - -"
		return
	fi
	# forkexec and pagefault: from the previous marker's reply (the
	# "TREVO-WORK READY" of the server start is inside, for both machines)
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc)" \
	     "$(echo "$c1 - $c0" | bc) $(echo "$c2 - $c1" | bc) $(echo "$c3 - $c2" | bc)"
}

# a file name for a machine
key() { echo "$1" | tr '/@' '__'; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else print "-" }'; }

IFS=, read -r -a machines <<< "$ONLY"
for m in "${machines[@]}"; do
	case "$m" in trevo-interp|trevo-jit|trevo-interp@?*|trevo-jit@?*|qemu) ;; *)
		echo "bench/mmu.sh: unknown machine '$m' (trevo-interp, trevo-jit, qemu)" >&2; exit 2 ;;
	esac
done
echo "# bench/mmu.sh: $N shell loops, forkexec $N, pagefault $MIB MiB; $ROUNDS rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	for m in "${machines[@]}"; do
		read -r a b c d e f < <(run "$m")
		k=$(key "$m")
		echo "$a" >> "$TMP/$k.shell"
		echo "$b" >> "$TMP/$k.forkexec"
		echo "$c" >> "$TMP/$k.pagefault"
		echo "$d" >> "$TMP/$k.cpu-shell"
		echo "$e" >> "$TMP/$k.cpu-forkexec"
		echo "$f" >> "$TMP/$k.cpu-pagefault"
		echo "# round $r $m: wall shell $a forkexec $b pagefault $c; cpu $d $e $f"
	done
done
for what in wall cpu; do
	pre=
	[ $what = cpu ] && pre=cpu-
	printf '%-32s %10s %10s %10s %12s\n' "machine ($what seconds)" shell forkexec pagefault 'ms/forkexec'
	for m in "${machines[@]}"; do
		k=$(key "$m")
		s=$(grep -v -- - "$TMP/$k.${pre}shell" | median)
		f=$(grep -v -- - "$TMP/$k.${pre}forkexec" | median)
		p=$(grep -v -- - "$TMP/$k.${pre}pagefault" | median)
		per=-
		[ "$f" != - ] && per=$(echo "scale=3; 1000 * $f / $N" | bc)
		printf '%-32s %10.3f %10.3f %10.3f %12s\n' "$m" "$s" "$f" "$p" "$per"
	done
done
if [ -n "$STATS" ]; then
	for m in "${machines[@]}"; do
		[ -e "$TMP/$(key "$m").stats" ] || continue
		echo "# $m soft TLB flushes during the phases (last round):"
		python3 - "$TMP/$(key "$m").stats" <<'EOF'
import sys
before, after = open(sys.argv[1]).read().split("|")
b = dict(kv.split("=") for kv in before.split())
for kv in after.split():
    k, v = kv.split("=")
    print("#   %-20s %10d" % (k, int(v) - int(b.get(k, 0))))
EOF
	done
fi
