#!/usr/bin/env python3
"""Isolation and robustness on the default RISC-V guest in --mode para,
with the sandbox on (the default).

isol-nothing-lost: the guest writes a random marker to its virtio disk with
fsync (a VIRTIO_BLK_T_FLUSH), prints a line once fsync returned, and then
Trevo is SIGKILLed: the marker must be in the host's image file. What the
guest was told is on disk is on disk, whatever happens to the monitor.

isol-sandbox-off: --sandbox off runs the same guest with no seccomp filter
on any thread (/proc/PID/task/*/status), and the default has one on every
thread.

isol-snapshot-kill: a snapshot is taken through QMP, then a second one to
the same file is interrupted by SIGKILL at a random moment (three rounds,
from the moment it starts writing to about when it ends): the file under the final name is then
either the old snapshot, byte for byte, or a complete new one (every
checksum right, through to the end section), never a partial file."""
import argparse
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def report(kind, name, why=""):
    print("%s %s" % (kind, name) + (": " + why if why else ""), flush=True)


def encode_cmd(cmd):
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:,")
    return "".join(c if c in safe else "%%%02X" % ord(c) for c in cmd)


def start(a, guest_cmd, extra=(), memory="256M"):
    cmd = [a.trevo, "run", "--mode", "para", "--memory", memory, "--kernel", a.kernel,
           "--initrd", a.initrd, "--append", "console=hvc0 trevo.run=" + encode_cmd(guest_cmd)]
    cmd += list(extra)
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def wait_for(p, pattern, timeout):
    """Read p's stdout until pattern shows; the bytes so far and a match."""
    out = b""
    end = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk
            m = re.search(pattern, out)
            if m:
                return out, m
    return out, None


def tail(b, n=200):
    return " | ".join(l.strip() for l in b.decode(errors="replace").splitlines() if l.strip())[-n:]


def test_nothing_lost(a):
    fd, img = tempfile.mkstemp(prefix="trevo-isol-", suffix=".img")
    os.ftruncate(fd, 4 << 20)
    os.close(fd)
    mark = "NOTHING-LOST-%016x" % random.getrandbits(64)
    sector = random.randrange(16, 4000)
    # dd conv=fsync: fsync(/dev/vda) is a cache flush the device must
    # answer only once the data is stable on the host.
    cmd = ("echo %s | dd of=/dev/vda bs=512 seek=%d conv=sync,fsync 2>/dev/null && "
           "echo SYNCED-%d; sleep 600" % (mark, sector, sector))
    p = start(a, cmd, ["--disk", img])
    try:
        out, m = wait_for(p, rb"SYNCED-%d" % sector, 120 * a.scale)
        if not m:
            report("FAIL", "isol-nothing-lost", "the guest never synced: " + tail(out))
            return
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        with open(img, "rb") as f:
            f.seek(sector * 512)
            data = f.read(len(mark))
        if p.returncode != -signal.SIGKILL:
            report("FAIL", "isol-nothing-lost", "trevo ended by itself (%s)" % p.returncode)
        elif data != mark.encode():
            report("FAIL", "isol-nothing-lost", "sector %d holds %r after SIGKILL" % (sector, data))
        else:
            report("PASS", "isol-nothing-lost")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        os.unlink(img)


def snapshot_complete(path):
    """Whether path is a whole snapshot (format of src/migrate/snapshot.c):
    header and config checksum, then sections with their checksums up to the
    end section."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or data[:8] != b"TREVOSNP":
        return False
    clen, ccrc = int.from_bytes(data[16:20], "little"), int.from_bytes(data[20:24], "little")
    if 24 + clen > len(data) or zlib.crc32(data[24:24 + clen]) != ccrc:
        return False
    off = 24 + clen
    while off + 56 <= len(data):
        kind = int.from_bytes(data[off:off + 4], "little")
        n = int.from_bytes(data[off + 40:off + 48], "little")
        crc = int.from_bytes(data[off + 48:off + 52], "little")
        body = data[off + 56:off + 56 + n]
        if len(body) != n or zlib.crc32(body) != crc:
            return False
        if kind == 5:
            return True
        off += 56 + n
    return False


def test_snapshot_kill(a):
    name = "isol-snapshot-kill"
    tmp = tempfile.mkdtemp(prefix="trevo-isol-snap-")
    snap = os.path.join(tmp, "vm.snap")
    took = None
    outcomes = []
    try:
        for rnd in range(3):
            sock = os.path.join(tmp, "qmp%d.sock" % rnd)
            # 64 MiB of random bytes in the guest's RAM (tmpfs), so that a
            # save takes long enough to be cut in the middle.
            p = start(a, "dd if=/dev/urandom of=/tmp/fill bs=1M count=160 2>/dev/null; "
                      "echo FILLED; sleep 600",
                      ["--qmp", "unix:%s,server,nowait" % sock], memory="512M")
            try:
                out, m = wait_for(p, rb"FILLED", 180 * a.scale)
                if not m:
                    report("FAIL", name, "the guest never came up: " + tail(out))
                    return
                save = [a.trevo, "qmp", sock, "snapshot-save", "file=" + snap]
                if not os.path.exists(snap):
                    t0 = time.monotonic()
                    r = subprocess.run(save, capture_output=True, timeout=300 * a.scale)
                    took = time.monotonic() - t0
                    if r.returncode != 0 or not snapshot_complete(snap):
                        report("FAIL", name, "first snapshot failed: %r" % r.stderr[-200:])
                        return
                with open(snap, "rb") as f:
                    old = f.read()
                q = subprocess.Popen(save, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                # Once the save is writing (its temporary file exists),
                # round r dies in the r-th half of the time a save took:
                # early, in the middle, or about when it ends.
                end = time.monotonic() + 60 * a.scale
                part = os.path.join(tmp, ".vm.snap.tmp%d" % p.pid)
                while time.monotonic() < end and not os.path.exists(part):
                    time.sleep(0.001)
                time.sleep(took * (rnd + random.random()) / 2)
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                q.wait(timeout=30)
            finally:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            if not os.path.exists(snap):
                report("FAIL", name, "round %d: no file under the final name" % rnd)
                return
            with open(snap, "rb") as f:
                now = f.read()
            if now == old:
                outcomes.append("old")
            elif snapshot_complete(snap):
                outcomes.append("new")
            else:
                report("FAIL", name, "round %d: a partial file (%d bytes) under the final name"
                       % (rnd, len(now)))
                return
        report("PASS", name, "save %.1fs; after SIGKILL: %s" % (took, ", ".join(outcomes)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def seccomp_modes(pid):
    modes = []
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, t)) as f:
            m = re.search(r"^Seccomp:\s*(\d)", f.read(), re.M)
            modes.append(int(m.group(1)) if m else -1)
    return modes


def test_sandbox_state(a, name, extra, want):
    fd, img = tempfile.mkstemp(prefix="trevo-isol-", suffix=".img")
    os.ftruncate(fd, 1 << 20)
    os.close(fd)
    p = start(a, "echo UP; sleep 600", ["--disk", img, "--net", "user"] + list(extra))
    try:
        out, m = wait_for(p, rb"UP", 120 * a.scale)
        if not m:
            report("FAIL", name, "the guest never came up: " + tail(out))
            return
        modes = seccomp_modes(p.pid)
        if len(modes) >= 5 and all(x == want for x in modes):
            report("PASS", name, "%d threads, seccomp mode %d" % (len(modes), want))
        else:
            report("FAIL", name, "thread seccomp modes %s, want all %d" % (modes, want))
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        os.unlink(img)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trevo", default=os.path.join(ROOT, "build/trevo"))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--timeout-scale", dest="scale", type=float, default=1)
    a = ap.parse_args()
    for f in (a.trevo, a.kernel, a.initrd):
        if not os.path.exists(f):
            for n in ("isol-nothing-lost", "isol-sandbox-on", "isol-sandbox-off",
                      "isol-snapshot-kill"):
                report("SKIP", n, "%s not built" % f)
            return 0
    test_nothing_lost(a)
    test_sandbox_state(a, "isol-sandbox-on", [], 2)
    test_sandbox_state(a, "isol-sandbox-off", ["--sandbox", "off"], 0)
    test_snapshot_kill(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
