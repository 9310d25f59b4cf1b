#!/usr/bin/env python3
"""Driver of bench/io.sh (see there). Standard library only."""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
RESULT = re.compile(rb"TREVO-IO seq_write_mbs=(\S+) seq_read_mbs=(\S+) rand_read_iops=(\S+) tcp_mbs=(\S+)")


class Sink:
    """Counts what the guest sends, closes at EOF."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(2)
        self.sock.settimeout(1)
        self.port = self.sock.getsockname()[1]
        self.bytes = 0
        self.stop = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                self.bytes += len(d)
            c.close()


def build_tools(workdir):
    exe = os.path.join(ROOT, "build/bench/trevo-io")
    src = os.path.join(ROOT, "bench/io-guest.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.run(["riscv64-linux-gnu-gcc", "-static", "-O2", "-o", exe, src], check=True)
    d = os.path.join(workdir, "tools")
    os.makedirs(d)
    shutil.copy(exe, d)
    img = os.path.join(workdir, "tools.img")
    subprocess.run(["mke2fs", "-q", "-t", "ext2", "-d", d, img, "8M"], check=True)
    return img


def guest_cmd(mb, port):
    # The tools disk is the small one, whatever order the guest found them
    # (vdX on virtio-blk, sdX on AHCI).
    return ("for d in vda vdb sda sdb; do [ -e /sys/block/$d ] || continue; "
            "if [ $(cat /sys/block/$d/size) -le 16384 ]; then T=/dev/$d; "
            "else D=/dev/$d; fi; done; mount -t ext2 $T /mnt && ifconfig lo up && "
            "ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && route add default gw 10.0.2.2 && "
            "/mnt/trevo-io $D %d 10.0.2.2 %d" % (mb, port))


def encode(cmd):
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:,")
    return "".join(c if c in safe else "%%%02X" % ord(c) for c in cmd)


def command(mode, tools, data, cmd, kernel, initrd, trevo):
    """Modes: para (Trevo, virtio), full (Trevo, AHCI and e1000), qemu (QEMU
    TCG, virtio), qemu-real (QEMU TCG, AHCI and e1000). Both sides go
    through the host's page cache and honour the guest's flushes: Trevo's
    block file does (pread/pwrite, fdatasync on flush) and so does QEMU's
    cache=writeback (its default)."""
    if mode.startswith("qemu"):
        c = ["qemu-system-riscv64", "-M", "virt", "-m", "512M", "-nographic", "-no-reboot",
             "-bios", FW, "-kernel", kernel, "-initrd", initrd,
             "-append", "console=ttyS0 trevo.run=" + encode(cmd),
             "-drive", "file=%s,format=raw,if=none,id=t,cache=writeback" % tools,
             "-drive", "file=%s,format=raw,if=none,id=d,cache=writeback" % data,
             "-netdev", "user,id=n"]
        if mode == "qemu-real":
            return c + ["-device", "ahci,id=ahci", "-device", "ide-hd,drive=t,bus=ahci.0",
                        "-device", "ide-hd,drive=d,bus=ahci.1", "-device", "e1000,netdev=n"]
        return c + ["-device", "virtio-blk-device,drive=t", "-device", "virtio-blk-device,drive=d",
                    "-device", "virtio-net-device,netdev=n"]
    console = "hvc0" if mode == "para" else "ttyS0"
    return [trevo, "run", "--mode", mode, "--memory", "512M", "--kernel", kernel, "--initrd", initrd,
            "--append", "console=%s trevo.run=%s" % (console, encode(cmd)),
            "--disk", tools, "--disk", data, "--net", "user"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="para,full,qemu,qemu-real")
    ap.add_argument("--mb", type=int, default=32)
    ap.add_argument("--trevo", default=os.path.join(ROOT, "build/trevo"))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    for f in (a.kernel, a.initrd):
        if not os.path.exists(f):
            print("io: %s missing (make guest)" % f)
            return 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="trevo-io-") as w:
        tools = build_tools(w)
        for mode in a.modes.split(","):
            data = os.path.join(w, "data-%s.img" % mode)
            with open(data, "wb") as f:
                f.truncate(max(a.mb, 16) << 20)
            sink = Sink()
            cmd = command(mode, tools, data, guest_cmd(a.mb, sink.port), a.kernel, a.initrd, a.trevo)
            t0 = time.monotonic()
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=a.timeout)
                out, err = p.stdout, p.stderr
            except subprocess.TimeoutExpired as e:
                out, err = e.stdout or b"", e.stderr or b""
            sink.stop = True
            if a.verbose:
                sys.stderr.buffer.write(out + err)
            m = RESULT.search(out)
            if m:
                rows.append((mode,) + tuple(float(x) for x in m.groups()) + (time.monotonic() - t0,))
            else:
                tail = (out + err)[-300:].decode(errors="replace").replace("\n", " | ")
                print("io: %s: no result (%s)" % (mode, tail))
    if not rows:
        return 1
    print("%-9s %14s %13s %15s %12s %9s" % ("mode", "seq write MB/s", "seq read MB/s",
                                             "4K rand IOPS", "TCP MB/s", "wall s"))
    for r in rows:
        print("%-9s %14.1f %13.1f %15.0f %12.1f %9.1f" % r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
