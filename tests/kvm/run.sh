#!/bin/bash
# x86-64 guests on KVM (--mode hw): Trevo's own flat test guests
# (tests/kvm/guest, built by tests/kvm/kvm.mk), bad-input checks, and a Linux
# early-boot check with Debian's kernel. One line per test (tests/run.sh).
cd "$ROOT" || exit 1
G=$ROOT/build/tests/kvm
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# The sanitizer build's device models are slower, and nested KVM on a
# loaded host slower still (chaos under ASan took 30 s at load 11).
# GUEST_TIMEOUT (seconds, default 30) is a guest's limit in the plain run.
scale=1
[ "${VARIANT:-plain}" = san ] && scale=3

pass() { echo "PASS kvm-$1"; }
fail() { echo "FAIL kvm-$1: $2"; }
skip() { echo "SKIP kvm-$1: $2"; }

ALL="serial exit-status ports-mmio smp halt triple-fault int3 reboot reboot-restart acpi-poweroff virtio-blk virtio-blk-irq virtio-blk-irq-line virtio-blk-reboot virtio-blk-reboot-irq-line chaos \
bad-kernel corrupt-bzimage small-memory no-kvm kvm-permission linux-early linux-early-vmlinux \
linux-early-decompressor linux-boot"

if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	for t in $ALL; do skip "$t" "no usable /dev/kvm on this host"; done
	exit 0
fi

# run NAME TIMEOUT ARGS...: trevo's stdout in $T/NAME.out, stderr in
# $T/NAME.err, exit status in $rc.
run() {
	local name=$1 secs=$2
	shift 2
	timeout "$secs" "$TREVO" run --mode hw --memory 64M "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
}

# Check a guest that reports on the serial port and exits with a status.
guest_test() {
	local name=$1 bin=$2 want_rc=$3 want_out=$4
	shift 4
	if ! [ -f "$G/$bin.bin" ]; then
		fail "$name" "$G/$bin.bin not built (make test-build)"
		return
	fi
	run "$name" $((${GUEST_TIMEOUT:-30} * scale)) --kernel "$G/$bin.bin" "$@"
	if [ "$rc" != "$want_rc" ]; then
		fail "$name" "exit status $rc, want $want_rc: $(head -c 300 "$T/$name.err" | tr '\n' ' ')"
	elif [ -n "$want_out" ] && ! grep -q "$want_out" "$T/$name.out"; then
		fail "$name" "no '$want_out' on the console: $(head -c 200 "$T/$name.out" | tr '\r\n' '  ')"
	else
		pass "$name"
	fi
}

guest_test serial serial 0 "hello from the KVM test guest on cpu 0"
guest_test exit-status exitcode 7 "exiting with 7"
guest_test ports-mmio ports 0 "ports ok"
if [ "$rc" = 0 ] && ! grep -q "rep-outsb-ok" "$T/ports-mmio.out"; then
	fail ports-mmio-string "rep outsb did not reach the UART"
fi

# Four vCPUs, each started by Trevo at the entry with its index in RDI.
guest_test smp smp 0 "all 4 cpus up" --cpus 4
if [ "$rc" = 0 ]; then
	for i in 0 1 2 3; do
		grep -q "cpu $i up" "$T/smp.out" || fail smp-ids "cpu $i did not report"
	done
fi

start=$(date +%s)
guest_test halt halt 0 "halting"
[ $(( $(date +%s) - start )) -gt 10 ] && fail halt-time "took more than 10 s to notice the halt"

run triple-fault 30 --kernel "$G/triple.bin"
if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
	fail triple-fault "exit status $rc, want a failure"
elif ! grep -q "triple fault" "$T/triple-fault.err"; then
	fail triple-fault "no clear message: $(head -c 200 "$T/triple-fault.err")"
else
	pass triple-fault
fi

guest_test int3 int3 0 "int3 ok"
# --no-reboot: a guest reboot ends trevo with status 0 (the old behaviour).
guest_test reboot reboot 0 "rebooting" --no-reboot
# Without it a reboot restarts the machine in the same process: three
# boots, one line each, then poweroff.
guest_test reboot-restart reboot3 0 "boot 3"
if [ "$rc" = 0 ]; then
	lines=$(tr -d '\r' <"$T/reboot-restart.out" | grep -c '^boot [0-9]*$')
	if [ "$lines" != 3 ] || [ "$(tr -d '\r' <"$T/reboot-restart.out" | grep '^boot' | tr '\n' ' ')" != "boot 1 boot 2 boot 3 " ]; then
		fail reboot-restart-lines "want exactly 'boot 1', 'boot 2', 'boot 3', got: $(tr '\r\n' '  ' <"$T/reboot-restart.out" | head -c 200)"
	fi
fi
guest_test acpi-poweroff acpi_off 0 "acpi poweroff"

# virtio-blk: the guest reads the host's sector 0, writes sector 1.
if ! "$TREVO" run --help >/dev/null 2>&1 || ! grep -q '"virtio-blk"' "$ROOT"/src/dev/*.c 2>/dev/null; then
	skip virtio-blk "no virtio-blk model in this tree yet"
	skip virtio-blk-irq "no virtio-blk model in this tree yet"
	skip virtio-blk-irq-line "no virtio-blk model in this tree yet"
	skip virtio-blk-reboot "no virtio-blk model in this tree yet"
	skip virtio-blk-reboot-irq-line "no virtio-blk model in this tree yet"
else
	printf 'host sector zero' >"$T/disk.img"
	truncate -s 1M "$T/disk.img"
	guest_test virtio-blk blk 0 "blk ok" --disk "$T/disk.img"
	if [ "$rc" = 0 ] && ! dd if="$T/disk.img" bs=512 skip=1 count=1 2>/dev/null |
		grep -q "written by the kvm test guest"; then
		fail virtio-blk-file "the guest's write is not in the host file"
	fi
	# The same with completion by interrupt: virtio-mmio -> vm->set_irq ->
	# KVM_IRQ_LINE -> in-kernel IOAPIC (level) -> LAPIC -> the guest's IDT.
	printf 'host sector zero' >"$T/disk.img"
	truncate -s 1M "$T/disk.img"
	guest_test virtio-blk-irq blk_irq 0 "blk irq ok" --disk "$T/disk.img"
	# ... the line through KVM_IRQ_LINE instead of a resampling irqfd.
	TREVO_NO_IRQFD=1 guest_test virtio-blk-irq-line blk_irq 0 "blk irq ok" --disk "$T/disk.img"
	# Twice, with a reboot between: IOAPIC, LAPIC, device and irqfd (or
	# KVM_IRQ_LINE) must work again after the system reset.
	guest_test virtio-blk-reboot blk_reboot 0 "second boot done" --disk "$T/disk.img"
	TREVO_NO_IRQFD=1 guest_test virtio-blk-reboot-irq-line blk_reboot 0 "second boot done" --disk "$T/disk.img"
fi

# A confused guest pokes every port and every virtio register with random
# values and points the queues at garbage: trevo must live on.
if [ -f "$G/chaos.bin" ]; then
	printf 'host sector zero' >"$T/disk.img"
	truncate -s 1M "$T/disk.img"
	# 220,000 exits: 10 s at load 2, 65 s at load 14 (main's binary too).
	GUEST_TIMEOUT=180 guest_test chaos chaos 0 "chaos survived" --disk "$T/disk.img" --net user
else
	fail chaos "$G/chaos.bin not built"
fi

# Bad input: one line on stderr, exit status 2.
bad_input() {
	local name=$1 want=$2
	if [ "$rc" != 2 ]; then
		fail "$name" "exit status $rc, want 2"
	elif [ "$(wc -l <"$T/$name.err")" != 1 ] || ! grep -q "$want" "$T/$name.err"; then
		fail "$name" "want one line with '$want', got: $(head -c 300 "$T/$name.err" | tr '\n' '|')"
	else
		pass "$name"
	fi
}
run bad-kernel 10 --kernel "$T/does-not-exist"
bad_input bad-kernel "cannot read --kernel"

# A setup header cut short: boot signature, no "HdrS".
head -c 1024 /dev/zero >"$T/corrupt.bzImage"
printf '\x55\xaa' | dd of="$T/corrupt.bzImage" bs=1 seek=510 conv=notrunc 2>/dev/null
run corrupt-bzimage 10 --kernel "$T/corrupt.bzImage"
bad_input corrupt-bzimage "not a bzImage"

KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
if [ -n "$KERNEL" ] && [ -r "$KERNEL" ]; then
	run small-memory 10 --kernel "$KERNEL" --memory 16M
	bad_input small-memory "too small"
else
	skip small-memory "no /boot/vmlinuz-* to load"
fi

# No /dev/kvm: hide it in a private mount namespace.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	unshare -m sh -c "mount -t tmpfs none /dev && exec \"$TREVO\" run --mode hw --kernel \"$G/serial.bin\"" \
		</dev/null >"$T/no-kvm.out" 2>"$T/no-kvm.err"
	rc=$?
	bad_input no-kvm "/dev/kvm"
else
	skip no-kvm "needs root and mount namespaces (unshare -m) to hide /dev/kvm"
fi
# No permission: run as nobody, where nobody may run trevo but not use KVM.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && as_nobody test -x "$TREVO" 2>/dev/null &&
	as_nobody test -r "$G/serial.bin" 2>/dev/null && ! as_nobody test -w /dev/kvm 2>/dev/null; then
	as_nobody "$TREVO" run --mode hw --kernel "$G/serial.bin" \
		</dev/null >"$T/kvm-permission.out" 2>"$T/kvm-permission.err"
	rc=$?
	bad_input kvm-permission "permission"
else
	skip kvm-permission "needs root, setpriv, a trevo that nobody may run and a /dev/kvm nobody may not open"
fi

# How fast is this KVM? The spin guest runs 2 N instructions; where KVM is
# nested and emulated in software (this project's machines: ~2 M/s) a Linux
# boot takes far too long, where it is real hardware it is ~1000 times faster.
rate_ok=0
insn_rate="?"
if [ -f "$G/spin.bin" ]; then
	spin_time() {  # N -> ns
		cp "$G/spin.bin" "$T/spin.bin"
		python3 -c "import struct,sys; f=open(sys.argv[1],'r+b'); f.seek(4); f.write(struct.pack('<I', int(sys.argv[2])))" "$T/spin.bin" "$1"
		local s=$(date +%s%N)
		timeout 60 "$TREVO" run --mode hw --memory 64M --kernel "$T/spin.bin" </dev/null >/dev/null 2>&1
		echo $(( $(date +%s%N) - s ))
	}
	t0=$(spin_time 0)
	t1=$(spin_time 1000000)
	d=$(( t1 - t0 ))
	[ $d -lt 1000 ] && d=1000
	insn_rate=$(( 2000000 * 1000000 / (d / 1000) ))  # instructions per second
	[ "$insn_rate" -gt 200000000 ] && rate_ok=1
fi

# Linux early boot: Debian's kernel prints its version and command line on
# the serial console (earlyprintk); only these lines are checked, the rest of
# the boot takes too long where KVM is slow. Trevo unpacks the bzImage's
# payload on the host (src/x86/unpack.c); the kernel's own decompressor
# (TREVO_GUEST_DECOMPRESS=1) takes many minutes where KVM is slow (nested,
# emulated in software: ~2 M instructions/s), so it runs only where KVM is
# fast. The vmlinux ELF path is checked with the kernel unpacked here.
linux_early() {
	local name=$1 kernel=$2 secs=$3 pid i
	local append="console=ttyS0 noxsave earlyprintk=serial"
	timeout "$secs" env $LINUX_ENV "$TREVO" run --mode hw --memory 512M --kernel "$kernel" --append "$append" \
		</dev/null >"$T/$name.out" 2>"$T/$name.err" &
	pid=$!
	for i in $(seq 1 "$secs"); do
		grep -q "Command line: $append" "$T/$name.out" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 1
	done
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	if ! grep -q "Linux version" "$T/$name.out"; then
		fail "$name" "no 'Linux version' within $secs s: $(tail -c 300 "$T/$name.err" | tr '\r\n' '  ')"
	elif ! grep -q "Command line: $append" "$T/$name.out"; then
		fail "$name" "no command line echo"
	else
		pass "$name"
	fi
}

extract_vmlinux() {
	python3 - "$1" "$2" <<'PY'
import lzma, gzip, sys, zlib
img = open(sys.argv[1], 'rb').read()
for magic, unpack in ((b'\xfd7zXZ\x00', lambda d: lzma.LZMADecompressor().decompress(d)),
                      (b'\x1f\x8b\x08', lambda d: zlib.decompressobj(31).decompress(d))):
    at = img.find(magic)
    while at >= 0:
        try:
            out = unpack(img[at:])
            if out[:4] == b'\x7fELF':
                open(sys.argv[2], 'wb').write(out)
                sys.exit(0)
        except Exception:
            pass
        at = img.find(magic, at + 1)
sys.exit(1)
PY
}

if [ -z "$KERNEL" ] || ! [ -r "$KERNEL" ]; then
	for t in linux-early linux-early-vmlinux linux-early-decompressor; do
		skip $t "no /boot/vmlinuz-* (Debian's linux-image-amd64)"
	done
else
	LINUX_ENV=TREVO_NOTHING=1 linux_early linux-early "$KERNEL" 300
	if extract_vmlinux "$KERNEL" "$T/vmlinux"; then
		LINUX_ENV=TREVO_NOTHING=1 linux_early linux-early-vmlinux "$T/vmlinux" 300
	else
		fail linux-early-vmlinux "cannot unpack $KERNEL (python3 with lzma/zlib needed)"
	fi
	if [ "$rate_ok" = 1 ]; then
		LINUX_ENV=TREVO_GUEST_DECOMPRESS=1 linux_early linux-early-decompressor "$KERNEL" 120
	else
		skip linux-early-decompressor "KVM too slow here for the kernel's own decompressor (about $insn_rate guest instructions/s)"
	fi
fi

# A full Linux boot only where KVM is fast enough.
if [ "$rate_ok" != 1 ]; then
	skip linux-boot "this KVM is too slow (about $insn_rate guest instructions/s; nested KVM in software)"
elif ! [ -f "$ROOT/build/guest/x86/bzImage" ] || ! [ -f "$ROOT/build/guest/x86/initramfs.cpio.gz" ]; then
	skip linux-boot "no build/guest/x86/bzImage + initramfs.cpio.gz (trevo guest build x86)"
else
	# The default guest's init runs trevo.run, prints TREVO-RUN-EXIT and
	# powers off through ACPI (S5): trevo exits 0. Two vCPUs (APs started by
	# Linux with INIT/SIPI), a disk found through the DSDT.
	printf 'host sector zero' >"$T/disk.img"
	truncate -s 1M "$T/disk.img"
	run linux-boot 300 --memory 512M --cpus 2 --kernel "$ROOT/build/guest/x86/bzImage" \
		--initrd "$ROOT/build/guest/x86/initramfs.cpio.gz" --disk "$T/disk.img" \
		--append "trevo.run=grep%20-c%20processor%20/proc/cpuinfo%3Bhead%20-c%2016%20/dev/vda"
	if [ "$rc" != 0 ]; then
		fail linux-boot "exit status $rc: $(tail -c 300 "$T/linux-boot.out" | tr '\r\n' '  ')"
	elif ! grep -q "TREVO-RUN-EXIT 0" "$T/linux-boot.out" || ! grep -q "host sector zero" "$T/linux-boot.out"; then
		fail linux-boot "no run result: $(tail -c 300 "$T/linux-boot.out" | tr '\r\n' '  ')"
	elif ! tr -d '\r' <"$T/linux-boot.out" | grep -qx "2"; then
		fail linux-boot "the guest does not see 2 CPUs"
	else
		pass linux-boot
	fi
fi
