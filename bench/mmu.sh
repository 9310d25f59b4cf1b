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
# table gives each phase's median over the rounds.
#
#   bench/mmu.sh [--rounds R] [--loops N] [--mib M] [--only LIST] [--stats]
#
# R defaults to 3, N to 500, M to 64; LIST is a comma list of
# trevo-interp, trevo-jit, qemu (default: all). --stats also prints, for
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
	"$TREVO" qmp "$1" query-stats target=vcpu 2>/dev/null | python3 -c '
import json, sys
tot = {}
for p in json.load(sys.stdin):
    for s in p["stats"]:
        if s["name"].startswith("tlb-"):
            tot[s["name"]] = tot.get(s["name"], 0) + s["value"]
print(" ".join("%s=%d" % kv for kv in sorted(tot.items())))'
}

# run MACHINE: prints "shell forkexec pagefault" seconds (- on failure);
# with --stats, the flush counters go to $TMP/MACHINE.stats
run() {
	local who=$1 t0 t1 t2 t3 line now sock=$TMP/qmp.sock s0=
	case "$who" in
	trevo-*)
		set -- "$TREVO" run --cpu "${who#trevo-}" --cpus 1 --memory 512M --firmware "$FW" \
			--kernel "$KERNEL" --initrd "$INITRD" ${STATS:+--qmp unix:$sock} --append "$append" ;;
	qemu)
		set -- qemu-system-riscv64 -M virt -accel tcg -smp 1 -m 512M -nographic \
			-bios "$FW" -kernel "$KERNEL" -initrd "$INITRD" -append "$append" ;;
	esac
	t0= t1= t2= t3=
	while IFS= read -r line; do
		now=$(date +%s.%N)
		case "$line" in
		MMU-S0*) [ -n "$STATS" ] && [ "$who" != qemu ] && s0=$(flushes "$sock") ;;
		MMU-T0*) t0=$now ;;
		"MMU-T1 $N"*) t1=$now ;;
		"R forkexec $N "*) t2=$now ;;
		"R pagefault $MIB "*) t3=$now
			[ -n "$STATS" ] && [ "$who" != qemu ] &&
				echo "$s0 | $(flushes "$sock")" > "$TMP/$who.stats" ;;
		esac
	# tr must not buffer: each marker is timed when it arrives.
	done < <(timeout 1800 "$@" < /dev/null 2>&1 | stdbuf -o0 tr -d '\r')
	if [ -z "$t3" ] || [ -z "$t2" ] || [ -z "$t1" ] || [ -z "$t0" ]; then
		echo "- - -"
		return
	fi
	# forkexec and pagefault: from the previous marker's reply (the
	# "TREVO-WORK READY" of the server start is inside, for both machines)
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc)"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else print "-" }'; }

IFS=, read -r -a machines <<< "$ONLY"
for m in "${machines[@]}"; do
	case "$m" in trevo-interp|trevo-jit|qemu) ;; *)
		echo "bench/mmu.sh: unknown machine '$m' (trevo-interp, trevo-jit, qemu)" >&2; exit 2 ;;
	esac
done
echo "# bench/mmu.sh: $N shell loops, forkexec $N, pagefault $MIB MiB; $ROUNDS rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	for m in "${machines[@]}"; do
		read -r a b c < <(run "$m")
		echo "$a" >> "$TMP/$m.shell"
		echo "$b" >> "$TMP/$m.forkexec"
		echo "$c" >> "$TMP/$m.pagefault"
		echo "# round $r $m: shell $a forkexec $b pagefault $c"
	done
done
printf '%-13s %10s %10s %10s %12s\n' machine shell-s forkexec-s pagefault-s 'ms/forkexec'
for m in "${machines[@]}"; do
	s=$(grep -v -- - "$TMP/$m.shell" | median)
	f=$(grep -v -- - "$TMP/$m.forkexec" | median)
	p=$(grep -v -- - "$TMP/$m.pagefault" | median)
	per=-
	[ "$f" != - ] && per=$(echo "scale=3; 1000 * $f / $N" | bc)
	printf '%-13s %10s %10s %10s %12s\n' "$m" "$s" "$f" "$p" "$per"
done
if [ -n "$STATS" ]; then
	for m in "${machines[@]}"; do
		[ -e "$TMP/$m.stats" ] || continue
		echo "# $m soft TLB flushes during the phases (last round):"
		python3 - "$TMP/$m.stats" <<'EOF'
import sys
before, after = open(sys.argv[1]).read().split("|")
b = dict(kv.split("=") for kv in before.split())
for kv in after.split():
    k, v = kv.split("=")
    print("#   %-20s %10d" % (k, int(v) - int(b.get(k, 0))))
EOF
	done
fi
