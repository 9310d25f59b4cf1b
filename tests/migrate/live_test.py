#!/usr/bin/env python3
"""Live migration end to end between two network namespaces standing for two
hosts (a veth pair, 10.77.N.1 and 10.77.N.2): the default RISC-V guest keeps
appending to a buffer in its RAM (tmpfs) and printing a running checksum of
it while it moves; the sequence must go on on the destination without a gap
or a wrong value. Also: 4 harts, para mode with a shared disk, a KVM test
guest counting, a guest dirtying memory fast (converges, or is reported as
not converging), migrate_cancel, a cut connection (either side killed),
bad input (malformed URI, port in use, a foreign stream version, a refusing
destination, a hostile stream). One line per test, as tests/run.sh wants.

    live_test.py [--trevo BIN] [--kernel F] [--initrd F] [--firmware F]
                 [--kvm-guest F] [--timeout-scale X] [--only PARTS] [-v]

Standard library only; needs root for `ip netns` (skipped otherwise).
"""
import argparse
import hashlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "boot"))
sys.path.insert(0, os.path.join(ROOT, "tests", "qmp"))
sys.dont_write_bytecode = True
from boot_test import DEFAULT_FW, Guest, Timeout  # noqa: E402
from qmp_test import Closed, Runner as QmpRunner  # noqa: E402

TICK = re.compile(rb"tick (\d+) ([0-9a-f]{8})\r*\n")
# In the guest: append the count to /tmp/buf (RAM) and print the count and
# the first 8 hex digits of the md5 of the whole buffer.
TICKER = ("(i=0; while :; do i=$((i+1)); echo $i >> /tmp/buf; "
          "echo tick $i $(md5sum < /tmp/buf | cut -c1-8); done) &")


# Rewrites 16 MiB of guest RAM without end: dd's buffer, which the kernel
# fills from a 17 MiB file in tmpfs (not zeros, so every page costs 4 KiB).
DIRTIER = ("for i in 1 2 3 4 5 6 7 8 9 10; do cat /bin/busybox; done > /tmp/src; "
           "(while :; do dd if=/tmp/src of=/dev/null bs=16M 2>/dev/null; done) &")


def expected_md5(n):
    return hashlib.md5("".join("%d\n" % i for i in range(1, n + 1)).encode()).hexdigest()[:8]


class Runner(QmpRunner):
    def __init__(self, a):
        super().__init__(a)
        self.ns = []
        self.port = 4400 + os.getpid() % 500

    def report(self, name, ok, why=""):
        if ok is None:
            line = "SKIP migrate-%s: %s" % (name, why)
        elif ok:
            line = "PASS migrate-%s" % name
        else:
            line = "FAIL migrate-%s: %s" % (name, why)
        print(line, flush=True)
        self.results.append(line)

    # -- two hosts -------------------------------------------------------------

    def hosts(self):
        """Two namespaces joined by a veth pair; returns (nsA, nsB, addrB)."""
        k = os.getpid() % 200 + 20
        a, b = "trevo-mig-a%d" % os.getpid(), "trevo-mig-b%d" % os.getpid()
        cmds = [["ip", "netns", "add", a], ["ip", "netns", "add", b],
                ["ip", "link", "add", "tmv%da" % k, "netns", a, "type", "veth", "peer",
                 "name", "tmv%db" % k, "netns", b],
                ["ip", "-n", a, "addr", "add", "10.77.%d.1/24" % k, "dev", "tmv%da" % k],
                ["ip", "-n", b, "addr", "add", "10.77.%d.2/24" % k, "dev", "tmv%db" % k],
                ["ip", "-n", a, "link", "set", "tmv%da" % k, "up"],
                ["ip", "-n", b, "link", "set", "tmv%db" % k, "up"],
                ["ip", "-n", a, "link", "set", "lo", "up"],
                ["ip", "-n", b, "link", "set", "lo", "up"]]
        self.ns = [a, b]
        for c in cmds:
            p = subprocess.run(c, capture_output=True)
            if p.returncode:
                raise OSError("%s: %s" % (" ".join(c), p.stderr.decode(errors="replace")))
        return a, b, "10.77.%d.2" % k

    def cleanup(self):
        for n in self.ns:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)

    def in_ns(self, ns, cmd):
        return ["ip", "netns", "exec", ns] + cmd

    def wait_listen(self, ns, port, g, timeout=20):
        """The destination listens (ss, so that no probe takes its one
        connection)."""
        deadline = time.monotonic() + timeout * self.t
        while time.monotonic() < deadline:
            p = subprocess.run(self.in_ns(ns, ["ss", "-Hltn", "sport = :%d" % port]),
                               capture_output=True)
            if p.stdout.strip():
                return
            if g.exited():
                raise Timeout("destination ended (status %s, stderr %r)" % (g.status, g.err))
            g._pump(0.05)
        raise Timeout("destination not listening on port %d" % port)

    # -- commands ----------------------------------------------------------------

    def src_cmd(self, mode, cpus, sock, extra=()):
        a = self.a
        c = [a.trevo, "run", "--mode", mode, "--kernel", a.kernel, "--initrd", a.initrd,
             "--cpus", str(cpus), "--memory", "512M", "--qmp", "unix:" + sock + ",server,nowait"]
        if mode == "full":
            c += ["--firmware", a.firmware, "--append", "console=ttyS0"]
        return c + list(extra)

    def migrate_wait(self, q, g, timeout):
        """query-migrate until it ends; the last answer (the source may
        end first: then None)."""
        deadline = time.monotonic() + timeout * self.t
        last = None
        while time.monotonic() < deadline:
            try:
                r = q.cmd("query-migrate")
            except (Closed, OSError):
                return last
            st = r.get("return", {}).get("status")
            last = r.get("return")
            if st in ("completed", "failed", "cancelled"):
                return last
            g._pump(0.05)
        raise Timeout("migration still %r after %ds" % (last, timeout))

    def dest_guest(self, ns, port, sock2):
        return Guest(self.in_ns(ns, [self.a.trevo, "run", "--incoming", "tcp:0.0.0.0:%d" % port,
                                     "--qmp", "unix:" + sock2 + ",server,nowait"]),
                     self.a.verbose)

    def ticks(self, data):
        return [(int(n), h.decode()) for n, h in TICK.findall(data)]

    # -- the guest moves, its checksum sequence goes on ----------------------------

    def live(self, name, mode, cpus, disk=None, dirty=False):
        t = self.t
        nsa, nsb, addr = self.hosts_once()
        port = self.next_port()
        sock, sock2 = self.sock(name), self.sock(name + "-d")
        extra = ["--disk", disk] if disk else []
        g = Guest(self.in_ns(nsa, self.src_cmd(mode, cpus, sock, extra)), self.a.verbose)
        g2 = None
        try:
            q = self.connect(g, sock)
            q.greet(10 * t)
            self.boot(g)
            mark = "mark-%s-%d" % (name, os.getpid())
            self.shell(g, "echo %s > /tmp/marker" % mark)
            if disk:
                self.shell(g, "echo disk-%s | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null;"
                           " sync" % name)
            if dirty:
                g.send(DIRTIER + "\r")
                time.sleep(1)
            g.send(TICKER + "\r")
            g.expect(rb"tick 20 ", 60 * t)
            g2 = self.dest_guest(nsb, port, sock2)
            self.wait_listen(nsb, port, g2)
            r = q.cmd("migrate", {"uri": "tcp:%s:%d" % (addr, port)})
            if r.get("return") != {}:
                return self.report(name, False, "migrate gave %r" % r)
            info = self.migrate_wait(q, g, 120)
            st = g.wait(30 * t)
            if st != 0:
                return self.report(name, False, "source exit status %r after %r (stderr %r)"
                                   % (st, info, g.err[-300:]))
            g2.expect(rb"tick \d+ [0-9a-f]{8}\r*\n(.*?)tick \d+ [0-9a-f]{8}\r*\n", 60 * t)
            time.sleep(0.5)
            g2._pump(0.2)
            src, dst = self.ticks(g.out), self.ticks(g2.out)
            bad = [(n, h) for n, h in src + dst if h != expected_md5(n)]
            if bad:
                return self.report(name, False, "wrong checksums %r" % bad[:3])
            if not dst or not src or dst[0][0] not in (src[-1][0] + 1, src[-1][0] + 2) or \
                    [n for n, _ in dst] != list(range(dst[0][0], dst[0][0] + len(dst))):
                return self.report(name, False, "source ended at %r, destination went %r"
                                   % (src[-1:], [n for n, _ in dst][:5]))
            g2.send("kill %1; kill %2\r")
            out = self.shell(g2, "sleep 0.5; cat /tmp/marker", 60)
            if mark not in out.splitlines():
                return self.report(name, False, "destination's /tmp/marker %r" % out)
            if disk:
                out = self.shell(g2, "dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 40")
                if ("disk-%s" % name) not in out:
                    return self.report(name, False, "disk read back %r" % out)
            nproc = self.shell(g2, "nproc")
            if nproc.strip().split()[-1:] != [str(cpus)]:
                return self.report(name, False, "destination nproc %r" % nproc)
            q2 = self.connect(g2, sock2)
            q2.greet(10 * t)
            if q2.cmd("query-status").get("return", {}).get("status") != "running":
                return self.report(name, False, "destination not running")
            q2.cmd("quit")
            st2 = g2.wait(30 * t)
            done = re.search(rb"migration to \S+ completed: (.*)", g.err)
            ok = done and st2 == 0
            self.report(name, ok, "info %r, stderr %r, destination status %r"
                        % (info, g.err[-200:], st2))
            if ok:
                print("# %s: %s" % (name, done.group(1).decode()), flush=True)
        except (Timeout, Closed, OSError, ValueError, KeyError, AttributeError, TypeError) as e:
            self.report(name, False, "%s (stderr %r / %r)" % (e, g.err[-300:],
                                                            g2.err[-300:] if g2 else b""))
        finally:
            g.kill()
            if g2:
                g2.kill()

    _hosts = None

    def hosts_once(self):
        if not self._hosts:
            self._hosts = self.hosts()
        return self._hosts

    def next_port(self):
        self.port += 1
        return self.port

    # -- failures: the source goes on ----------------------------------------------

    def failure(self, name, how, attempt=1):
        """how: cancel, kill-dest, kill-source, no-converge."""
        t = self.t
        nsa, nsb, addr = self.hosts_once()
        port = self.next_port()
        sock, sock2 = self.sock(name), self.sock(name + "-d")
        g = Guest(self.in_ns(nsa, self.src_cmd("full", 1, sock)), self.a.verbose)
        g2 = None
        try:
            q = self.connect(g, sock)
            q.greet(10 * t)
            self.boot(g)
            if how == "no-converge":
                # The kernel clears dd's 16 MiB buffer again and again.
                g.send(DIRTIER + "\r")
                time.sleep(2)
                # 16 MiB rewritten in far less than the 0.5 s that 32 MiB/s
                # needs to send it: it cannot fit any downtime, let alone 0.
                q.cmd("migrate-set-parameters", {"downtime-limit": 0, "max-bandwidth": 32 << 20})
            else:
                # 2 MiB/s: round 0 takes seconds, time enough to interfere.
                q.cmd("migrate-set-parameters", {"max-bandwidth": 2 << 20})
            p = q.cmd("query-migrate-parameters").get("return", {})
            g2 = self.dest_guest(nsb, port, sock2)
            self.wait_listen(nsb, port, g2)
            r = q.cmd("migrate", {"uri": "tcp:%s:%d" % (addr, port)})
            if r.get("return") != {}:
                return self.report(name, False, "migrate gave %r" % r)
            if how != "no-converge":
                time.sleep(1.5)
                mid = q.cmd("query-migrate").get("return", {})
                if mid.get("status") != "active" or not mid["ram"]["transferred"]:
                    return self.report(name, False, "mid-way query-migrate %r" % mid)
                if how == "cancel":
                    q.cmd("migrate_cancel")
                elif how == "kill-dest":
                    g2.kill()
                elif how == "kill-source":
                    g.kill()
                    st2 = g2.wait(30 * t)
                    lines = [x for x in g2.err.decode(errors="replace").splitlines() if x]
                    ok = st2 == 2 and len(lines) == 1 and "migration" in lines[0] and \
                        b"tick" not in g2.out and b"# " not in g2.out
                    return self.report(name, ok, "destination status %r, stderr %r"
                                       % (st2, lines))
            info = self.migrate_wait(q, g, 120)
            want = {"cancel": "cancelled", "kill-dest": "failed", "no-converge": "failed"}[how]
            if how == "no-converge" and (info is None or info.get("status") != "failed"):
                # The last answer came before the end (the source ends as
                # soon as the destination runs): wait for it.
                g.wait(30 * t)
            if how == "no-converge" and g.exited() and b"completed" in g.err:
                # A round in which the guest got no CPU (this host is
                # shared) leaves nothing dirty, which is convergence even
                # for a limit of 0: then the guest must run on the other
                # side, as the issue allows ("converges or reports that it
                # cannot").
                out = self.shell(g2, "echo moved", 60)
                self.report(name, out.endswith("moved"), "converged; destination printed %r"
                            % out)
                if out.endswith("moved"):
                    print("# %s: converged after all: %s" % (name, g.err.decode().strip()),
                          flush=True)
                return None
            if not info or info.get("status") != want:
                return self.report(name, False, "query-migrate %r, wanted %s (stderr %r)"
                                   % (info, want, g.err[-300:]))
            if how == "no-converge" and "converge" not in info.get("error-desc", ""):
                return self.report(name, False, "error-desc %r" % info.get("error-desc"))
            alive, why = self.alive(g, q)
            if not alive:
                return self.report(name, False, "source after the failure: %s" % why)
            if how != "kill-dest":
                st2 = g2.wait(30 * t)
                lines = [x for x in g2.err.decode(errors="replace").splitlines() if x]
                if st2 != 2 or len(lines) != 1:
                    return self.report(name, False, "destination status %r, stderr %r"
                                       % (st2, lines))
            # The dirty log is off again: a second migration can start.
            if how == "cancel":
                g3 = self.dest_guest(nsb, port + 100, sock2 + "3")
                try:
                    self.wait_listen(nsb, port + 100, g3)
                    q.cmd("migrate-set-parameters", {"max-bandwidth": 0})
                    q.cmd("migrate", {"uri": "tcp:%s:%d" % (addr, port + 100)})
                    info = self.migrate_wait(q, g, 120)
                    st = g.wait(30 * t)
                    if st != 0 or b"completed" not in g.err:
                        return self.report(name, False, "migration after cancel: %r, %r"
                                           % (info, st))
                    out = self.shell(g3, "echo moved", 60)
                    if not out.endswith("moved"):
                        return self.report(name, False, "moved guest printed %r" % out)
                finally:
                    g3.kill()
            self.report(name, True, "")
            del p
        except (Timeout, Closed, OSError, ValueError, KeyError, AttributeError, TypeError) as e:
            self.report(name, False, "%s (stderr %r / %r)" % (e, g.err[-300:],
                                                            g2.err[-300:] if g2 else b""))
        finally:
            g.kill()
            if g2:
                g2.kill()

    # -- KVM: a counting guest goes on --------------------------------------------

    def kvm(self):
        name = "live-kvm-counter"
        kg = self.a.kvm_guest
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return self.report(name, None, "no usable /dev/kvm")
        if not os.path.exists(kg):
            return self.report(name, None, "%s not built" % kg)
        t = self.t
        nsa, nsb, addr = self.hosts_once()
        port = self.next_port()
        sock, sock2 = self.sock(name), self.sock(name + "-d")
        g = Guest(self.in_ns(nsa, [self.a.trevo, "run", "--mode", "hw", "--memory", "64M",
                                   "--kernel", kg, "--qmp", "unix:" + sock + ",server,nowait"]),
                  self.a.verbose)
        g2 = None
        try:
            q = self.connect(g, sock)
            q.greet(10 * t)
            g.expect(rb"count 3\r*\n", 60 * t)
            g2 = self.dest_guest(nsb, port, sock2)
            self.wait_listen(nsb, port, g2)
            r = q.cmd("migrate", {"uri": "tcp:%s:%d" % (addr, port)})
            if r.get("return") != {}:
                return self.report(name, False, "migrate gave %r" % r)
            info = self.migrate_wait(q, g, 60)
            st = g.wait(30 * t)
            st2 = g2.wait(120 * t)
            before = [int(x) for x in re.findall(rb"count (\d+)\r*\n", g.out)]
            after = [int(x) for x in re.findall(rb"count (\d+)\r*\n", g2.out)]
            ok = st == 0 and st2 == 0 and b"completed" in g.err and \
                before and after and after == list(range(before[-1] + 1, 61))
            self.report(name, ok, "source %r %r counts ..%r, destination %r counts %r.. "
                        "stderr %r" % (st, info, before[-2:], st2, after[:3], g2.err[-200:]))
        except (Timeout, Closed, OSError, ValueError, KeyError, TypeError) as e:
            self.report(name, False, "%s (stderr %r)" % (e, (g2 or g).err[-300:]))
        finally:
            g.kill()
            if g2:
                g2.kill()

    # -- NBD: a disk on a network block device, shared storage for migration ------------

    def nbd(self):
        if not shutil.which("nbdkit"):
            return self.report("nbd", None, "nbdkit not installed (scripts/deps.sh)")
        nsa, _, addr = self.hosts_once()
        server = addr[:-1] + "1"   # the source's side of the veth pair
        port = self.next_port()
        img = os.path.join(self.tmp, "nbd.img")
        with open(img, "wb") as f:
            f.truncate(8 << 20)
        pidfile = os.path.join(self.tmp, "nbdkit.pid")
        p = subprocess.run(self.in_ns(nsa, ["nbdkit", "-P", pidfile, "-i", server, "-p",
                                            str(port), "file", "file=" + img]),
                           capture_output=True)
        if p.returncode:
            return self.report("nbd", False, "nbdkit: %r" % p.stderr)
        try:
            deadline = time.monotonic() + 10 * self.t
            while not os.path.exists(pidfile) and time.monotonic() < deadline:
                time.sleep(0.05)
            uri = "nbd://%s:%d/" % (server, port)
            # The guest writes through NBD; the image on the server has it.
            cmd = self.in_ns(nsa, [self.a.trevo, "run", "--mode", "para", "--kernel",
                                   self.a.kernel, "--initrd", self.a.initrd, "--disk", uri,
                                   "--append", "trevo.run=echo%20nbd-" + str(os.getpid()) +
                                   "|dd%20of=/dev/vda%20conv=fsync;blockdev%20--getsize64"
                                   "%20/dev/vda"])
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=120 * self.t)
            with open(img, "rb") as f:
                head = f.read(32)
            ok = r.returncode == 0 and head.startswith(b"nbd-%d\n" % os.getpid()) and \
                b"8388608" in r.stdout
            self.report("nbd-disk", ok, "status %d, image starts %r, stderr %r"
                        % (r.returncode, head, r.stderr[-200:]))
            bad = subprocess.run([self.a.trevo, "run", "--mode", "para", "--kernel", self.a.kernel,
                                  "--initrd", self.a.initrd, "--disk", "nbd://127.0.0.1:1/"],
                                 stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            lines = [x for x in bad.stderr.decode(errors="replace").splitlines() if x]
            self.report("nbd-unreachable", bad.returncode == 2 and len(lines) == 1 and
                        "refused" in lines[0], "status %d, %r" % (bad.returncode, lines))
            # Shared storage: both sides use the same export.
            self.live("live-para-nbd-shared-storage", "para", 2, disk=uri)
        finally:
            try:
                os.kill(int(open(pidfile).read()), 15)
            except (OSError, ValueError):
                pass

    # -- host-side choices beside --restore: the tap interface's name -------------------

    def tap_override(self):
        name = "restore-tap-override"
        t = self.t
        nsa, _, _ = self.hosts_once()
        sock, sock2 = self.sock(name), self.sock(name + "-r")
        snap = os.path.join(self.tmp, "tap.snap")
        ta, tb = "trvA%d" % (os.getpid() % 10000), "trvB%d" % (os.getpid() % 10000)

        def links():
            p = subprocess.run(["ip", "-n", nsa, "-o", "link", "show"], capture_output=True)
            return p.stdout.decode(errors="replace")
        g = Guest(self.in_ns(nsa, self.src_cmd("para", 1, sock, ["--net", "tap:" + ta])),
                  self.a.verbose)
        g2 = None
        try:
            q = self.connect(g, sock)
            q.greet(10 * t)
            self.boot(g)
            if ta + ":" not in links():
                return self.report(name, False, "source's tap %s not there: %s" % (ta, links()))
            r = q.cmd("snapshot-save", {"file": snap, "raw": True}, timeout=120 * t)
            if r.get("return") != {}:
                return self.report(name, False, "snapshot-save gave %r" % r)
            g.kill()
            # More taps than the machine has: one line, status 2.
            p = subprocess.run(self.in_ns(nsa, [self.a.trevo, "run", "--restore", snap, "--net",
                                                "tap:x1", "--net", "tap:x2"]),
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60 * t)
            lines = [x for x in p.stderr.decode(errors="replace").splitlines() if x]
            if p.returncode != 2 or len(lines) != 1 or "only 1 tap" not in lines[0]:
                return self.report(name, False, "two taps for one: %d %r" % (p.returncode, lines))
            g2 = Guest(self.in_ns(nsa, [self.a.trevo, "run", "--restore", snap, "--net",
                                        "tap:" + tb, "--qmp", "unix:" + sock2 + ",server,nowait"]),
                       self.a.verbose)
            q2 = self.connect(g2, sock2)
            q2.greet(10 * t)
            out = self.shell(g2, "echo restored", 60)
            now = links()
            ok = out.endswith("restored") and tb + ":" in now and ta + ":" not in now
            q2.cmd("quit")
            st = g2.wait(30 * t)
            self.report(name, ok and st == 0, "shell %r, links %r, status %r" % (out, now, st))
        except (Timeout, Closed, OSError, ValueError, KeyError) as e:
            self.report(name, False, "%s (stderr %r)" % (e, (g2 or g).err[-300:]))
        finally:
            g.kill()
            if g2:
                g2.kill()

    # -- bad input ---------------------------------------------------------------------

    def refused(self, name, cmd, want, stdin=None):
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60 * self.t)
        lines = [x for x in p.stderr.decode(errors="replace").splitlines() if x.strip()]
        ok = p.returncode == 2 and len(lines) == 1 and not p.stdout and re.search(want, lines[0])
        self.report(name, bool(ok), "status %d, stderr %r" % (p.returncode, lines))

    def fake_source(self, port, data, name, want):
        """Send data to a destination on the host's loopback; it must refuse
        with one line and status 2, and say why to the sender."""
        t = self.t
        cmd = [self.a.trevo, "run", "--incoming", "tcp:127.0.0.1:%d" % port]
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        answer = b""
        try:
            deadline = time.monotonic() + 10 * t
            s = None
            while time.monotonic() < deadline and p.poll() is None:
                ss = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True)
                if ss.stdout.strip():
                    s = socket.create_connection(("127.0.0.1", port), timeout=10 * t)
                    break
                time.sleep(0.05)
            if s:
                try:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    while True:
                        b = s.recv(4096)
                        if not b:
                            break
                        answer += b
                except OSError:
                    pass
                s.close()
            out, err = p.communicate(timeout=30 * t)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        lines = [x for x in err.decode(errors="replace").splitlines() if x.strip()]
        ok = p.returncode == 2 and len(lines) == 1 and not out and re.search(want, lines[0])
        self.report(name, bool(ok), "status %r, stderr %r, answer %r"
                    % (p.returncode, lines, answer[:60]))
        return answer

    def capture_stream(self, port, sock):
        """A fake destination: the header a real source sends, and the
        first records after an accepting answer."""
        t = self.t
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
        ls.listen(1)
        g = Guest([self.a.trevo, "run", "--mode", "hw", "--memory", "64M",
                   "--kernel", self.a.kvm_guest, "--qmp", "unix:" + sock + ",server,nowait"]
                  if os.access("/dev/kvm", os.W_OK) and os.path.exists(self.a.kvm_guest) else
                  self.src_cmd("para", 1, sock), self.a.verbose)
        try:
            q = self.connect(g, sock)
            q.greet(10 * t)
            q.cmd("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
            ls.settimeout(10 * t)
            c, _ = ls.accept()
            c.settimeout(10 * t)
            hdr = b""
            while len(hdr) < 24:
                hdr += c.recv(24 - len(hdr))
            n = struct.unpack("<I", hdr[16:20])[0]
            conf = b""
            while len(conf) < n:
                conf += c.recv(n - len(conf))
            c.sendall(b"TREVOACK" + struct.pack("<II", 0, 0))
            recs = b""
            while len(recs) < 4096:
                recs += c.recv(65536)
            c.close()
            info = self.migrate_wait(q, g, 30)
            alive = q.cmd("query-status").get("return", {}).get("status")
            return hdr + conf, recs, info, alive
        finally:
            g.kill()
            ls.close()

    def bad_input(self):
        t = self.t
        tr = self.a.trevo
        self.refused("incoming-malformed-uri", [tr, "run", "--incoming", "tcp:nohost"],
                     r"incoming.*bad address|--incoming")
        self.refused("incoming-bad-scheme", [tr, "run", "--incoming", "udp:1.2.3.4:5"],
                     r"bad --incoming")
        self.refused("incoming-with-machine-option",
                     [tr, "run", "--incoming", "tcp:127.0.0.1:1", "--memory", "1G"],
                     r"--incoming: .*--memory")
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.refused("incoming-port-in-use",
                     [tr, "run", "--incoming", "tcp:127.0.0.1:%d" % busy.getsockname()[1]],
                     r"in use")
        busy.close()
        # A source with a newer stream format: refused, and told why.
        hdr = b"TREVOMIG" + struct.pack("<IIII", 2, 1, 0, 0)
        ans = self.fake_source(self.next_port(), hdr, "incoming-version-mismatch", r"format 2")
        if ans and b"format 2" not in ans:
            self.report("incoming-version-mismatch-answer", False, "answer %r" % ans)
        self.fake_source(self.next_port(), os.urandom(64), "incoming-not-a-stream",
                         r"not a Trevo migration stream")
        # A real header, then hostile records.
        port = self.next_port()
        try:
            header, recs, info, alive = self.capture_stream(port, self.sock("capture"))
        except (Timeout, Closed, OSError, struct.error) as e:
            return self.report("capture-stream", False, str(e))
        # The fake destination hung up after the first records: the source
        # failed and goes on.
        self.report("source-survives-cut-stream",
                    info and info.get("status") == "failed" and alive == "running",
                    "query-migrate %r, VM %r" % (info, alive))

        def rec(kind, count, payload, crc=None):
            c = zlib.crc32(payload) if crc is None else crc
            return struct.pack("<IIQII", kind, count, len(payload), c, 0) + payload
        page = b"\x11" * 4096
        self.fake_source(self.next_port(), header + rec(1, 1, struct.pack("<Q", 1 << 50) + page),
                         "hostile-page-outside-ram", r"not guest RAM")
        self.fake_source(self.next_port(), header + rec(1, 1, struct.pack("<Q", 0x1000) + page,
                                                        crc=1), "hostile-bad-checksum",
                         r"checksum")
        self.fake_source(self.next_port(), header + struct.pack("<IIQII", 1, 100000, 1 << 40, 0, 0),
                         "hostile-huge-record", r"corrupt stream")
        self.fake_source(self.next_port(), header + rec(5, 0, b""), "hostile-end-too-early",
                         r"incomplete stream")
        self.fake_source(self.next_port(), header + recs[:3000], "hostile-truncated",
                         r"stream cut|corrupt")
        b = bytearray(header)
        b[30] ^= 0xff
        self.fake_source(self.next_port(), bytes(b), "hostile-header-checksum", r"checksum")
        # The source side: a bad URI is refused at once; a refusing peer.
        sock = self.sock("src-bad")
        g = Guest(self.src_cmd("para", 1, sock), self.a.verbose)
        try:
            q = self.connect(g, sock)
            q.greet(10 * t)
            r = q.cmd("migrate", {"uri": "tcp:999.1.1.1"})
            self.report("migrate-malformed-uri", "error" in r and "bad uri" in
                        r["error"].get("desc", ""), "gave %r" % r)
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            port = self.next_port()
            ls.bind(("127.0.0.1", port))
            ls.listen(1)
            q.cmd("migrate", {"uri": "tcp:127.0.0.1:%d" % port})
            ls.settimeout(10 * t)
            c, _ = ls.accept()
            c.recv(65536)
            msg = b"stream format 1, this Trevo reads format 7"
            c.sendall(b"TREVOACK" + struct.pack("<II", 1, len(msg)) + msg)
            c.close()
            ls.close()
            info = self.migrate_wait(q, g, 30)
            st = q.cmd("query-status").get("return", {}).get("status")
            self.report("migrate-refused", info and info.get("status") == "failed" and
                        "format 7" in info.get("error-desc", "") and st == "running",
                        "query-migrate %r, VM %r" % (info, st))
            r = q.cmd("migrate", {"uri": "tcp:127.0.0.1:1"})
            info = self.migrate_wait(q, g, 30)
            self.report("migrate-connection-refused", info and info.get("status") == "failed"
                        and "connect" in info.get("error-desc", ""), "query-migrate %r" % info)
            q.cmd("quit")
            g.wait(30 * t)
        except (Timeout, Closed, OSError) as e:
            self.report("migrate-source-bad-input", False, str(e))
        finally:
            g.kill()

    def run(self):
        only = set(self.a.only.split(",")) if self.a.only else None

        def want(part):
            return only is None or part in only

        try:
            if os.geteuid() != 0 or not shutil.which("ip"):
                self.report("live", None, "needs root and ip(8) for network namespaces")
            else:
                if want("live"):
                    self.live("live-full-2cpus", "full", 2)
                    self.live("live-full-4cpus", "full", 4)
                    # Under a write-heavy guest it converges within the
                    # default downtime-limit (300 ms).
                    self.live("live-dirty-converges", "full", 2, dirty=True)
                if want("para"):
                    disk = os.path.join(self.tmp, "shared.img")
                    with open(disk, "wb") as f:
                        f.truncate(4 << 20)
                    self.live("live-para-shared-disk", "para", 2, disk=disk)
                if want("fail"):
                    self.failure("live-cancel", "cancel")
                    self.failure("live-cut-destination", "kill-dest")
                    self.failure("live-cut-source", "kill-source")
                    self.failure("live-dirty-no-converge", "no-converge")
                if want("kvm"):
                    self.kvm()
                if want("tap"):
                    self.tap_override()
                if want("nbd"):
                    self.nbd()
            if want("bad"):
                self.bad_input()
        finally:
            self.cleanup()
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
    ap.add_argument("--only", help="comma-separated parts: live,para,fail,kvm,tap,nbd,bad")
    ap.add_argument("-v", "--verbose", action="store_true", help="copy the console to stderr")
    a = ap.parse_args()
    if not os.path.exists(a.kernel) or not os.path.exists(a.initrd):
        print("SKIP migrate-live: no default guest (make guest)")
        return 0
    r = Runner(a)
    r.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
