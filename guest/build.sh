#!/bin/bash
# Build Trevo's default guests from Debian packages (PRODUCT.md, "Guests").
#
#   guest/build.sh [riscv|x86|all] [--force]
#
# riscv: Linux 6.1 from linux-source-6.1 (allnoconfig + linux-riscv.config),
#        an initramfs with BusyBox from Debian's busybox source package, our
#        init and trevo-bench, all cross-built with riscv64-linux-gnu-gcc.
# x86:   Debian's linux-image-amd64 kernel as shipped, an initramfs with
#        busybox-static, the kernel's virtio modules and our init.
#
# Results are cached under ~/.cache/trevo/guest/ARCH-HASH, where HASH covers
# the recipe files in guest/ and the versions of the Debian packages used, so
# a second run only copies them to build/guest/ARCH/. Sources and kernel
# object trees stay under ~/.cache/trevo/{src,work}, so a recipe change
# rebuilds incrementally. TREVO_CACHE overrides the cache location, JOBS the
# parallelism (default: nproc).
set -eo pipefail

GUEST_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$GUEST_DIR")
CACHE=${TREVO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trevo}
JOBS=${JOBS:-$(nproc)}
ARCH=riscv
FORCE=0
T0=$SECONDS

for a in "$@"; do
	case "$a" in
	riscv|x86|all) ARCH=$a ;;
	--force) FORCE=1 ;;
	-h|--help) sed -n '2,/^set -eo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "guest/build.sh: unknown argument '$a' (riscv, x86, all, --force)" >&2; exit 2 ;;
	esac
done

say() { printf '[guest %s %3ds] %s\n' "$CUR" $((SECONDS - T0)) "$*"; }
fail() { printf '[guest %s] error: %s\n' "$CUR" "$*" >&2; exit 1; }

pkgver() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || fail "Debian package $1 is not installed (run scripts/deps.sh)"
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Run a long make with its output in LOG, showing a progress line every 150
# compiled files and the log's tail if it fails. In the foreground, so that
# Ctrl-C stops it.
run_logged() {
	local what=$1 log=$2 n=0 line
	shift 2
	if ! "$@" 2>&1 | tee "$log" | while IFS= read -r line; do
		case "$line" in
		*"  CC "*|*"  AS "*)
			n=$((n + 1))
			if [ $((n % 150)) = 0 ]; then say "$what: $n files compiled"; fi ;;
		esac
	done; then
		tail -n 40 "$log" >&2
		fail "$what failed (full log: $log)"
	fi
}

# The files of the recipe that an ARCH's result depends on.
recipe_files() {
	local f=(build.sh mkcpio.py init.c rootfs/etc/passwd rootfs/etc/group rootfs/etc/hostname)
	case "$1" in
	riscv) f+=(linux-riscv.config busybox.config bench.c workloads.h smp.c) ;;
	x86) f+=(x86-rc bench.c workloads.h) ;;
	esac
	printf '%s\n' "${f[@]}"
}

recipe_hash() {
	local arch=$1
	shift
	{
		(cd "$GUEST_DIR" && recipe_files "$arch" | xargs sha256sum)
		printf '%s\n' "$@"
	} | sha256sum | cut -c1-16
}

# Drop older results of ARCH from the cache, keeping the newest three (so
# checkouts of different recipes, side by side, do not evict each other);
# sources and object trees stay.
prune() {
	local d
	touch "$2"
	ls -dt "$CACHE/guest/$1"-* 2>/dev/null | tail -n +4 | while read -r d; do
		[ "$d" = "$2" ] || rm -rf "$d"
	done
}

# Copy a cached result into build/guest/ARCH (only if it differs).
publish() {
	local from=$1 out=$ROOT/build/guest/$2 f
	shift 2
	mkdir -p "$out"
	for f in "$@"; do
		cmp -s "$from/$f" "$out/$f" && continue
		cp -f "$from/$f" "$out/$f.tmp"
		mv -f "$out/$f.tmp" "$out/$f"
	done
}

# --- RISC-V ----------------------------------------------------------------

busybox_source_version() {
	local uri
	# apt-get source needs a deb-src line; Debian's images ship without one.
	if ! uri=$(apt-get source --print-uris busybox 2>/dev/null | grep -o "busybox_[^ ']*\.dsc" | head -1) || [ -z "$uri" ]; then
		say "adding a deb-src line for bookworm to apt's sources" >&2
		as_root tee /etc/apt/sources.list.d/trevo-deb-src.sources > /dev/null <<-EOF
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		as_root apt-get update -qq >&2
		uri=$(apt-get source --print-uris busybox 2>/dev/null | grep -o "busybox_[^ ']*\.dsc" | head -1)
		[ -n "$uri" ] || fail "apt-get source busybox finds nothing"
	fi
	uri=${uri#busybox_}
	uri=${uri//%2b/+}
	uri=${uri//%3a/:}
	echo "${uri%.dsc}"
}

build_linux_riscv() {
	local ver=$1 out=$2 src=$CACHE/src/linux-source-6.1_$1 obj=$CACHE/work/linux-riscv_$1
	local kmake=(make -C "$src" O="$obj" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-
		KBUILD_BUILD_USER=trevo KBUILD_BUILD_HOST=trevo
		KBUILD_BUILD_TIMESTAMP="linux-source-6.1 $ver")
	local line bad=""

	[ -r /usr/src/linux-source-6.1.tar.xz ] || fail "/usr/src/linux-source-6.1.tar.xz missing (apt-get install linux-source-6.1)"
	if [ ! -e "$src/.trevo-extracted" ]; then
		say "linux: unpacking /usr/src/linux-source-6.1.tar.xz"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$src.tmp" --strip-components=1
		touch "$src.tmp/.trevo-extracted"
		mv "$src.tmp" "$src"
	fi
	mkdir -p "$obj"
	say "linux: allnoconfig + guest/linux-riscv.config"
	"${kmake[@]}" KCONFIG_ALLCONFIG="$GUEST_DIR/linux-riscv.config" allnoconfig > "$obj/config.log" 2>&1 ||
		{ tail -20 "$obj/config.log" >&2; fail "linux: configuration failed"; }
	# Every line of the fragment must have taken (a missing dependency
	# silently drops a symbol).
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$obj/.config" || bad="$bad ${line%%=*}" ;;
		"# CONFIG_"*" is not set")
			line=${line#\# }
			line=${line%% *}
			grep -q "^$line=" "$obj/.config" && bad="$bad $line(should be off)" ;;
		esac
	done < "$GUEST_DIR/linux-riscv.config"
	[ -z "$bad" ] || fail "linux: these options did not take in .config:$bad"
	say "linux: building Image with -j$JOBS (a few minutes; log: $obj/build.log)"
	run_logged linux "$obj/build.log" "${kmake[@]}" -j"$JOBS" Image
	cp "$obj/arch/riscv/boot/Image" "$out/Image"
	cp "$obj/.config" "$out/linux.config"
	say "linux: done ($(du -h "$out/Image" | cut -f1) Image)"
}

build_busybox_riscv() {
	local ver=$1 out=$2 dl=$CACHE/src/busybox_$1 obj=$CACHE/work/busybox-riscv src line sym key

	# BusyBox only depends on its fragment, its version and the compiler:
	# keep its result apart so a change to init.c does not rebuild it.
	key=$( (cat "$GUEST_DIR/busybox.config"; echo "$ver $3") | sha256sum | cut -c1-16)
	if [ -e "$obj/.done-$key" ]; then
		say "busybox: cached"
		cp "$obj/busybox" "$obj/busybox.links" "$out/"
		return
	fi

	if [ ! -e "$dl/.trevo-extracted" ]; then
		say "busybox: apt-get source busybox ($ver)"
		rm -rf "$dl"
		mkdir -p "$dl"
		(cd "$dl" && apt-get source -qq busybox > source.log 2>&1) ||
			{ tail -20 "$dl/source.log" >&2; fail "apt-get source busybox failed"; }
		touch "$dl/.trevo-extracted"
	fi
	src=$(find "$dl" -mindepth 1 -maxdepth 1 -type d -name 'busybox-*' | head -1)
	[ -n "$src" ] || fail "no busybox source tree in $dl"
	# BusyBox's out-of-tree build (O=) does not work from the release
	# tarball, so build in a fresh copy.
	rm -rf "$obj"
	mkdir -p "$CACHE/work"
	cp -a "$src" "$obj"
	say "busybox: defconfig + guest/busybox.config"
	make -C "$obj" defconfig > "$obj/config.log" 2>&1 || fail "busybox defconfig failed ($obj/config.log)"
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		sed -i "/^$sym=/d; /^# $sym is not set/d" "$obj/.config"
		echo "$line" >> "$obj/.config"
	done < "$GUEST_DIR/busybox.config"
	{ yes '' || true; } | make -C "$obj" oldconfig >> "$obj/config.log" 2>&1 || fail "busybox oldconfig failed"
	grep -qx 'CONFIG_STATIC=y' "$obj/.config" || fail "busybox: CONFIG_STATIC did not take"
	say "busybox: building (about a minute)"
	run_logged busybox "$obj/build.log" make -C "$obj" -j"$JOBS" busybox busybox.links
	cp "$obj/busybox" "$obj/busybox.links" "$out/"
	touch "$obj/.done-$key"
}

# The initramfs list shared by both guests: directories, console node, init,
# /etc files. $1 = directory holding init, busybox, busybox.links.
initramfs_common() {
	local d
	for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /run /root /etc /mnt /var /lib; do
		echo "dir $d 755"
	done
	# The kernel opens /dev/console for init before anything is mounted.
	echo "nod /dev/console 600 c 5 1"
	echo "file /init $1/init 755"
	echo "file /bin/busybox $1/busybox 755"
	echo "file /bin/trevo-bench $1/trevo-bench 755"
	[ -e "$1/trevo-smp" ] && echo "file /bin/trevo-smp $1/trevo-smp 755"
	for d in passwd group hostname; do
		echo "file /etc/$d $GUEST_DIR/rootfs/etc/$d 644"
	done
	grep '^/' "$1/busybox.links" | while read -r d; do
		echo "slink $d /bin/busybox"
	done
}

build_riscv() {
	local lver bbver gccver hash dir work

	command -v riscv64-linux-gnu-gcc > /dev/null || fail "riscv64-linux-gnu-gcc missing (scripts/deps.sh)"
	lver=$(pkgver linux-source-6.1)
	gccver=$(pkgver gcc-riscv64-linux-gnu)
	bbver=$(busybox_source_version)
	hash=$(recipe_hash riscv "linux-source-6.1 $lver" "busybox $bbver" "gcc-riscv64-linux-gnu $gccver")
	dir=$CACHE/guest/riscv-$hash
	if [ $FORCE = 0 ] && [ -e "$dir/.done" ]; then
		publish "$dir" riscv Image initramfs.cpio.gz
		say "cached ($dir): build/guest/riscv/{Image,initramfs.cpio.gz}"
		return
	fi
	say "building (linux-source-6.1 $lver, busybox $bbver, gcc $gccver) -> $dir"
	rm -rf "$dir"
	work=$dir/work
	mkdir -p "$work"
	say "guest programs: init, trevo-bench, trevo-smp"
	riscv64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -static -o "$work/init" "$GUEST_DIR/init.c"
	riscv64-linux-gnu-gcc -O2 -ffp-contract=off -fno-math-errno -Wall -Wextra -Werror -static -o "$work/trevo-bench" "$GUEST_DIR/bench.c" -lm
	riscv64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -static -o "$work/trevo-smp" "$GUEST_DIR/smp.c"
	build_busybox_riscv "$bbver" "$work" "$gccver"
	initramfs_common "$work" > "$work/initramfs.list"
	python3 "$GUEST_DIR/mkcpio.py" "$work/initramfs.list" "$dir/initramfs.cpio.gz"
	say "initramfs: $(du -h "$dir/initramfs.cpio.gz" | cut -f1)"
	build_linux_riscv "$lver" "$dir"
	touch "$dir/.done"
	prune riscv "$dir"
	publish "$dir" riscv Image initramfs.cpio.gz
	say "done: build/guest/riscv/{Image,initramfs.cpio.gz}"
}

# --- x86-64 ----------------------------------------------------------------

build_x86() {
	local kver kpkg hash dir work m

	kver=${TREVO_X86_KVER:-$(find /boot -maxdepth 1 -name 'vmlinuz-*-amd64' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)}
	[ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] ||
		fail "no readable /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)"
	[ -d "/lib/modules/$kver" ] || fail "/lib/modules/$kver missing"
	[ -x /bin/busybox ] || fail "/bin/busybox missing (apt-get install busybox-static)"
	kpkg=$(dpkg-query -S "/boot/vmlinuz-$kver" 2>/dev/null | cut -d: -f1)
	hash=$(recipe_hash x86 "kernel $kver $(pkgver "${kpkg:-linux-image-amd64}")" \
		"busybox-static $(pkgver busybox-static)" "gcc $(gcc -dumpfullversion)")
	dir=$CACHE/guest/x86-$hash
	if [ $FORCE = 0 ] && [ -e "$dir/.done" ]; then
		publish "$dir" x86 bzImage initramfs.cpio.gz
		say "cached ($dir): build/guest/x86/{bzImage,initramfs.cpio.gz}"
		return
	fi
	say "building (kernel $kver) -> $dir"
	rm -rf "$dir"
	work=$dir/work
	mkdir -p "$work/modules"
	cp "/boot/vmlinuz-$kver" "$dir/bzImage"
	gcc -O2 -Wall -Wextra -Werror -static -o "$work/init" "$GUEST_DIR/init.c"
	gcc -O2 -ffp-contract=off -fno-math-errno -Wall -Wextra -Werror -static -o "$work/trevo-bench" "$GUEST_DIR/bench.c" -lm
	cp /bin/busybox "$work/busybox"
	/bin/busybox --list-full | sed 's,^,/,' > "$work/busybox.links"
	# The virtio modules and pvpanic (so a panic reaches trevo), with what
	# they need, in load order; decompressed
	# here because BusyBox's insmod takes plain ELF objects only.
	: > "$work/trevo-modules"
	modprobe -S "$kver" -a --show-depends virtio_mmio virtio_pci virtio_blk virtio_net \
		virtio_console virtio_rng pvpanic_mmio 2>/dev/null | awk '$1 == "insmod" {print $2}' |
		awk '!seen[$0]++' > "$work/modules.src"
	[ -s "$work/modules.src" ] || fail "modprobe --show-depends found no virtio modules for $kver"
	while read -r m; do
		local base
		base=$(basename "$m")
		case "$m" in
		*.ko.xz) xz -dc "$m" > "$work/modules/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -qdc "$m" > "$work/modules/${base%.zst}"; base=${base%.zst} ;;
		*.ko.gz) gzip -dc "$m" > "$work/modules/${base%.gz}"; base=${base%.gz} ;;
		*) cp "$m" "$work/modules/$base" ;;
		esac
		echo "$base" >> "$work/trevo-modules"
	done < "$work/modules.src"
	say "modules: $(tr '\n' ' ' < "$work/trevo-modules")"
	{
		initramfs_common "$work"
		echo "dir /lib/modules 755"
		while read -r m; do
			echo "file /lib/modules/$m $work/modules/$m 644"
		done < "$work/trevo-modules"
		echo "file /etc/trevo-modules $work/trevo-modules 644"
		echo "file /etc/rc $GUEST_DIR/x86-rc 755"
	} > "$work/initramfs.list"
	python3 "$GUEST_DIR/mkcpio.py" "$work/initramfs.list" "$dir/initramfs.cpio.gz"
	touch "$dir/.done"
	prune x86 "$dir"
	publish "$dir" x86 bzImage initramfs.cpio.gz
	say "done: build/guest/x86/{bzImage,initramfs.cpio.gz}"
}

mkdir -p "$CACHE"
# One build at a time per cache (make test and a user's make run may race).
exec 9> "$CACHE/.lock"
flock 9
case "$ARCH" in
riscv) CUR=riscv; build_riscv ;;
x86) CUR=x86; build_x86 ;;
all) CUR=riscv; build_riscv; CUR=x86; build_x86 ;;
esac
