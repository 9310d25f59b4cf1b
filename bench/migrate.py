#!/usr/bin/env python3
"""Snapshot benchmark: the idle default RISC-V guest (full mode, 2 CPUs,
512 MiB) at its shell, snapshotted through QMP and restored, on Trevo
(zstd and raw layouts) and on QEMU (migrate to "exec:cat > FILE", restored
with -incoming "exec:cat FILE") in the same run. Prints a markdown table.

    migrate.py [--trevo BIN] [--repeat N] [--no-qemu] [--parts snapshot,live]

Live migration (--parts live): the same idle guest migrated over loopback
to a second process (`trevo run --incoming tcp:...`, QEMU's `-incoming
tcp:...`) with each one's defaults (downtime-limit 300 ms, max-bandwidth
128 MiB/s); total time and downtime as each reports them (Trevo's line on
stderr, QEMU's query-migrate), median of --repeat fresh boots.

Restore to running: from spawning the process to the first QMP
query-status that says "running", with a lean client (the QMP socket
appears once the machine is built; program start and dynamic linking
included). Restore to shell: spawned on a pty, until the restored guest's
shell has echoed a command back on its console.
Standard library only (tests/qmp's helpers).
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "boot"))
sys.path.insert(0, os.path.join(ROOT, "tests", "qmp"))
sys.dont_write_bytecode = True
from boot_test import DEFAULT_FW, Guest  # noqa: E402
from qmp_test import Qmp  # noqa: E402

KERNEL = os.path.join(ROOT, "build/guest/riscv/Image")
INITRD = os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz")


class Bench:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="trevo-bench-migrate-")
        self.n = 0

    def connect(self, g, path, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return Qmp(path, g._pump, 30)
            except OSError:
                if time.monotonic() > deadline or g.exited():
                    raise RuntimeError("no QMP socket (stderr %r)" % g.err[-300:])
                g._pump(0.002)

    def shell(self, g, command, timeout=60):
        self.n += 1
        start, end = 5000 + 2 * self.n, 5001 + 2 * self.n
        g.send("echo '<'$((%d))'>'; %s; echo '<'$((%d))'>'\r" % (start, command, end))
        g.expect(rb"<%d>\r*\n" % start, timeout)
        return g.expect(rb"(.*?)<%d>" % end, timeout).group(1)

    def wait_running(self, q, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if q.cmd("query-status").get("return", {}).get("status") == "running":
                return
            time.sleep(0.001)
        raise RuntimeError("never running")

    def boot(self, cmd, sock):
        g = Guest(cmd)
        q = self.connect(g, sock)
        q.greet(30)
        g.expect(rb"TREVO-BOOT-OK", 300)
        g.expect(rb"# ", 60)
        self.shell(g, "echo idle")
        time.sleep(1)     # idle: the boot's last writes settle
        return g, q

    def restore_running(self, cmd, sock):
        """Spawn to the first query-status that says running, with a lean
        client (no pty, polling every 0.5 ms)."""
        if os.path.exists(sock):
            os.unlink(sock)
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            while True:
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(sock)
                    break
                except OSError:
                    s.close()
                    if p.poll() is not None or time.monotonic() - t0 > 60:
                        raise RuntimeError("restore never listened")
                    time.sleep(0.0005)
            f = s.makefile("rwb")
            f.readline()
            f.write(b'{"execute": "qmp_capabilities"}\n')
            f.flush()
            f.readline()
            while True:
                f.write(b'{"execute": "query-status"}\n')
                f.flush()
                line = f.readline()
                if b'"running"' in line and b'"status": "running"' in line:
                    return time.monotonic() - t0
                if not line:
                    raise RuntimeError("restore closed QMP")
        finally:
            p.kill()
            p.wait()

    def restore(self, cmd, sock):
        running = self.restore_running(cmd, sock)
        t0 = time.monotonic()
        g = Guest(cmd)
        q = self.connect(g, sock)
        q.greet(30)
        self.wait_running(q)
        self.shell(g, "echo restored")
        shell = time.monotonic() - t0
        g.kill()
        return running, shell

    # -- Trevo ---------------------------------------------------------------

    def trevo(self, layout):
        a = self.a
        snap = os.path.join(self.tmp, "trevo-%s.snap" % layout)
        sock = os.path.join(self.tmp, "t.sock")
        cmd = [a.trevo, "run", "--mode", "full", "--kernel", KERNEL, "--initrd", INITRD,
               "--firmware", DEFAULT_FW, "--cpus", "2", "--memory", "512M",
               "--append", "console=ttyS0", "--qmp", "unix:%s,server,nowait" % sock]
        g, q = self.boot(cmd, sock)
        args = {"file": snap}
        if layout == "raw":
            args["raw"] = True
        t0 = time.monotonic()
        r = q.cmd("snapshot-save", args, timeout=120)
        took = time.monotonic() - t0
        g.kill()
        if r.get("return") != {}:
            raise RuntimeError("snapshot-save: %r" % r)
        st = os.stat(snap)
        runs = [self.restore([a.trevo, "run", "--restore", snap, "--qmp",
                              "unix:%s-r,server,nowait" % sock], sock + "-r")
                for _ in range(a.repeat)]
        return took, st.st_blocks * 512, st.st_size, runs

    def live_trevo(self, port):
        a = self.a
        sock = os.path.join(self.tmp, "l.sock")
        cmd = [a.trevo, "run", "--mode", "full", "--kernel", KERNEL, "--initrd", INITRD,
               "--firmware", DEFAULT_FW, "--cpus", "2", "--memory", "512M",
               "--append", "console=ttyS0", "--qmp", "unix:%s,server,nowait" % sock]
        g, q = self.boot(cmd, sock)
        d = subprocess.Popen([a.trevo, "run", "--incoming", "tcp:127.0.0.1:%d" % port],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            while not subprocess.run(["ss", "-Hltn", "sport = :%d" % port],
                                     capture_output=True).stdout.strip():
                time.sleep(0.01)
            q.cmd("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
            if g.wait(60) != 0:
                raise RuntimeError("trevo migration: %r" % g.err[-300:])
            m = re.search(rb"completed: total-time (\d+) ms, downtime (\d+) ms, (\d+) bytes, "
                          rb"\d+ rounds, running there (\d+) ms", g.err)
            if not m:
                raise RuntimeError("trevo migration: %r" % g.err[-300:])
            return int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
        finally:
            g.kill()
            d.kill()
            d.wait()

    def live_qemu(self, port):
        sock = os.path.join(self.tmp, "lq.sock")
        g, q = self.boot(self.qemu_cmd(sock), sock)
        d = subprocess.Popen(self.qemu_cmd(sock + "-d", ["-incoming", "tcp:127.0.0.1:%d" % port]),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            while not subprocess.run(["ss", "-Hltn", "sport = :%d" % port],
                                     capture_output=True).stdout.strip():
                time.sleep(0.01)
            q.cmd("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
            while True:
                r = q.cmd("query-migrate").get("return", {})
                if r.get("status") in ("completed", "failed", "cancelled"):
                    break
                time.sleep(0.002)
            if r.get("status") != "completed":
                raise RuntimeError("qemu migration: %r" % r)
            return r["total-time"], r["downtime"], r["ram"]["transferred"], None
        finally:
            g.kill()
            d.kill()
            d.wait()

    # -- QEMU ----------------------------------------------------------------

    def qemu_cmd(self, sock, extra=()):
        return ["qemu-system-riscv64", "-M", "virt", "-smp", "2", "-m", "512M", "-nographic",
                "-bios", DEFAULT_FW, "-kernel", KERNEL, "-initrd", INITRD,
                "-append", "console=ttyS0", "-qmp", "unix:%s,server,nowait" % sock] + list(extra)

    def qemu(self):
        snap = os.path.join(self.tmp, "qemu.mig")
        sock = os.path.join(self.tmp, "q.sock")
        g, q = self.boot(self.qemu_cmd(sock), sock)
        t0 = time.monotonic()
        r = q.cmd("migrate", {"uri": "exec:cat > %s" % snap})
        if "error" in r:
            raise RuntimeError("migrate: %r" % r)
        while True:
            st = q.cmd("query-migrate").get("return", {}).get("status")
            if st in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.002)
        took = time.monotonic() - t0
        g.kill()
        if st != "completed":
            raise RuntimeError("migrate %s" % st)
        size = os.stat(snap).st_blocks * 512
        runs = [self.restore(self.qemu_cmd(sock + "-r", ["-incoming", "exec:cat %s" % snap]),
                             sock + "-r") for _ in range(self.a.repeat)]
        return took, size, os.stat(snap).st_size, runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trevo", default=os.path.join(ROOT, "build/trevo"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--parts", default="snapshot,live")
    a = ap.parse_args()
    parts = a.parts.split(",")
    if not os.path.exists(KERNEL):
        print("migrate: no default guest (make guest)")
        return 1
    b = Bench(a)
    rows, live = [], []
    qemu = not a.no_qemu and shutil.which("qemu-system-riscv64")
    try:
        if "snapshot" in parts:
            for layout in ("zstd", "raw"):
                rows.append(("trevo " + layout,) + b.trevo(layout))
            if qemu:
                rows.append(("qemu migrate exec:cat",) + b.qemu())
        if "live" in parts:
            port = 5600 + os.getpid() % 300
            # Alternating, A B A B, so that the machine's load falls on both.
            runs = {"trevo": [], "qemu": []}
            for i in range(a.repeat):
                runs["trevo"].append(b.live_trevo(port + 2 * i))
                if qemu:
                    runs["qemu"].append(b.live_qemu(port + 2 * i + 1))
            for name in ("trevo", "qemu"):
                if runs[name]:
                    live.append((name, runs[name]))
    finally:
        shutil.rmtree(b.tmp, ignore_errors=True)
    if live:
        print("| live migration, loopback, idle guest | total time (ms) | downtime (ms) | "
              "stop to running there (ms) | transferred (MiB) | runs (total/downtime) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, rs in live:
            there = [r[3] for r in rs if r[3] is not None]
            print("| %s | %.0f | %.0f | %s | %.1f | %s |" % (
                name, statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
                "%.0f" % statistics.median(there) if there else "-",
                statistics.median(r[2] for r in rs) / 1048576,
                " ".join("%d/%d" % (r[0], r[1]) for r in rs)))
        print()
    if not rows:
        return 0
    print("| | snapshot time (s) | file on disk (MiB) | file size (MiB) | "
          "restore to running (ms, median of %d) | restore to shell answer (ms) |" % a.repeat)
    print("| --- | --- | --- | --- | --- | --- |")
    for name, took, disk, size, runs in rows:
        print("| %s | %.3f | %.1f | %.1f | %.1f | %.1f |" % (
            name, took, disk / 1048576, size / 1048576,
            1000 * statistics.median(r[0] for r in runs),
            1000 * statistics.median(r[1] for r in runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
