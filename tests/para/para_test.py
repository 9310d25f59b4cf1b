#!/usr/bin/env python3
"""End-to-end tests of Trevo's paravirtual I/O: the default RISC-V guest boots
in --mode para with virtio devices and, through the init's trevo.run=CMD
hook, uses them; the host then checks the results. One line per test in the
format of tests/run.sh (PASS name / FAIL name: why / SKIP name: why).

    para_test.py [--qemu] [--trevo BIN] [--kernel F] [--initrd F]
                 [--firmware F] [--timeout-scale X] [--only NAME] [-v]

With --qemu the same guest-side commands run on qemu-system-riscv64 -M virt
(virtio-mmio at the same addresses, OpenSBI fw_jump), which proves the test
logic independently of Trevo.

Tests: a file system made on a virtio disk and read back on the host with
debugfs; raw sectors both ways; a read-only disk refusing writes; TCP to a
host server through --net user (the host is 10.0.2.2) and through a tap
device in a network namespace of our own; clear errors for a missing disk
file and a bad --net spec. Standard library only.
"""
import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
RUN_EXIT = re.compile(rb"TREVO-RUN-EXIT (-?\d+)")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")

results = []


def report(kind, name, why=""):
    line = "%s %s" % (kind, name) + (": " + why if why else "")
    print(line, flush=True)
    results.append(kind)


def encode_cmd(cmd):
    """trevo.run=... value: the init decodes %XX, so spaces and shell
    characters survive the kernel's command-line splitting."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:,")
    return "".join(c if c in safe else "%%%02X" % ord(c) for c in cmd)


def tail(data, n=240):
    text = ANSI.sub(b"", data[-4 * n:]).decode(errors="replace")
    return " | ".join(l.strip() for l in text.splitlines() if l.strip())[-n:]


class Runner:
    def __init__(self, args):
        self.args = args
        self.scale = args.timeout_scale

    def command(self, guest_cmd, disks=(), nets=(), memory="256M"):
        """disks: (path, readonly); nets: "user[,...]" or "tap:NAME"."""
        a = self.args
        if a.qemu:
            append = "console=ttyS0 trevo.run=" + encode_cmd(guest_cmd)
            cmd = ["qemu-system-riscv64", "-M", "virt", "-m", memory, "-nographic",
                   "-no-reboot", "-bios", a.firmware, "-kernel", a.kernel,
                   "-initrd", a.initrd, "-append", append]
            for i, (path, ro) in enumerate(disks):
                cmd += ["-drive", "file=%s,format=raw,if=none,id=d%d%s" %
                        (path, i, ",readonly=on" if ro else ""),
                        "-device", "virtio-blk-device,drive=d%d" % i]
            for i, spec in enumerate(nets):
                if spec.startswith("tap:"):
                    nd = "tap,id=n%d,ifname=%s,script=no,downscript=no" % (i, spec[4:])
                else:
                    nd = "user,id=n%d" % i + spec[4:]  # same option syntax
                cmd += ["-netdev", nd, "-device", "virtio-net-device,netdev=n%d" % i]
            return cmd
        append = "console=hvc0 trevo.run=" + encode_cmd(guest_cmd)
        cmd = [a.trevo, "run", "--mode", "para", "--memory", memory, "--kernel", a.kernel,
               "--initrd", a.initrd, "--append", append]
        for path, ro in disks:
            cmd += ["--disk", path + (",readonly" if ro else "")]
        for spec in nets:
            cmd += ["--net", spec]
        return cmd

    def run(self, guest_cmd, disks=(), nets=(), timeout=120, netns=None):
        """Boot, run guest_cmd, wait for poweroff. Returns (status, out,
        err, guest_status) with guest_status None when the run never
        finished."""
        cmd = self.command(guest_cmd, disks, nets)
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


# A user program trapping on rdtime/rdcycle/rdinstret (csrrs rd, 0xc00..0xc02):
# a failure of the CPU/monitor, not of the I/O under test; say so.
COUNTER_TRAP = re.compile(rb"badaddr: 00000000c0[012]02[0-9a-f][7f]3 cause: 0000000000000002")


def hint(out):
    if COUNTER_TRAP.search(out):
        return ("[user-mode rdtime/rdcycle trapped: in para mode the monitor must leave the "
                "counters readable from U-mode (scounteren = 7, as Linux's KVM does for its "
                "guests)] ")
    return ""


def check_guest(r, name, need=None):
    """Common verdict: the guest command ran and exited 0, and the output
    holds need (bytes regex). Returns the match or None after a FAIL."""
    status, out, err, gst = r
    if gst is not None and gst != 0 and hint(out):
        report("FAIL", name, hint(out) + tail(out, 160))
        return None
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
    fd, path = tempfile.mkstemp(prefix="trevo-para-", suffix=".img")
    os.ftruncate(fd, size_mb << 20)
    os.close(fd)
    return path


# ---------------------------------------------------------------- tests

def test_boot(rn):
    r = rn.run("echo para-$((6*7))", timeout=90)
    if check_guest(r, "para-boot", rb"para-42"):
        if r[0] != 0:
            report("FAIL", "para-boot", "poweroff gave exit status %s" % r[0])
        else:
            report("PASS", "para-boot")
            return True
    return False


def test_disk_ext2(rn):
    img = make_image(16)
    token = "trevo-ext2-%08x" % random.getrandbits(32)
    try:
        cmd = ("mke2fs -q /dev/vda >/dev/null 2>&1 || mke2fs /dev/vda; mkdir -p /mnt && "
               "mount -t ext2 /dev/vda /mnt && echo %s > /mnt/f && umount /mnt && sync && "
               "echo ext2-done" % token)
        r = rn.run(cmd, disks=[(img, False)])
        if not check_guest(r, "para-disk-ext2", rb"ext2-done"):
            return
        if not shutil.which("debugfs"):
            report("SKIP", "para-disk-ext2", "debugfs (e2fsprogs) not installed to check the image")
            return
        d = subprocess.run(["debugfs", "-R", "cat /f", img], capture_output=True, timeout=30)
        if token.encode() in d.stdout:
            report("PASS", "para-disk-ext2")
        else:
            report("FAIL", "para-disk-ext2", "debugfs found %r, not %s" % (d.stdout[:80], token))
    finally:
        os.unlink(img)


def test_disk_raw(rn):
    img = make_image(4)
    host_mark = b"HOST-MARK-%08x" % random.getrandbits(32)
    guest_mark = "GUEST-MARK-%08x" % random.getrandbits(32)
    try:
        with open(img, "r+b") as f:
            f.seek(200 * 512)
            f.write(host_mark)
        cmd = ("dd if=/dev/vda bs=512 skip=200 count=1 2>/dev/null | head -c %d; echo; "
               "echo %s | dd of=/dev/vda bs=512 seek=100 conv=sync 2>/dev/null && sync && "
               "echo raw-done" % (len(host_mark), guest_mark))
        r = rn.run(cmd, disks=[(img, False)])
        if not check_guest(r, "para-disk-raw", rb"raw-done"):
            return
        if host_mark not in r[1]:
            report("FAIL", "para-disk-raw", "guest did not read the host's sector: " + tail(r[1]))
            return
        with open(img, "rb") as f:
            f.seek(100 * 512)
            data = f.read(512)
        if data.startswith(guest_mark.encode()):
            report("PASS", "para-disk-raw")
        else:
            report("FAIL", "para-disk-raw", "sector 100 on the host holds %r" % data[:40])
    finally:
        os.unlink(img)


def test_disk_readonly(rn):
    img = make_image(4)
    try:
        with open(img, "r+b") as f:
            f.write(b"ORIGINAL")
        cmd = ("echo CHANGED | dd of=/dev/vda bs=512 count=1 conv=sync 2>&1; sync; "
               "echo ro-rc=$?; dd if=/dev/vda bs=8 count=1 2>/dev/null; echo")
        r = rn.run(cmd, disks=[(img, True)])
        if not check_guest(r, "para-disk-readonly", rb"ro-rc="):
            return
        with open(img, "rb") as f:
            head = f.read(8)
        if head != b"ORIGINAL":
            report("FAIL", "para-disk-readonly", "the host image changed: %r" % head)
        elif not re.search(rb"[Rr]ead-only|Operation not permitted|I/O error|Permission denied", r[1]):
            report("FAIL", "para-disk-readonly", hint(r[1]) + "the guest write did not fail: " + tail(r[1]))
        elif b"ORIGINAL" not in r[1]:
            report("FAIL", "para-disk-readonly", "the guest cannot read the disk: " + tail(r[1]))
        else:
            report("PASS", "para-disk-readonly")
    finally:
        os.unlink(img)


class TcpServer:
    """One-shot TCP server: reads a line, answers pong-<line> and closes."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(4)
        self.sock.settimeout(1.0)
        self.port = self.sock.getsockname()[1]
        self.got = b""
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(10)
            data = b""
            try:
                while b"\n" not in data:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.got += data
                c.sendall(b"pong-" + data)
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop = True
        self.thread.join(3)
        self.sock.close()


NETNS_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0)); s.listen(1); s.settimeout(float(sys.argv[2]))
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.settimeout(10); d = b""
while b"\n" not in d:
    x = c.recv(4096)
    if not x: break
    d += x
c.sendall(b"pong-" + d); c.close()
print("got", d.decode(errors="replace").strip(), flush=True)
"""


def net_cmd(ip, gw, server, port, token):
    route = "route add default gw %s && " % gw if gw else ""
    return ("ifconfig lo up; ifconfig eth0 %s netmask 255.255.255.0 up && %s"
            "echo %s | nc %s %d; echo net-done" % (ip, route, token, server, port))


def test_net_user(rn):
    srv = TcpServer()
    token = "tok%08x" % random.getrandbits(32)
    try:
        r = rn.run(net_cmd("10.0.2.15", "10.0.2.2", "10.0.2.2", srv.port, token), nets=["user"])
        if not check_guest(r, "para-net-user", rb"net-done"):
            return
        if ("pong-" + token).encode() in r[1] and token.encode() in srv.got:
            report("PASS", "para-net-user")
        else:
            report("FAIL", "para-net-user", "server got %r; guest: %s" % (srv.got[:60], tail(r[1])))
    finally:
        srv.close()


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


def test_net_bulk(rn):
    """4 MiB of random bytes guest -> host: checksum and segmentation
    offloads must deliver every byte intact."""
    size = 4 << 20
    srv = BulkServer(size)
    try:
        cmd = ("ifconfig lo up; ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && "
               "route add default gw 10.0.2.2 && head -c %d /dev/urandom > /tmp/x && "
               "md5sum /tmp/x && nc 10.0.2.2 %d < /tmp/x; echo bulk-done" % (size, srv.port))
        r = rn.run(cmd, nets=["user"], timeout=180)
        m = check_guest(r, "para-net-bulk", rb"([0-9a-f]{32})  /tmp/x")
        if not m:
            return
        sent = m.group(1).decode()
        if ("md5=" + sent).encode() in r[1]:
            report("PASS", "para-net-bulk")
        else:
            report("FAIL", "para-net-bulk", "guest md5 %s, host got %d bytes: %s" %
                   (sent, srv.got, tail(r[1])))
    finally:
        srv.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_net_hostfwd(rn):
    """--net user,hostfwd=tcp::HOSTPORT-:GUESTPORT: the host reaches a
    server in the guest."""
    port = free_port()
    token = "fwd%08x" % random.getrandbits(32)
    got = []

    def client():
        deadline = time.monotonic() + 120 * rn.scale
        while time.monotonic() < deadline and not got:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                c.settimeout(10)
                data = b""
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    data += d
                c.close()
                if token.encode() in data:
                    got.append(data)
                    return
            except OSError:
                pass
            time.sleep(0.3)

    t = threading.Thread(target=client, daemon=True)
    t.start()
    cmd = ("ifconfig lo up; ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && "
           "echo %s | nc -l -p 7777; echo fwd-done" % token)
    r = rn.run(cmd, nets=["user,hostfwd=tcp:127.0.0.1:%d-:7777" % port])
    t.join(5)
    if not check_guest(r, "para-net-hostfwd", rb"fwd-done"):
        return
    if got:
        report("PASS", "para-net-hostfwd")
    else:
        report("FAIL", "para-net-hostfwd", "the host never read the guest's answer: " + tail(r[1]))


def test_net_tap(rn):
    if os.geteuid() != 0 or not shutil.which("ip"):
        report("SKIP", "para-net-tap", "needs root and iproute2 for a network namespace")
        return
    ns = "trevo-para-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode:
        report("SKIP", "para-net-tap", "cannot create a network namespace here")
        return
    srv = None
    try:
        for c in (["ip", "tuntap", "add", "dev", "ttap0", "mode", "tap"],
                  ["ip", "addr", "add", "192.168.76.1/24", "dev", "ttap0"],
                  ["ip", "link", "set", "ttap0", "up"],
                  ["ip", "link", "set", "lo", "up"]):
            p = subprocess.run(["ip", "netns", "exec", ns] + c, capture_output=True)
            if p.returncode:
                report("SKIP", "para-net-tap", "cannot set up tap in %s: %s" %
                       (ns, p.stderr.decode(errors="replace").strip()))
                return
        srv = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", NETNS_SERVER,
                                "192.168.76.1", str(180 * rn.scale)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        port = int(srv.stdout.readline() or 0)
        token = "tap%08x" % random.getrandbits(32)
        r = rn.run(net_cmd("192.168.76.2", None, "192.168.76.1", port, token),
                   nets=["tap:ttap0"], netns=ns)
        if not check_guest(r, "para-net-tap", rb"net-done"):
            return
        if ("pong-" + token).encode() in r[1]:
            report("PASS", "para-net-tap")
        else:
            report("FAIL", "para-net-tap", "no reply from the namespace's server: " + tail(r[1]))
    finally:
        if srv:
            srv.kill()
            srv.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_console_input(rn):
    """The shell on hvc0 (virtio-console) reads what the user types on the
    terminal and powers off on request."""
    import pty
    import select
    import tty
    a = rn.args
    if a.qemu:
        report("SKIP", "para-console-input", "QEMU's virt board puts its shell on ttyS0")
        return
    cmd = [a.trevo, "run", "--mode", "para", "--memory", "256M", "--kernel", a.kernel,
           "--initrd", a.initrd]
    m, s = pty.openpty()
    tty.setraw(s)
    p = subprocess.Popen(cmd, stdin=s, stdout=s, stderr=subprocess.PIPE, start_new_session=True)
    os.close(s)
    out, sent = b"", False
    deadline = time.monotonic() + 90 * rn.scale
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([m], [], [], 0.5)
            if r:
                try:
                    d = os.read(m, 65536)
                except OSError:
                    d = b""
                if not d:
                    break
                out += d
            if not sent and re.search(rb"# $", out):
                time.sleep(0.3)
                os.write(m, b"echo typed-$((6*7)); poweroff\r")
                sent = True
            if p.poll() is not None:
                break
        status = p.wait(timeout=10 * rn.scale)
    except subprocess.TimeoutExpired:
        status = None
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
            p.wait()
        os.close(m)
    if b"typed-42" in out and status == 0:
        report("PASS", "para-console-input")
    elif not sent:
        report("FAIL", "para-console-input", "no shell prompt: " + tail(out))
    else:
        report("FAIL", "para-console-input", "status %s after typing: %s" % (status, tail(out)))


def test_errors(rn):
    """Bad input ends Trevo at start-up with status 2 and one clear line."""
    if rn.args.qemu:
        report("SKIP", "para-errors", "Trevo's own messages; nothing to compare under QEMU")
        return
    cases = [
        ("para-missing-disk", dict(disks=[("/nonexistent/trevo-missing.img", False)]),
         rb"cannot open disk image"),
        ("para-bad-disk-option", dict(disks=[("/dev/null,bogus", False)]), rb"unknown option"),
        ("para-bad-net", dict(nets=["wire"]), rb"bad --net"),
        ("para-bad-hostfwd", dict(nets=["user,hostfwd=tcp::x-:22"]), rb"bad option"),
    ]
    for name, kw, msg in cases:
        status, out, err, _ = rn.run("true", timeout=30, **kw)
        if status == 2 and re.search(msg, err) and len(err.strip().splitlines()) <= 3:
            report("PASS", name)
        else:
            report("FAIL", name, "status %s, stderr %r" % (status, err[-200:]))


TESTS = [
    ("para-disk-ext2", test_disk_ext2),
    ("para-disk-raw", test_disk_raw),
    ("para-disk-readonly", test_disk_readonly),
    ("para-net-user", test_net_user),
    ("para-net-bulk", test_net_bulk),
    ("para-net-hostfwd", test_net_hostfwd),
    ("para-net-tap", test_net_tap),
    ("para-console-input", test_console_input),
    ("para-errors", test_errors),
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
    names = ["para-boot"] + [n for n, _ in TESTS]

    def skip_all(why):
        for n in names:
            if not args.only or args.only == n:
                report("SKIP", n, why)
        return 0

    for f in (args.kernel, args.initrd):
        if not os.path.exists(f):
            return skip_all("default guest not built (%s missing; make guest)" % f)
    if args.qemu:
        if not shutil.which("qemu-system-riscv64") or not os.path.exists(args.firmware):
            return skip_all("qemu-system-riscv64 or OpenSBI fw_jump.bin missing")
    elif not os.access(args.trevo, os.X_OK):
        return skip_all("%s not built" % args.trevo)

    rn = Runner(args)
    if not args.qemu:
        # Is --mode para there at all? A board without it refuses at once.
        status, out, err, gst = rn.run("true", timeout=90)
        if status is not None and gst is None and b"Linux version" not in out:
            return skip_all("--mode para does not boot Linux yet (status %s: %s)" %
                            (status, tail(err, 160) or tail(out, 160)))
    if not args.only or args.only == "para-boot":
        if not test_boot(rn) and not args.only:
            for n, _ in TESTS:
                report("SKIP", n, "the guest does not boot in para mode")
            return 0
    for n, fn in TESTS:
        if not args.only or args.only == n or (n == "para-errors" and args.only.startswith("para-bad")):
            fn(rn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
