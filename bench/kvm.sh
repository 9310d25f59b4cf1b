#!/bin/bash
# KVM (--mode hw) benchmark: trevo beside qemu-system-x86_64 -enable-kvm on
# the same flat guest (build/tests/kvm/loop.bin: one write to port 0x99, N
# writes to port 0x80, then the exit port 0x501; it carries a multiboot
# header so QEMU loads the very same file with -kernel).
#   start-up     : wall time from exec to the guest's first port write
#                  (trevo: TREVO_FIRST_EXIT stamp; QEMU: its trace of the
#                  write to 0x99 with -msg timestamp=on), and to the end of a
#                  run with N = 0 (start, first instruction, exit, teardown)
#   exit cost    : (time(N) - time(0)) / N, one port-I/O exit round trip
#                  through the VMM's user space
#   memory       : RSS minus the guest RAM mapping's RSS, guest running
# Env: TREVO (default build/trevo), QEMU (default qemu-system-x86_64),
# N (default 20000), RUNS (default 5).
cd "$(dirname "$0")/.."
TREVO=${TREVO:-build/trevo}
QEMU=${QEMU:-qemu-system-x86_64}
N=${N:-20000}
RUNS=${RUNS:-5}
MEM=256
GUEST=build/tests/kvm/loop.bin
make --no-print-directory -s "$GUEST" "$TREVO" >/dev/null || exit 1
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "kvm: SKIP: no usable /dev/kvm"
	exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# guest_with COUNT: a copy of the guest with N patched in (offset 4).
guest_with() {
	local f=$T/loop-$1.bin
	if ! [ -f "$f" ]; then
		cp "$GUEST" "$f"
		python3 -c "import struct,sys; f=open(sys.argv[1],'r+b'); f.seek(4); f.write(struct.pack('<I', int(sys.argv[2])))" "$f" "$1"
	fi
	echo "$f"
}

now_ns() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "" }'; }

have_qemu=0
command -v "$QEMU" >/dev/null && have_qemu=1
qemu_cmd() {  # MACHINE GUEST
	echo "$QEMU" -enable-kvm -M "$1" -m $MEM -nodefaults -no-user-config -display none \
		-kernel "$2" -device isa-debug-exit,iobase=0x501,iosize=1
}

# one_run VMM GUEST: prints "TOTAL_NS FIRST_NS" (FIRST empty when unknown)
one_run() {
	local vmm=$1 g=$2 t0 t1 first=""
	case $vmm in
	trevo)
		t0=$(now_ns)
		TREVO_FIRST_EXIT=1 "$TREVO" run --mode hw --memory ${MEM}M --kernel "$g" </dev/null >/dev/null 2>"$T/err"
		t1=$(now_ns)
		first=$(sed -n 's/.*first guest exit at \([0-9]*\)\.\([0-9]*\).*/\1\2/p' "$T/err" | head -1)
		;;
	qemu-*)
		t0=$(now_ns)
		$(qemu_cmd "${vmm#qemu-}" "$g") -msg timestamp=on -trace memory_region_ops_write \
			</dev/null >/dev/null 2>"$T/err"
		t1=$(now_ns)
		first=$(grep -m1 "addr 0x99 value 0x42" "$T/err" | sed -n 's/^[0-9]*@\([0-9]*\)\.\([0-9]*\):.*/\1\2000/p')
		;;
	esac
	echo "$((t1 - t0)) $([ -n "$first" ] && echo $((first - t0)))"
}

# measure VMM: sets start_first start_total exit_ns
measure() {
	local vmm=$1 g0 gn i firsts totals totals_n
	g0=$(guest_with 0)
	gn=$(guest_with "$N")
	firsts="" totals="" totals_n=""
	for i in $(seq "$RUNS"); do
		read -r tot first < <(one_run "$vmm" "$g0")
		totals+="$tot"$'\n'
		[ -n "$first" ] && firsts+="$first"$'\n'
	done
	for i in $(seq 3); do
		read -r tot first < <(one_run "$vmm" "$gn")
		totals_n+="$tot"$'\n'
	done
	start_first=$(printf '%s' "$firsts" | median)
	start_total=$(printf '%s' "$totals" | median)
	local tn
	tn=$(printf '%s' "$totals_n" | median)
	exit_ns=$(( (tn - start_total) / N ))
}

# rss_overhead CMD...: start it on a guest that keeps exiting, wait, then
# total RSS minus the RSS of the guest RAM mapping (the mapping of MEM MiB).
rss_overhead() {
	local pid
	"$@" </dev/null >/dev/null 2>&1 &
	pid=$!
	sleep 3
	python3 - "$pid" "$MEM" <<'PY'
import sys
pid, mem = sys.argv[1], int(sys.argv[2]) * 1024
total = guest = 0
size = 0
try:
    for line in open(f"/proc/{pid}/smaps"):
        f = line.split()
        if f[0] == "Size:":
            size = int(f[1])
        elif f[0] == "Rss:":
            rss = int(f[1])
            total += rss
            # the guest RAM: a mapping of the guest's size (QEMU may pad it)
            if mem <= size <= mem + 4096 and rss > guest:
                guest = rss
    print(f"{(total - guest) / 1024:.1f} {guest / 1024:.1f}")
except OSError:
    print("? ?")
PY
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

ms() { [ -n "$1" ] && awk -v n="$1" 'BEGIN { printf "%.1f ms", n / 1e6 }' || echo "n/a"; }
us() { [ -n "$1" ] && awk -v n="$1" 'BEGIN { printf "%.1f us", n / 1e3 }' || echo "n/a"; }

printf '%-22s %14s %14s %14s %16s\n' "kvm: VMM" "first insn" "run (N=0)" "exit cost" "RSS overhead"
row() {
	printf '%-22s %14s %14s %14s %16s\n' "$1" "$(ms "$start_first")" "$(ms "$start_total")" "$(us "$exit_ns")" "$2"
}

measure trevo
t_first=$start_first t_exit=$exit_ns
read -r t_over t_guest < <(rss_overhead "$TREVO" run --mode hw --memory ${MEM}M --kernel "$(guest_with 2000000000)")
row "trevo --mode hw" "$t_over MiB"
if [ $have_qemu = 1 ]; then
	measure qemu-microvm
	q_first=$start_first q_exit=$exit_ns
	read -r q_over q_guest < <(rss_overhead $(qemu_cmd microvm "$(guest_with 2000000000)"))
	row "qemu -M microvm" "$q_over MiB"
	# The PC machine boots SeaBIOS first: start-up only, one run.
	read -r tot first < <(one_run qemu-pc "$(guest_with 0)")
	start_first=$first start_total=$tot exit_ns=""
	row "qemu -M pc (SeaBIOS)" "-"
else
	echo "kvm: $QEMU not found: no reference figures"
fi
echo "kvm: N=$N port exits per run, guest RAM ${MEM} MiB, median of $RUNS start-ups; targets:"
echo "kvm:   start-up and exit cost no worse than QEMU's, RSS overhead under 10 MiB"
verdict() { echo "kvm:   $1: $2"; }
[ -n "$t_over" ] && verdict "memory overhead ${t_over} MiB" "$(awk -v o="$t_over" 'BEGIN { print (o < 10) ? "met" : "MISSED" }')"
if [ $have_qemu = 1 ] && [ -n "$t_first" ] && [ -n "$q_first" ]; then
	verdict "start-up vs QEMU microvm" "$( [ "$t_first" -le "$q_first" ] && echo met || echo MISSED)"
fi
if [ $have_qemu = 1 ] && [ -n "$t_exit" ] && [ -n "$q_exit" ]; then
	verdict "exit cost vs QEMU microvm" "$( [ "$t_exit" -le "$q_exit" ] && echo met || echo "MISSED (within noise if close)")"
fi
