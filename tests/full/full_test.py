#!/usr/bin/env python3
"""End-to-end tests of full mode's real hardware: the default RISC-V guest
boots in --mode full (OpenSBI, the PCIe host bridge, an AHCI controller for
each --disk) and, through the init's trevo.run=CMD hook, uses them; the host
checks the results. One line per test (PASS / FAIL name: why / SKIP).

    full_test.py [--qemu] [--trevo BIN] [--kernel F] [--initrd F]
                 [--firmware F] [--timeout-scale X] [--only NAME] [-v]

With --qemu the same guest commands run on qemu-system-riscv64 -M virt with
-device ahci and ide-hd, which checks the tests themselves.

Tests: the PCI devices as lspci would list them (/sys/bus/pci/devices); an
ext2 file system made in the guest on the AHCI disk and read on the host
with debugfs; a file the host put in an image (mke2fs -d) read in the
guest; raw sectors both ways; a guest fsync reaching the host as a flush
(QMP query-stats of the ahci device); a read-only disk; if=virtio in full
mode; a bad if=; TCP through slirp over the e1000 (4 KiB and 4 MiB guest ->
host with checksum offload and segmentation, md5 checked on the host; 4 MiB
host -> guest over HTTP, md5 checked in the guest) and through a tap in a
network namespace; a QMP system_reset with both devices in use.
Standard
library only.
"""
import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import sys
import tempfile
import time

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
RUN_EXIT = re.compile(rb"TREVO-RUN-EXIT (-?\d+)")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")

results = []


def report(kind, name, why=""):
    print("%s %s" % (kind, name) + (": " + why if why else ""), flush=True)
    results.append(kind)


def encode_cmd(cmd):
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:,")
    return "".join(c if c in safe else "%%%02X" % ord(c) for c in cmd)


def tail(data, n=240):
    text = ANSI.sub(b"", data[-4 * n:]).decode(errors="replace")
    return " | ".join(l.strip() for l in text.splitlines() if l.strip())[-n:]


class Runner:
    def __init__(self, args):
        self.args = args
        self.scale = args.timeout_scale

    def command(self, guest_cmd, disks=(), extra=(), memory="256M", nets=()):
        """disks: (path, options) with options like "readonly" or "if=virtio"."""
        a = self.args
        append = "console=ttyS0 trevo.run=" + encode_cmd(guest_cmd)
        if a.qemu:
            cmd = ["qemu-system-riscv64", "-M", "virt", "-m", memory, "-nographic",
                   "-no-reboot", "-bios", a.firmware, "-kernel", a.kernel,
                   "-initrd", a.initrd, "-append", append]
            for i, (path, opts) in enumerate(disks):
                ro = ",readonly=on" if "readonly" in opts else ""
                cmd += ["-drive", "file=%s,format=raw,if=none,id=d%d%s" % (path, i, ro)]
                if "if=virtio" in opts:
                    cmd += ["-device", "virtio-blk-device,drive=d%d" % i]
                else:
                    cmd += ["-device", "ahci,id=ahci%d" % i,
                            "-device", "ide-hd,drive=d%d,bus=ahci%d.0" % (i, i)]
            for i, spec in enumerate(nets):
                cmd += ["-netdev", "user,id=n%d" % i + spec[4:], "-device", "e1000,netdev=n%d" % i]
            return cmd
        cmd = [a.trevo, "run", "--mode", "full", "--memory", memory, "--kernel", a.kernel,
               "--initrd", a.initrd, "--append", append] + list(extra)
        for path, opts in disks:
            cmd += ["--disk", path + ("," + opts if opts else "")]
        for spec in nets:
            cmd += ["--net", spec]
        return cmd

    def run(self, guest_cmd, disks=(), extra=(), timeout=180, nets=(), netns=None):
        cmd = self.command(guest_cmd, disks, extra, nets=nets)
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        if self.args.verbose:
            print("# " + " ".join(cmd), file=sys.stderr)
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout * self.scale)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            out, err = p.communicate()
            return None, out, err, None
        if self.args.verbose:
            sys.stderr.buffer.write(out + err)
        m = RUN_EXIT.search(out)
        return p.returncode, out, err, int(m.group(1)) if m else None


def check_guest(r, name, need=None):
    status, out, err, gst = r
    if status is None:
        report("FAIL", name, "timed out; output: " + tail(out) + " stderr: " + tail(err, 160))
        return None
    if gst is None:
        report("FAIL", name, "no TREVO-RUN-EXIT (status %s): %s %s" % (status, tail(out), tail(err, 160)))
        return None
    if gst != 0:
        report("FAIL", name, "guest command exited %d: %s" % (gst, tail(out)))
        return None
    if need is not None:
        m = re.search(need, out)
        if not m:
            report("FAIL", name, "no %r in output: %s" % (need, tail(out)))
            return None
        return m
    return True


def make_image(size_mb=16):
    fd, path = tempfile.mkstemp(prefix="trevo-full-", suffix=".img")
    os.ftruncate(fd, size_mb << 20)
    os.close(fd)
    return path


# ---------------------------------------------------------------- tests

def test_boot(rn):
    r = rn.run("echo full-$((6*7))", timeout=120)
    if check_guest(r, "full-boot", rb"full-42"):
        if r[0] != 0:
            report("FAIL", "full-boot", "poweroff gave exit status %s" % r[0])
            return False
        report("PASS", "full-boot")
        return True
    return False


def test_lspci(rn):
    img = make_image(4)
    try:
        cmd = ("for d in /sys/bus/pci/devices/*; do echo PCI $(basename $d) $(cat $d/vendor) "
               "$(cat $d/device) $(cat $d/class) irq=$(cat $d/irq); done; ls /sys/block")
        r = rn.run(cmd, disks=[(img, "")])
        m = check_guest(r, "full-lspci", rb"PCI 0000:00:0\d\.0 0x8086 0x2922 0x010601")
        if not m:
            return
        if not re.search(rb"\bsda\b", r[1]):
            report("FAIL", "full-lspci", "no sda in /sys/block: " + tail(r[1]))
            return
        report("PASS", "full-lspci")
    finally:
        os.unlink(img)


def test_disk_ext2(rn):
    img = make_image(16)
    token = "trevo-ahci-%08x" % random.getrandbits(32)
    try:
        cmd = ("mke2fs -q /dev/sda >/dev/null 2>&1 || mke2fs /dev/sda; mkdir -p /mnt && "
               "mount -t ext2 /dev/sda /mnt && echo %s > /mnt/f && "
               "dd if=/dev/urandom of=/mnt/big bs=64k count=32 2>/dev/null && "
               "md5sum /mnt/big && umount /mnt && sync && echo ext2-done" % token)
        r = rn.run(cmd, disks=[(img, "")])
        m = check_guest(r, "full-ahci-ext2", rb"([0-9a-f]{32})\s+/mnt/big[\s\S]*ext2-done")
        if not m:
            return
        if not shutil.which("debugfs"):
            report("SKIP", "full-ahci-ext2", "debugfs (e2fsprogs) not installed to check the image")
            return
        d = subprocess.run(["debugfs", "-R", "cat /f", img], capture_output=True, timeout=30)
        if token.encode() not in d.stdout:
            report("FAIL", "full-ahci-ext2", "debugfs found %r, not %s" % (d.stdout[:80], token))
            return
        d = subprocess.run(["debugfs", "-R", "cat /big", img], capture_output=True, timeout=30)
        import hashlib
        if hashlib.md5(d.stdout).hexdigest().encode() != m.group(1):
            report("FAIL", "full-ahci-ext2", "the 2 MiB file differs on the host")
            return
        report("PASS", "full-ahci-ext2")
    finally:
        os.unlink(img)


def test_host_file(rn):
    mke2fs = shutil.which("mke2fs") or shutil.which("mkfs.ext2")
    if not mke2fs:
        report("SKIP", "full-ahci-host-file", "mke2fs (e2fsprogs) not installed")
        return
    d = tempfile.mkdtemp(prefix="trevo-full-")
    img = make_image(8)
    token = "host-file-%08x" % random.getrandbits(32)
    try:
        with open(os.path.join(d, "hello.txt"), "w") as f:
            f.write(token + "\n")
        p = subprocess.run([mke2fs, "-q", "-F", "-t", "ext2", "-d", d, img],
                           capture_output=True, timeout=60)
        if p.returncode != 0:
            report("SKIP", "full-ahci-host-file", "mke2fs -d failed: %s" % p.stderr[:100])
            return
        r = rn.run("mkdir -p /mnt && mount -o ro -t ext2 /dev/sda /mnt && cat /mnt/hello.txt",
                   disks=[(img, "")])
        if check_guest(r, "full-ahci-host-file", re.escape(token.encode())):
            report("PASS", "full-ahci-host-file")
    finally:
        os.unlink(img)
        shutil.rmtree(d)


def test_disk_raw(rn):
    img = make_image(4)
    host_mark = b"HOST-MARK-%08x" % random.getrandbits(32)
    guest_mark = "GUEST-MARK-%08x" % random.getrandbits(32)
    try:
        with open(img, "r+b") as f:
            f.seek(200 * 512)
            f.write(host_mark)
        cmd = ("dd if=/dev/sda bs=512 skip=200 count=1 2>/dev/null | head -c %d; echo; "
               "echo %s | dd of=/dev/sda bs=512 seek=100 conv=sync 2>/dev/null && sync && "
               "echo raw-done" % (len(host_mark), guest_mark))
        r = rn.run(cmd, disks=[(img, "")])
        if not check_guest(r, "full-ahci-raw", rb"raw-done"):
            return
        if host_mark not in r[1]:
            report("FAIL", "full-ahci-raw", "guest did not read the host's sector: " + tail(r[1]))
            return
        with open(img, "rb") as f:
            f.seek(100 * 512)
            data = f.read(512)
        if data.startswith(guest_mark.encode()):
            report("PASS", "full-ahci-raw")
        else:
            report("FAIL", "full-ahci-raw", "sector 100 on the host holds %r" % data[:40])
    finally:
        os.unlink(img)


def qmp_stats(trevo, sock):
    p = subprocess.run([trevo, "qmp", sock, "query-stats", "target=device"],
                       capture_output=True, timeout=20)
    if p.returncode != 0:
        return None
    return p.stdout.decode(errors="replace")


def test_flush(rn):
    """The guest's sync (FLUSH CACHE EXT) reaches the host: the device's
    flush counter, read over QMP while the guest waits, has grown."""
    if rn.args.qemu:
        report("SKIP", "full-ahci-flush", "reads Trevo's own QMP counters")
        return
    img = make_image(4)
    sock = tempfile.mktemp(prefix="trevo-full-", suffix=".qmp")
    try:
        cmd = ("echo data | dd of=/dev/sda bs=512 seek=10 conv=sync,fsync 2>/dev/null; sync; "
               "echo SYNC$((40+2))ED; sleep 4; echo FLUSH$((40+2))DONE")
        p = subprocess.Popen(rn.command(cmd, [(img, "")], ["--qmp", "unix:" + sock]),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        seen, stats = b"", None
        deadline = time.time() + 180 * rn.scale
        os.set_blocking(p.stdout.fileno(), False)
        while time.time() < deadline and p.poll() is None:
            chunk = p.stdout.read() or b""
            seen += chunk
            if b"SYNC42ED" in seen and stats is None:
                stats = qmp_stats(rn.args.trevo, sock)
            if b"FLUSH42DONE" in seen:
                break
            time.sleep(0.1)
        try:
            p.wait(timeout=60 * rn.scale)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
        if stats is None:
            report("FAIL", "full-ahci-flush", "no QMP stats after the guest's sync: " + tail(seen))
            return
        flushes = 0
        try:
            for dev in json.loads(stats):
                if dev.get("qom-path", "").endswith("/ahci0"):
                    flushes = {x["name"]: x["value"] for x in dev["stats"]}.get("flushes", 0)
        except (ValueError, KeyError, TypeError):
            pass
        if flushes >= 1:
            report("PASS", "full-ahci-flush")
        else:
            report("FAIL", "full-ahci-flush", "no flush counted: %s" % stats[-400:])
    finally:
        os.unlink(img)
        if os.path.exists(sock):
            os.unlink(sock)


def test_reset(rn):
    """QMP system_reset while the guest uses both devices: after the reset
    (each device's reset op, the PCI functions back at power-on) the
    guest enumerates them again and they work."""
    name = "full-reset"
    if rn.args.qemu:
        report("SKIP", name, "uses Trevo's QMP socket")
        return
    img = make_image(4)
    sock = tempfile.mktemp(prefix="trevo-full-", suffix=".qmp")
    try:
        cmd = ("dd if=/dev/sda of=/dev/null bs=64k count=16 2>&1 | grep copied; "
               "ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && ping -c 1 10.0.2.2 >/dev/null "
               "&& echo PI$((40+2))NG; echo RE$((40+2))ADY; sleep 5; echo done")
        p = subprocess.Popen(rn.command(cmd, [(img, "")], ["--qmp", "unix:" + sock], nets=["user"]),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        seen, reset = b"", False
        deadline = time.time() + 240 * rn.scale
        os.set_blocking(p.stdout.fileno(), False)
        while time.time() < deadline and p.poll() is None:
            seen += p.stdout.read() or b""
            if b"RE42ADY" in seen and not reset:
                r = subprocess.run([rn.args.trevo, "qmp", sock, "system_reset"],
                                   capture_output=True, timeout=20)
                reset = r.returncode == 0
                if not reset:
                    break
            time.sleep(0.1)
        if p.poll() is None:
            os.killpg(p.pid, 9)
        rest = p.communicate()[0]
        seen += rest or b""
        reads = len(re.findall(rb"bytes \([0-9.]+MB\) copied", seen))
        pings = seen.count(b"PI42NG")
        if reset and reads == 2 and pings == 2 and seen.count(b"RE42ADY") == 2:
            report("PASS", name)
        else:
            report("FAIL", name, "reset %s, %d disk reads, %d pings: %s" % (reset, reads, pings, tail(seen)))
    finally:
        os.unlink(img)
        if os.path.exists(sock):
            os.unlink(sock)


def test_readonly(rn):
    if rn.args.qemu:
        report("SKIP", "full-ahci-readonly", "QEMU's ide-hd refuses read-only drives")
        return
    img = make_image(4)
    try:
        with open(img, "r+b") as f:
            f.write(b"ORIGINAL")
        cmd = ("echo CHANGED | dd of=/dev/sda bs=512 count=1 conv=sync,fsync 2>&1; sync; "
               "echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; "
               "dd if=/dev/sda bs=8 count=1 2>/dev/null; echo")
        r = rn.run(cmd, disks=[(img, "readonly")])
        if not check_guest(r, "full-ahci-readonly"):
            return
        with open(img, "rb") as f:
            if f.read(8) != b"ORIGINAL":
                report("FAIL", "full-ahci-readonly", "the read-only image changed")
                return
        report("PASS", "full-ahci-readonly")
    finally:
        os.unlink(img)


def test_if_virtio(rn):
    img = make_image(4)
    try:
        r = rn.run("ls /sys/block", disks=[(img, "if=virtio")])
        if check_guest(r, "full-if-virtio", rb"\bvda\b"):
            report("PASS", "full-if-virtio")
    finally:
        os.unlink(img)


def test_bad_if(rn):
    if rn.args.qemu:
        report("SKIP", "full-bad-if", "Trevo's own option")
        return
    img = make_image(1)
    try:
        p = subprocess.run(rn.command("true", [(img, "if=scsi")]), capture_output=True,
                           timeout=30 * rn.scale)
        if p.returncode == 2 and b"if=scsi" in p.stderr:
            report("PASS", "full-bad-if")
        else:
            report("FAIL", "full-bad-if", "status %d: %s" % (p.returncode, p.stderr[:200]))
    finally:
        os.unlink(img)


class BulkServer:
    """Reads exactly size bytes, answers with their md5 and closes."""

    def __init__(self, size):
        import hashlib
        self.size = size
        self.md5 = hashlib.md5()
        self.got = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(300)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            c, _ = self.sock.accept()
            c.settimeout(60)
            while self.got < self.size:
                d = c.recv(min(65536, self.size - self.got))
                if not d:
                    break
                self.md5.update(d)
                self.got += len(d)
            c.sendall(("md5=%s\n" % self.md5.hexdigest()).encode())
            c.close()
        except OSError:
            pass

    def close(self):
        self.sock.close()


def test_net_e1000(rn, name, size):
    """size random bytes guest -> host over TCP through slirp on the e1000
    (checksum offload and segmentation must deliver every byte), and the
    host's answer back."""
    srv = BulkServer(size)
    try:
        cmd = ("ifconfig lo up; ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && "
               "route add default gw 10.0.2.2 && cat /sys/class/net/eth0/device/vendor "
               "/sys/class/net/eth0/device/device && head -c %d /dev/urandom > /tmp/x && "
               "md5sum /tmp/x && nc 10.0.2.2 %d < /tmp/x; echo net-done" % (size, srv.port))
        r = rn.run(cmd, nets=["user"], timeout=240)
        m = check_guest(r, name, rb"0x8086\s+0x100e[\s\S]*?([0-9a-f]{32})  /tmp/x")
        if not m:
            return
        sent = m.group(1).decode()
        if ("md5=" + sent).encode() in r[1]:
            report("PASS", name)
        else:
            report("FAIL", name, "guest md5 %s, host got %d bytes: %s" % (sent, srv.got, tail(r[1])))
    finally:
        srv.close()


class BlobServer:
    """Answers one HTTP GET with size random bytes (host -> guest)."""

    def __init__(self, size):
        import hashlib
        self.data = os.urandom(size)
        self.md5 = hashlib.md5(self.data).hexdigest()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(300)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            c, _ = self.sock.accept()
            c.settimeout(60)
            req = b""
            while b"\r\n\r\n" not in req:
                d = c.recv(4096)
                if not d:
                    return
                req += d
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(self.data) + self.data)
            c.close()
        except OSError:
            pass

    def close(self):
        self.sock.close()


def test_net_e1000_download(rn):
    """4 MiB host -> guest over TCP through slirp on the e1000 (full-size
    frames into the receive ring, receive checksum offload on): the guest's
    md5 of what arrived is the host's."""
    name = "full-e1000-download"
    srv = BlobServer(4 << 20)
    try:
        cmd = ("ifconfig lo up; ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && "
               "route add default gw 10.0.2.2 && wget -q -O /tmp/y http://10.0.2.2:%d/blob && "
               "md5sum /tmp/y; echo net-done" % srv.port)
        r = rn.run(cmd, nets=["user"], timeout=240)
        m = check_guest(r, name, rb"([0-9a-f]{32})  /tmp/y")
        if not m:
            return
        if m.group(1).decode() == srv.md5:
            report("PASS", name)
        else:
            report("FAIL", name, "guest md5 %s, host sent %s" % (m.group(1).decode(), srv.md5))
    finally:
        srv.close()


def test_net_tap(rn):
    """TCP over the e1000 through a tap device in a network namespace of
    our own (the server in tests/para)."""
    name = "full-e1000-tap"
    if rn.args.qemu:
        report("SKIP", name, "the tap variant runs on Trevo only")
        return
    if os.geteuid() != 0 or not shutil.which("ip"):
        report("SKIP", name, "needs root and iproute2 for a network namespace")
        return
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, os.path.join(ROOT, "tests", "para"))
    import para_test
    ns = "trevo-full-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode:
        report("SKIP", name, "cannot create a network namespace here")
        return
    srv = None
    try:
        for c in (["ip", "tuntap", "add", "dev", "ttap1", "mode", "tap"],
                  ["ip", "addr", "add", "192.168.77.1/24", "dev", "ttap1"],
                  ["ip", "link", "set", "ttap1", "up"],
                  ["ip", "link", "set", "lo", "up"]):
            p = subprocess.run(["ip", "netns", "exec", ns] + c, capture_output=True)
            if p.returncode:
                report("SKIP", name, "cannot set up tap in %s: %s" %
                       (ns, p.stderr.decode(errors="replace").strip()))
                return
        srv = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c",
                                para_test.NETNS_SERVER, "192.168.77.1", str(180 * rn.scale)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        port = int(srv.stdout.readline() or 0)
        token = "tap%08x" % random.getrandbits(32)
        cmd = ("ifconfig lo up; ifconfig eth0 192.168.77.2 netmask 255.255.255.0 up && "
               "echo %s | nc 192.168.77.1 %d; echo net-done" % (token, port))
        r = rn.run(cmd, nets=["tap:ttap1"], netns=ns)
        if not check_guest(r, name, rb"net-done"):
            return
        if ("pong-" + token).encode() in r[1]:
            report("PASS", name)
        else:
            report("FAIL", name, "no reply from the namespace's server: " + tail(r[1]))
    finally:
        if srv:
            srv.kill()
            srv.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


TESTS = [
    ("full-e1000-tcp", lambda rn: test_net_e1000(rn, "full-e1000-tcp", 4096)),
    ("full-e1000-bulk", lambda rn: test_net_e1000(rn, "full-e1000-bulk", 4 << 20)),
    ("full-e1000-download", test_net_e1000_download),
    ("full-e1000-tap", test_net_tap),
    ("full-lspci", test_lspci),
    ("full-ahci-ext2", test_disk_ext2),
    ("full-ahci-host-file", test_host_file),
    ("full-ahci-raw", test_disk_raw),
    ("full-ahci-flush", test_flush),
    ("full-ahci-readonly", test_readonly),
    ("full-reset", test_reset),
    ("full-if-virtio", test_if_virtio),
    ("full-bad-if", test_bad_if),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qemu", action="store_true")
    ap.add_argument("--trevo", default=os.environ.get("TREVO", os.path.join(ROOT, "build/trevo")))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--firmware", default=DEFAULT_FW)
    ap.add_argument("--timeout-scale", type=float, default=1.0)
    ap.add_argument("--only", default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    names = ["full-boot"] + [n for n, _ in TESTS]

    def skip_all(why):
        for n in names:
            if not args.only or args.only == n:
                report("SKIP", n, why)
        return 0

    for f in (args.kernel, args.initrd, args.firmware):
        if not os.path.exists(f):
            return skip_all("%s missing (make guest; OpenSBI)" % f)
    if args.qemu and not shutil.which("qemu-system-riscv64"):
        return skip_all("qemu-system-riscv64 missing")
    if not args.qemu and not os.access(args.trevo, os.X_OK):
        return skip_all("%s not built" % args.trevo)
    rn = Runner(args)
    if not args.only or args.only == "full-boot":
        if not test_boot(rn) and not args.only:
            for n, _ in TESTS:
                report("SKIP", n, "the guest does not boot in full mode")
            return 0
    for n, fn in TESTS:
        if not args.only or args.only == n:
            fn(rn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
