#!/usr/bin/env python3
"""Whole-machine boot tests: boot the default RISC-V guest on a pty, drive its
shell, check what Linux sees, then check how the VM ends (poweroff, panic)
and how bad input files are refused. Prints one line per test in the format
of tests/run.sh (PASS name / FAIL name: why / SKIP name: why).

    boot_test.py [--qemu] [--trevo BIN] [--kernel F] [--initrd F]
                 [--firmware F] [--cpus N] [--timeout-scale X] [-v]

With --qemu the same checks run against qemu-system-riscv64 -M virt, to
prove the test logic independently of Trevo. Differences under QEMU: the
riscv virt board has no pvpanic device, so the panic test adds panic=-1 and
-no-reboot and only checks that the panic is reported and QEMU ends; and for
bad input files it only checks a non-zero status and a message on stderr.

Standard library only.
"""
import argparse
import os
import pty
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Timeout(Exception):
    pass


class Guest:
    """A VM process whose stdin/stdout is a pty (as a user's terminal) and
    whose stderr is a pipe, read together with select()."""

    def __init__(self, cmd, verbose=False):
        self.verbose = verbose
        self.out = b""
        self.err = b""
        self.pos = 0          # where the next expect() starts looking
        master, slave = pty.openpty()
        tty.setraw(slave)
        # 80x24 so the guest's line editing behaves.
        import fcntl
        import struct
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.master = master
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master_open = True
        self.err_open = True
        self.status = None

    def _pump(self, timeout):
        fds = []
        if self.master_open:
            fds.append(self.master)
        if self.err_open:
            fds.append(self.proc.stderr)
        if not fds:
            time.sleep(min(timeout, 0.1))
            return
        r, _, _ = select.select(fds, [], [], timeout)
        for f in r:
            if f == self.master:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    data = b""
                if not data:
                    self.master_open = False
                else:
                    self.out += data
                    if self.verbose:
                        sys.stderr.buffer.write(data)
                        sys.stderr.flush()
            else:
                data = os.read(f.fileno(), 65536)
                if not data:
                    self.err_open = False
                else:
                    self.err += data

    def expect(self, pattern, timeout):
        """Wait for regex (bytes) in the output after the last match."""
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no %r within %ds" % (pattern, timeout))
            if self.exited() and not self.master_open:
                raise Timeout("VM ended (status %s) before %r" % (self.status, pattern))
            self._pump(min(left, 0.5))

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        os.write(self.master, data)

    def exited(self):
        if self.status is None:
            self.status = self.proc.poll()
        return self.status is not None

    def wait(self, timeout):
        """Exit status, or None on timeout (output keeps being drained)."""
        deadline = time.monotonic() + timeout
        while not self.exited():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(min(left, 0.2))
        # Drain what is left (briefly: a leftover child could hold the pty).
        end = time.monotonic() + 1.0
        while (self.master_open or self.err_open) and time.monotonic() < end:
            self._pump(0.1)
        return self.status

    def kill(self):
        if not self.exited():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass
        self.proc.stderr.close()

    def tail(self, n=300):
        text = ANSI.sub(b"", self.out[-n:]).decode(errors="replace")
        return " | ".join(line.strip() for line in text.splitlines() if line.strip())[-n:]


class Runner:
    def __init__(self, args):
        self.a = args
        self.results = []

    def cmd(self, append, kernel=None, firmware=None, default_firmware=False):
        """The VMM command line; default_firmware leaves --firmware out on
        Trevo (it must find Debian's fw_jump.bin by itself)."""
        a = self.a
        kernel = kernel or a.kernel
        firmware = firmware or a.firmware
        if a.qemu:
            c = ["qemu-system-riscv64", "-M", "virt", "-smp", str(a.cpus), "-m", "512M",
                 "-nographic", "-bios", firmware, "-kernel", kernel, "-initrd", a.initrd,
                 "-append", append]
            if "panic=" in append:
                c.append("-no-reboot")
            return c
        return [a.trevo, "run", "--mode", "full", "--kernel", kernel, "--initrd", a.initrd] + \
            ([] if default_firmware else ["--firmware", firmware]) + \
            ["--cpus", str(a.cpus), "--memory", "512M", "--append", append]

    def report(self, name, ok, why=""):
        if ok is None:
            line = "SKIP %s: %s" % (name, why)
        elif ok:
            line = "PASS %s" % name
        else:
            line = "FAIL %s: %s" % (name, why)
        print(line, flush=True)
        self.results.append(line)

    # -- the interactive session -------------------------------------------

    def shell(self, g, n, command, timeout):
        """Run one command at the guest shell; its output (between markers
        that only the shell's arithmetic produces, not the echoed line)."""
        start, end = 1000 + 2 * n, 1001 + 2 * n
        g.send("echo '<'$((%d))'>'; %s; echo '<'$((%d))'>'\r" % (start, command, end))
        g.expect(rb"<%d>\r*\n" % start, timeout)
        m = g.expect(rb"(.*?)<%d>" % end, timeout)
        return ANSI.sub(b"", m.group(1)).decode(errors="replace").replace("\r", "").strip()

    def interactive(self):
        a = self.a
        t = a.timeout_scale
        g = Guest(self.cmd("console=ttyS0"), a.verbose)
        names = ["boot-marker", "uname", "nproc", "cpuinfo-isa", "date", "pipeline",
                 "ctrl-c", "poweroff"]
        done = set()
        try:
            t0 = time.monotonic()
            try:
                m = g.expect(rb"TREVO-BOOT-OK uptime=([0-9.]+)", 120 * t)
            except Timeout as e:
                self.report("boot-marker", False, "%s; console: %s; stderr: %s"
                            % (e, g.tail(), g.err.decode(errors="replace").strip()[-200:]))
                done.add("boot-marker")
                raise
            self.report("boot-marker", True)
            done.add("boot-marker")
            if a.verbose:
                print("# booted: guest uptime %s s, host %.1f s"
                      % (m.group(1).decode(), time.monotonic() - t0), file=sys.stderr)
            g.expect(rb"# ", 30 * t)   # the prompt

            def check(name, n, command, test, timeout=30):
                try:
                    out = self.shell(g, n, command, timeout * t)
                except Timeout as e:
                    self.report(name, False, "%s: %s" % (command, e))
                    done.add(name)
                    raise
                ok, why = test(out)
                self.report(name, ok, "%s printed %r%s" % (command, out[-200:],
                                                         "; " + why if why else ""))
                done.add(name)

            check("uname", 1, "uname -m", lambda o: (o == "riscv64", ""))
            check("nproc", 2, "nproc", lambda o: (o == str(a.cpus), "expected %d" % a.cpus))
            check("cpuinfo-isa", 3, "grep isa /proc/cpuinfo",
                  lambda o: (len(re.findall(r"isa\s*:\s*rv64imafdc", o)) == a.cpus,
                             "want one rv64imafdc... line per CPU"))

            def near_host(o):
                try:
                    d = int(o) - time.time()
                except ValueError:
                    return False, "not a number"
                return abs(d) <= 60, "%+.0f s from the host" % d
            check("date", 4, "date +%s", near_host)
            check("pipeline", 5, "seq 1 100 | grep 7 | wc -l", lambda o: (o == "19", "want 19"))

            # Ctrl-C reaches the foreground job only if the shell has the
            # console as its controlling terminal: sleep 600 must end at
            # once, and the rest of its command line must not run.
            g.send("sleep 600; echo '<'$((1012))'>'\r")
            try:
                # The shell has read the line (echoed it); give sleep a moment.
                g.expect(rb"sleep 600; echo [^\n]*\n", 30 * t)
                time.sleep(0.5 * t)
                g.send("\x03")
                out = self.shell(g, 7, "echo back", 60 * t)
                self.report("ctrl-c", out.endswith("back") and b"<1012>" not in g.out,
                            "after Ctrl-C: %r" % out)
            except Timeout as e:
                self.report("ctrl-c", False, "sleep 600 not interrupted: %s" % e)
            done.add("ctrl-c")

            g.send("poweroff\r")
            st = g.wait(60 * t)
            if st is None:
                self.report("poweroff", False, "still running %ds after poweroff; console: %s"
                            % (60 * t, g.tail()))
            else:
                self.report("poweroff", st == 0, "exit status %d" % st)
            done.add("poweroff")
        except Timeout as e:
            for name in names:
                if name not in done:
                    self.report(name, False, "not reached (%s)" % e)
        finally:
            g.kill()

    # -- unattended boot: trevo.run= ----------------------------------------

    def run_command(self):
        t = self.a.timeout_scale
        # Also the one boot without --firmware, which must default to
        # Debian's fw_jump.bin.
        g = Guest(self.cmd('console=ttyS0 quiet trevo.run="uname%20-m;exit 3"',
                           default_firmware=self.a.firmware == DEFAULT_FW), self.a.verbose)
        try:
            g.expect(rb"TREVO-BOOT-OK", 120 * t)
            m = g.expect(rb"(.*?)TREVO-RUN-EXIT (\d+)", 60 * t)
            out = ANSI.sub(b"", m.group(1)).decode(errors="replace")
            st = g.wait(60 * t)
            ok = "riscv64" in out and m.group(2) == b"3" and st == 0
            self.report("trevo-run", ok, "output %r, exit line %s, VM status %s"
                        % (out.strip()[-100:], m.group(2).decode(), st))
        except Timeout as e:
            self.report("trevo-run", False, "%s; console: %s" % (e, g.tail()))
        finally:
            g.kill()

    def max_cpus(self):
        """The kernel's NR_CPUS (8): every hart comes up."""
        t = self.a.timeout_scale
        saved = self.a.cpus
        self.a.cpus = 8
        try:
            g = Guest(self.cmd("console=ttyS0 quiet trevo.run=nproc"), self.a.verbose)
        finally:
            self.a.cpus = saved
        try:
            g.expect(rb"TREVO-BOOT-OK", 180 * t)
            m = g.expect(rb"(.*?)TREVO-RUN-EXIT (\d+)", 60 * t)
            out = ANSI.sub(b"", m.group(1)).decode(errors="replace").split()
            st = g.wait(60 * t)
            self.report("cpus-8", out[-1:] == ["8"] and st == 0,
                        "nproc printed %r, VM status %s" % (" ".join(out)[-50:], st))
        except Timeout as e:
            self.report("cpus-8", False, "%s; console: %s" % (e, g.tail()))
        finally:
            g.kill()

    # -- a kernel panic ends the VM with a failure ---------------------------

    def panic(self):
        t = self.a.timeout_scale
        append = "console=ttyS0 init=/nonexistent"
        if self.a.qemu:
            append += " panic=-1"
        g = Guest(self.cmd(append), self.a.verbose)
        try:
            st = g.wait(150 * t)
            panicked = b"Kernel panic" in g.out
            if st is None:
                self.report("panic", False, "still running after %ds (panic seen: %s); "
                            "console: %s" % (150 * t, panicked, g.tail()))
            elif self.a.qemu:
                self.report("panic", panicked, "QEMU ended %d; console: %s" % (st, g.tail()))
            else:
                self.report("panic", st != 0 and panicked, "exit status %d, panic on console: "
                            "%s" % (st, panicked))
        finally:
            g.kill()

    # -- bad input files -----------------------------------------------------

    def bad_file(self, name, **files):
        with tempfile.TemporaryDirectory() as d:
            paths = {}
            for what, content in files.items():
                paths[what] = os.path.join(d, what)
                with open(paths[what], "wb") as f:
                    f.write(content)
            c = self.cmd("console=ttyS0", **paths)
            limit = 10 if self.a.qemu else 30 * self.a.timeout_scale
            try:
                p = subprocess.run(c, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=limit)
            except subprocess.TimeoutExpired:
                if self.a.qemu:
                    self.report(name, None, "QEMU accepts this file and runs it")
                else:
                    self.report(name, False, "still running after %ds" % limit)
                return
            err = p.stderr.decode(errors="replace")
            # ASan/UBSan reports would be extra lines; they are failures too.
            lines = [ln for ln in err.splitlines() if ln.strip()]
            if self.a.qemu:
                ok = p.returncode != 0 and len(lines) >= 1
            else:
                ok = p.returncode == 2 and len(lines) == 1
            self.report(name, ok, "exit status %d, stderr %r" % (p.returncode, err[-300:]))

    def bad_files(self):
        rnd = random.Random(7)
        garbage = bytes(rnd.getrandbits(8) for _ in range(256 * 1024))
        # No RISC-V Image header ("RSC\x05" at 0x38) and no ELF header.
        self.bad_file("corrupt-kernel", kernel=garbage)
        # An empty firmware file cannot be a firmware.
        self.bad_file("corrupt-firmware", firmware=b"")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qemu", action="store_true", help="run the checks on qemu-system-riscv64")
    ap.add_argument("--trevo", default=os.environ.get("TREVO", os.path.join(ROOT, "build/trevo")))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--firmware", default=DEFAULT_FW)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--timeout-scale", type=float,
                    default=3.0 if os.environ.get("VARIANT") == "san" else 1.0)
    ap.add_argument("--only", help="comma-separated parts: shell,run,smp,panic,files")
    ap.add_argument("-v", "--verbose", action="store_true", help="copy the console to stderr")
    a = ap.parse_args()

    r = Runner(a)
    parts = [("shell", r.interactive, ["boot-marker", "uname", "nproc", "cpuinfo-isa", "date",
                                       "pipeline", "ctrl-c", "poweroff"]),
             ("run", r.run_command, ["trevo-run"]),
             ("smp", r.max_cpus, ["cpus-8"]),
             ("panic", r.panic, ["panic"]),
             ("files", r.bad_files, ["corrupt-kernel", "corrupt-firmware"])]
    if a.only:
        want = a.only.split(",")
        parts = [p for p in parts if p[0] in want]
    missing = None
    for path, what in ((a.kernel, "guest kernel"), (a.initrd, "guest initramfs"),
                       (a.firmware, "firmware")):
        if not os.path.exists(path):
            missing = "%s %s missing (make guest)" % (what, path)
    if not missing and not a.qemu and not os.access(a.trevo, os.X_OK):
        missing = "%s not built" % a.trevo
    for name, fn, tests in parts:
        if missing:
            for t in tests:
                r.report(t, None, missing)
            continue
        fn()
    return 1 if any(x.startswith("FAIL") for x in r.results) else 0


if __name__ == "__main__":
    sys.exit(main())
