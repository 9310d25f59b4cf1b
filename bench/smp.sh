#!/bin/bash
# SMP benchmark (issue #14): the default RISC-V guest with 1, 2 and N harts
# on Trevo (--mode full, a host thread per hart) and on QEMU (MTTCG, one
# thread per vCPU), same firmware, kernel and initramfs. Per run: the host
# time from start to the guest's init (boot), and the wall time the guest
# needs to run as many copies of trevo-bench (its integer and floating-point
# workload) as it has harts, at once (trevo-smp par). Throughput = copies per
# second; the speed-up is against 1 hart of the same machine.
#
#   bench/smp.sh [--harts N] [--reps R] [--only trevo|qemu] [--cpu interp|jit]
#
# N defaults to 4, R (trevo-bench's repetitions per copy) to 1; --cpu picks
# Trevo's CPU engine (default: the mode's). The host
# should be otherwise idle: the 2-hart figure needs two free cores.
cd "$(dirname "$0")/.." || exit 1
N=4 REPS=1 ONLY= CPU=
while [ $# -gt 0 ]; do
	case "$1" in
	--harts) N=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--cpu) CPU=$2; shift ;;
	*) echo "bench/smp.sh: unknown option '$1' (--harts N, --reps R, --only trevo|qemu, --cpu interp|jit)" >&2; exit 2 ;;
	esac
	shift
done
TREVO=${TREVO:-build/trevo}
KERNEL=build/guest/riscv/Image
INITRD=build/guest/riscv/initramfs.cpio.gz
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin
[ -e "$KERNEL" ] || guest/build.sh riscv >&2 || exit 1
gzip -dc "$INITRD" | grep -aq trevo-smp || { echo "bench/smp.sh: the guest has no trevo-smp (make guest)" >&2; exit 1; }

# run NAME HARTS: prints "boot_seconds par_seconds" (or "- -" on failure)
run() {
	local who=$1 n=$2 cmd append t0 line boot=- par=-
	cmd="/bin/trevo-smp par $n /bin/trevo-bench $REPS"
	append="console=ttyS0 quiet trevo.run=${cmd// /%20}"
	if [ "$who" = trevo ]; then
		set -- "$TREVO" run ${CPU:+--cpu "$CPU"} --cpus "$n" --memory 512M --firmware "$FW" --kernel "$KERNEL" \
			--initrd "$INITRD" --append "$append"
	else
		set -- qemu-system-riscv64 -M virt -accel tcg,thread=multi -smp "$n" -m 512M \
			-nographic -bios "$FW" -kernel "$KERNEL" -initrd "$INITRD" -append "$append"
	fi
	t0=$(date +%s.%N)
	while IFS= read -r line; do
		case "$line" in
		*TREVO-BOOT-OK*) boot=$(echo "$(date +%s.%N) - $t0" | bc) ;;
		*"TREVO-SMP par n=$n seconds="*" ok"*)
			par=${line#*seconds=}
			par=${par%% *} ;;
		esac
	# tr must not buffer: the boot line is timed when it arrives.
	done < <(timeout 900 "$@" < /dev/null 2>&1 | stdbuf -o0 tr -d '\r')
	echo "$boot $par"
}

printf '%-6s %5s %9s %9s %12s %9s\n' machine harts boot-s work-s copies/s speed-up
for who in trevo qemu; do
	[ -n "$ONLY" ] && [ "$ONLY" != "$who" ] && continue
	base=
	for n in 1 2 "$N"; do
		[ "$n" = 2 ] && [ "$N" = 2 ] && [ -n "$done2" ] && continue
		read -r boot par < <(run "$who" "$n")
		[ "$n" = 2 ] && done2=1
		if [ "$par" = - ]; then
			printf '%-6s %5s %9s %9s %12s %9s\n' "$who" "$n" "$boot" - - -
			continue
		fi
		tput=$(echo "scale=3; $n / $par" | bc)
		[ -z "$base" ] && base=$tput
		printf '%-6s %5s %9.2f %9.2f %12.3f %8.2fx\n' "$who" "$n" "$boot" "$par" "$tput" \
			"$(echo "scale=3; $tput / $base" | bc)"
	done
	done2=
done
