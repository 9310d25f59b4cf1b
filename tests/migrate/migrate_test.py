#!/usr/bin/env python3
"""Snapshots end to end: the default RISC-V guest (full and para mode, 2 and
4 harts, zstd and raw layouts) snapshotted at its shell through QMP, killed
and restored with `trevo run --restore`; a KVM test guest counting in memory;
hostile snapshot files and a changed disk. Prints one line per test in the
format of tests/run.sh. Reuses tests/qmp's helpers (Qmp, Runner).

    migrate_test.py [--trevo BIN] [--kernel F] [--initrd F] [--firmware F]
                    [--kvm-guest F] [--timeout-scale X] [--only PARTS] [-v]

Standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "boot"))
sys.path.insert(0, os.path.join(ROOT, "tests", "qmp"))
sys.dont_write_bytecode = True   # no __pycache__ left in the source tree
from boot_test import DEFAULT_FW, Guest, Timeout  # noqa: E402
from qmp_test import Closed, Runner as QmpRunner  # noqa: E402


class Runner(QmpRunner):
    def report(self, name, ok, why=""):
        if ok is None:
            line = "SKIP migrate-%s: %s" % (name, why)
        elif ok:
            line = "PASS migrate-%s" % name
        else:
            line = "FAIL migrate-%s: %s" % (name, why)
        print(line, flush=True)
        self.results.append(line)

    def vm_cmd(self, mode, cpus, sock, extra=()):
        a = self.a
        c = [a.trevo, "run", "--mode", mode, "--kernel", a.kernel, "--initrd", a.initrd,
             "--cpus", str(cpus), "--memory", "512M", "--qmp", "unix:" + sock + ",server,nowait"]
        if mode == "full":
            c += ["--firmware", a.firmware, "--append", "console=ttyS0"]
        return c + list(extra)

    def restore_cmd(self, snap, sock):
        return [self.a.trevo, "run", "--restore", snap, "--qmp", "unix:" + sock + ",server,nowait"]

    def greet(self, g, sock):
        q = self.connect(g, sock)
        q.greet(10 * self.t)
        return q

    # -- one round: boot, mark, snapshot, kill, restore, check --------------

    def round(self, name, mode, cpus, raw, disk=None, stop_check=False, client=False,
              again=False, reset=False):
        t = self.t
        snap = os.path.join(self.tmp, name + ".snap")
        sock, sock2 = self.sock(name), self.sock(name + "-r")
        extra = ["--disk", disk] if disk else []
        g = Guest(self.vm_cmd(mode, cpus, sock, extra), self.a.verbose)
        g2 = None
        try:
            q = self.greet(g, sock)
            self.boot(g)
            mark = "mark-%s-%d" % (name, os.getpid())
            out = self.shell(g, "echo %s > /tmp/marker; cat /tmp/marker" % mark)
            if not out.endswith(mark):
                return self.report(name, False, "marker not written: %r" % out)
            if disk:
                self.shell(g, "echo disk-%s | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null;"
                           " sync" % name)
            args = {"file": snap}
            if raw:
                args["raw"] = True
            if stop_check:
                args["stop"] = True
            if stop_check:
                # A file that cannot be written: an error, and the VM goes on.
                r = q.cmd("snapshot-save", {"file": "/nonexistent-dir/x.snap"})
                st = q.cmd("query-status").get("return", {}).get("status")
                if "error" not in r or "snapshot:" not in r["error"].get("desc", "") or \
                        st != "running":
                    return self.report(name, False, "bad file gave %r, VM %r" % (r, st))
            t0 = time.monotonic()
            if client:
                # `trevo qmp SOCKET snapshot-save file=F raw=true`
                p = subprocess.run([self.a.trevo, "qmp", sock, "snapshot-save", "file=" + snap] +
                                   (["raw=true"] if raw else []), capture_output=True,
                                   timeout=120 * t)
                r = {"return": {}} if p.returncode == 0 and p.stdout.strip() == b"{}" else \
                    {"client": p.returncode, "out": p.stdout, "err": p.stderr}
            else:
                r = q.cmd("snapshot-save", args, timeout=120 * t)
            took = time.monotonic() - t0
            if r.get("return") != {}:
                return self.report(name, False, "snapshot-save gave %r" % r)
            if stop_check:
                st = q.cmd("query-status").get("return", {}).get("status")
                if st != "paused":
                    return self.report(name, False, "stop=true left the VM %r" % st)
                q.cmd("cont")
            # The source goes on after the snapshot.
            out = self.shell(g, "echo source-goes-on")
            if not out.endswith("source-goes-on"):
                return self.report(name, False, "source silent after the snapshot: %r" % out)
            g.kill()
            size = os.stat(snap).st_blocks * 512
            t1 = time.monotonic()
            g2 = Guest(self.restore_cmd(snap, sock2), self.a.verbose)
            q2 = self.greet(g2, sock2)
            out = self.shell(g2, "cat /tmp/marker", 60)
            answered = time.monotonic() - t1
            if not out.endswith(mark):
                return self.report(name, False, "restored shell printed %r (stderr %r)"
                                   % (out, g2.err[-200:]))
            if disk:
                out = self.shell(g2, "dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 40")
                if ("disk-%s" % name) not in out:
                    return self.report(name, False, "disk read back %r" % out)
            r = q2.cmd("query-status")
            if r.get("return", {}).get("status") != "running":
                return self.report(name, False, "restored VM is %r" % r)
            nproc = self.shell(g2, "nproc")
            if nproc.strip().split()[-1:] != [str(cpus)]:
                return self.report(name, False, "restored nproc %r" % nproc)
            if reset:
                # The images were not read at restore: a system reset reads
                # them and the guest boots again.
                r = q2.cmd("system_reset")
                g2.expect(rb"TREVO-BOOT-OK", 120 * t)
                g2.expect(rb"# ", 30 * t)
                out = self.shell(g2, "cat /tmp/marker 2>&1; echo rebooted")
                if not out.endswith("rebooted") or mark in out:
                    return self.report(name, False, "after system_reset %r printed %r" % (r, out))
            if again:
                # A restored machine (its RAM maybe a file mapping) snapshotted
                # again, in the other layout, and restored once more.
                snap2 = snap + ".2"
                r = q2.cmd("snapshot-save", {"file": snap2, "raw": not raw}, timeout=120 * t)
                if r.get("return") != {}:
                    return self.report(name, False, "second snapshot-save gave %r" % r)
                g2.kill()
                g2 = Guest(self.restore_cmd(snap2, sock2 + "2"), self.a.verbose)
                q2 = self.greet(g2, sock2 + "2")
                out = self.shell(g2, "cat /tmp/marker", 60)
                if not out.endswith(mark):
                    return self.report(name, False, "second restore printed %r" % out)
            q2.cmd("quit")
            st = g2.wait(30 * t)
            if st != 0:
                return self.report(name, False, "restored VM exit status %r" % st)
            self.report(name, True)
            print("# %s: snapshot %.2fs, %.1f MiB on disk, restore to shell answer %.2fs"
                  % (name, took, size / 1048576, answered), flush=True)
            return snap
        except (Timeout, Closed, OSError, ValueError, KeyError, AttributeError) as e:
            err = (g2 or g).err.decode(errors="replace")[-300:]
            self.report(name, False, "%s (stderr %r)" % (e, err))
        finally:
            g.kill()
            if g2:
                g2.kill()
        return None

    # -- bad snapshot files: exit 2, one line, no guest ---------------------

    def refused(self, name, args, want=None):
        p = subprocess.run([self.a.trevo, "run"] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60 * self.t)
        lines = [x for x in p.stderr.decode(errors="replace").splitlines() if x.strip()]
        ok = p.returncode == 2 and len(lines) == 1 and not p.stdout and \
            (want is None or re.search(want, lines[0]))
        self.report(name, bool(ok), "status %d, stdout %d bytes, stderr %r"
                    % (p.returncode, len(p.stdout), lines))

    def bad_files(self, snap, raw_snap):
        tmp = self.tmp
        data = open(snap, "rb").read()

        def variant(fname, b):
            path = os.path.join(tmp, fname)
            with open(path, "wb") as f:
                f.write(b)
            return path

        self.refused("missing-file", ["--restore", os.path.join(tmp, "nope.snap")],
                     r"^trevo: snapshot: .*No such file")
        self.refused("truncated-half", ["--restore", variant("half.snap", data[:len(data) // 2])],
                     r"^trevo: snapshot: .*(truncated|corrupt)")
        self.refused("truncated-header", ["--restore", variant("hdr.snap", data[:30])],
                     r"^trevo: snapshot: ")
        self.refused("empty-file", ["--restore", variant("empty.snap", b"")],
                     r"not a Trevo snapshot")
        self.refused("not-a-snapshot", ["--restore", variant("junk.snap", os.urandom(8192))],
                     r"not a Trevo snapshot")
        b = bytearray(data)
        b[40] ^= 0x55
        self.refused("corrupt-header", ["--restore", variant("c1.snap", bytes(b))],
                     r"corrupt")
        b = bytearray(data)
        b[len(b) * 3 // 4] ^= 0x55
        self.refused("corrupt-ram", ["--restore", variant("c2.snap", bytes(b))], r"corrupt")
        b = bytearray(data)
        b[8] = 2
        self.refused("foreign-format", ["--restore", variant("f1.snap", bytes(b))],
                     r"format 2")
        b = bytearray(data)
        b[12] = 9
        self.refused("foreign-arch", ["--restore", variant("f2.snap", bytes(b))],
                     r"foreign architecture")
        b = bytearray(data)
        b[12] = 2   # says x86_64, holds a RISC-V machine
        self.refused("wrong-arch", ["--restore", variant("f3.snap", bytes(b))],
                     r"x86_64|corrupt")
        if raw_snap:
            size = os.path.getsize(raw_snap)
            cut = os.path.join(tmp, "rawcut.snap")
            shutil.copyfile(raw_snap, cut)
            os.truncate(cut, size - 8192)
            self.refused("truncated-raw", ["--restore", cut], r"truncated")
        self.refused("restore-with-machine-option", ["--restore", snap, "--memory", "1G"],
                     r"--restore: .*--memory")

    # -- KVM: a counting guest goes on from where it was --------------------

    def kvm(self):
        name = "kvm-counter"
        kg = self.a.kvm_guest
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return self.report(name, None, "no usable /dev/kvm")
        if not os.path.exists(kg):
            return self.report(name, None, "%s not built" % kg)
        t = self.t
        snap = os.path.join(self.tmp, name + ".snap")
        sock, sock2 = self.sock(name), self.sock(name + "-r")
        g = Guest([self.a.trevo, "run", "--mode", "hw", "--memory", "64M", "--kernel", kg,
                   "--qmp", "unix:" + sock + ",server,nowait"], self.a.verbose)
        g2 = None
        try:
            q = self.greet(g, sock)
            g.expect(rb"count 3\r*\n", 60 * t)
            r = q.cmd("snapshot-save", {"file": snap, "raw": True, "stop": True}, timeout=60 * t)
            if r.get("return") != {}:
                return self.report(name, False, "snapshot-save gave %r" % r)
            g._pump(0.3)
            counts = [int(x) for x in re.findall(rb"count (\d+)\r*\n", g.out)]
            last = max(counts)
            g.kill()
            g2 = Guest([self.a.trevo, "run", "--restore", snap, "--qmp",
                        "unix:" + sock2 + ",server,nowait"], self.a.verbose)
            st = g2.wait(120 * t)
            got = [int(x) for x in re.findall(rb"count (\d+)\r*\n", g2.out)]
            ok = st == 0 and b"counter start" not in g2.out and got and got[0] == last + 1 and \
                got == list(range(last + 1, 61))
            self.report(name, ok, "last before %d, after: status %r, counts %r, stderr %r"
                        % (last, st, got[:5], g2.err[-200:]))
        except (Timeout, Closed, OSError, ValueError, KeyError) as e:
            self.report(name, False, "%s (stderr %r)" % (e, (g2 or g).err[-300:]))
        finally:
            g.kill()
            if g2:
                g2.kill()

    def run(self):
        only = set(self.a.only.split(",")) if self.a.only else None

        def want(part):
            return only is None or part in only

        zsnap = raw4 = None
        if want("full"):
            zsnap = self.round("full-zstd", "full", 2, False, stop_check=True, reset=True)
            raw4 = self.round("full-raw-4cpus", "full", 4, True, again=True)
        if want("para"):
            disk = os.path.join(self.tmp, "disk.img")
            with open(disk, "wb") as f:
                f.truncate(4 << 20)
            psnap = self.round("para-zstd-disk", "para", 2, False, disk=disk)
            if psnap:
                with open(disk, "r+b") as f:
                    f.seek(1 << 20)
                    f.write(b"changed after the snapshot")
                self.refused("changed-disk", ["--restore", psnap], r"disk .* changed")
            else:
                self.report("changed-disk", None, "no para snapshot to restore")
            self.round("para-raw-client", "para", 1, True, client=True, reset=True)
        if want("bad"):
            if zsnap:
                self.bad_files(zsnap, raw4)
            else:
                self.report("bad-files", None, "no snapshot to damage")
        if want("kvm"):
            self.kvm()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trevo", default=os.environ.get("TREVO", os.path.join(ROOT, "build/trevo")))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--firmware", default=DEFAULT_FW)
    ap.add_argument("--kvm-guest", default=os.path.join(ROOT, "build/tests/kvm/counter.bin"))
    ap.add_argument("--timeout-scale", type=float,
                    default=3.0 if os.environ.get("VARIANT") == "san" else 1.0)
    ap.add_argument("--only", help="comma-separated parts: full,para,bad,kvm")
    ap.add_argument("-v", "--verbose", action="store_true", help="copy the console to stderr")
    a = ap.parse_args()
    if not os.path.exists(a.kernel) or not os.path.exists(a.initrd):
        print("SKIP migrate-all: no default guest (make guest)")
        return 0
    r = Runner(a)
    r.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
