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
checksum right, through to the end section), never a partial file.

isol-jail: with --jail DIR --uid 65534 --gid 65534 the monitor (the child
of the trevo process) runs as those ids, with no capabilities, no_new_privs
and its seccomp filter, as PID 1 of its own PID namespace and in its own
mount and IPC namespaces; its root holds only what it was given (the
images, the QMP socket's directory, a few device nodes, its own /proc); the
guest boots, its disk write reaches the host's image and QMP answers on the
socket. isol-jail-usage: --jail without --uid/--gid is refused (exit 2)."""
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


def status_fields(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def test_jail(a):
    name = "isol-jail"
    if os.geteuid() != 0:
        report("SKIP", name, "needs root (namespaces, pivot_root)")
        return
    tmp = tempfile.mkdtemp(prefix="trevo-isol-jail-")
    jail, sockdir = os.path.join(tmp, "root"), os.path.join(tmp, "qmp")
    os.mkdir(jail)
    os.mkdir(sockdir)
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    # The ids the monitor runs as own what it writes (as with Firecracker's
    # jailer, the user arranges that); the images are read-only for it.
    os.chown(img, 65534, 65534)
    os.chown(sockdir, 65534, 65534)
    sock = os.path.join(sockdir, "q.sock")
    mark = "JAILED-%016x" % random.getrandbits(64)
    p = start(a, "echo %s | dd of=/dev/vda bs=512 conv=sync,fsync 2>/dev/null && echo UP-IN-JAIL; "
              "sleep 600" % mark,
              ["--disk", img, "--qmp", "unix:%s,server,nowait" % sock,
               "--jail", jail, "--uid", "65534", "--gid", "65534"])
    try:
        out, m = wait_for(p, rb"UP-IN-JAIL", 120 * a.scale)
        if not m:
            report("FAIL", name, "the guest never came up: " + tail(out))
            return
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            kids = [int(x) for x in f.read().split()]
        if len(kids) != 1:
            report("FAIL", name, "trevo has children %s, want the one monitor" % kids)
            return
        mon = kids[0]
        st = status_fields(mon)
        bad = []
        if st["Uid"].split() != ["65534"] * 4 or st["Gid"].split() != ["65534"] * 4:
            bad.append("ids %s / %s" % (st["Uid"], st["Gid"]))
        if st.get("Groups", "").strip():
            bad.append("groups %r" % st["Groups"])
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            if int(st[cap], 16) != 0:
                bad.append("%s %s" % (cap, st[cap]))
        if st.get("NoNewPrivs") != "1" or st.get("Seccomp") != "2":
            bad.append("NoNewPrivs %s Seccomp %s" % (st.get("NoNewPrivs"), st.get("Seccomp")))
        if st["NSpid"].split()[-1] != "1":
            bad.append("NSpid %s (not PID 1 of its namespace)" % st["NSpid"])
        for ns in ("pid", "mnt", "ipc"):
            if os.readlink("/proc/%d/ns/%s" % (mon, ns)) == os.readlink("/proc/self/ns/" + ns):
                bad.append("the host's %s namespace" % ns)
        root = "/proc/%d/root" % mon
        # What the monitor sees of the file system: only its jail.
        for host_file in ("/etc/passwd", os.path.abspath(__file__), a.trevo):
            if os.path.exists(root + host_file):
                bad.append("it sees %s" % host_file)
        for want in (os.path.realpath(a.kernel), os.path.realpath(img), os.path.realpath(sock),
                     "/dev/null"):
            if not os.path.exists(root + want):
                bad.append("it lacks %s" % want)
        pids = [x for x in os.listdir(root + "/proc") if x.isdigit()]
        if pids != ["1"]:
            bad.append("its /proc shows processes %s" % pids)
        r = subprocess.run([a.trevo, "qmp", sock, "query-status"], capture_output=True,
                           timeout=30 * a.scale)
        if r.returncode != 0 or b"running" not in r.stdout:
            bad.append("QMP on the jailed socket: %r %r" % (r.stdout[-100:], r.stderr[-100:]))
        with open(img, "rb") as f:
            if f.read(len(mark)) != mark.encode():
                bad.append("the guest's disk write is not in the host's image")
        if bad:
            report("FAIL", name, "; ".join(bad))
        else:
            report("PASS", name, "monitor pid %d (1 inside), %d entries at its root"
                   % (mon, len(os.listdir(root))))
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    r = subprocess.run([a.trevo, "run", "--jail", "/tmp"], capture_output=True, timeout=30)
    if r.returncode == 2 and r.stderr.count(b"\n") == 1 and b"--uid" in r.stderr:
        report("PASS", "isol-jail-usage")
    else:
        report("FAIL", "isol-jail-usage", "exit %d: %r" % (r.returncode, r.stderr[-200:]))


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
                      "isol-snapshot-kill", "isol-jail", "isol-jail-usage"):
                report("SKIP", n, "%s not built" % f)
            return 0
    test_nothing_lost(a)
    test_sandbox_state(a, "isol-sandbox-on", [], 2)
    test_sandbox_state(a, "isol-sandbox-off", ["--sandbox", "off"], 0)
    test_snapshot_kill(a)
    test_jail(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
