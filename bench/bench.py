#!/usr/bin/env python3
"""trevo bench: one set of workloads under every kind of virtualization this
host can run, side by side with the host itself.

    trevo bench [--modes M,...] [--workloads W,...] [--repeat N] [--quick]
                [--json FILE] [--out DIR] [--boot-timeout S] [-v]

Modes (columns; see MODES): native (the host itself), full, para, hw
(Trevo's three modes), qemu-tcg and qemu-kvm (reference columns, where
installed). Workloads (rows; see WORKLOADS): int fp membw memlat (CPU and
memory: guest/workloads.h, run on bare metal in every mode so that a mode
which cannot boot Linux here still runs them), syscall pipe forkexec
pagefault diskread diskwrite diskrand tcp (inside Linux: guest/bench.c),
boot (to init), and per mode the monitor's peak RSS and host CPU seconds.

Every figure comes from a run of this invocation. Each command's result
carries a checksum that is checked against the host's own native run or
the workload's definition; a wrong result fails the bench (exit 1). What
cannot run is shown as "not run" with the reason found by trying it.
Writes DIR/bench.txt (the table and the counters), DIR/bench.md (the table
in Markdown), DIR/bench.json, DIR/bench.svg and DIR/bench.png.
"""
import argparse
import json
import os
import platform
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MASK64 = (1 << 64) - 1


class NotRun(Exception):
    """This mode cannot run this workload here; the message says why."""


class WrongResult(Exception):
    """A workload computed something else than it should: the bench fails."""


# --- workloads ---------------------------------------------------------------

def xorshift(x):
    x ^= (x << 13) & MASK64
    x ^= x >> 7
    x ^= (x << 17) & MASK64
    return x


def expect_pipe(n):
    return sum((i + 1) & 0xff for i in range(n))


def expect_diskrand(n):
    x, s = 0x9e3779b97f4a7c15, 0
    for _ in range(n):
        x = xorshift(x)
        s += 512 + x % 4096
    return s & MASK64


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & MASK64
    return h


class Workload:
    """One row. kind: 'bare' (guest/workloads.h, bare-metal guests in VMs,
    trevo-bench natively) or 'os' (trevo-bench inside Linux). base: the
    first number of units tried; unit, scale: how AMOUNT/second becomes the
    figure; lower: the figure is a time (lower is better). expect(units,
    ref): the checksum it must return (ref: the native one-unit checksum)."""

    def __init__(self, name, kind, label, unit, base, expect, scale=1.0, lower=False,
                 maxunits=1 << 30):
        self.name, self.kind, self.label, self.unit = name, kind, label, unit
        self.base, self.expect, self.scale, self.lower = base, expect, scale, lower
        self.maxunits = maxunits

    def figure(self, amount, secs):
        if self.lower:
            return secs / amount * self.scale
        return amount / secs * self.scale


def by_ref(units, ref):
    return (units * ref) & MASK64


WORKLOADS = [
    Workload("int", "bare", "integer (sieve + hash table)", "units/s", 1, by_ref),
    Workload("fp", "bare", "floating point (Mandelbrot + n-body)", "units/s", 1, by_ref),
    Workload("membw", "bare", "memory bandwidth (8 MiB write + read)", "MB/s", 1, by_ref, 1e-6),
    Workload("memlat", "bare", "memory latency (dependent loads, 8 MiB)", "ns/load", 1, by_ref,
             1e9, lower=True),
    Workload("syscall", "os", "system call (getpid)", "us/call", 2000, lambda n, r: n, 1e6,
             lower=True),
    Workload("pipe", "os", "pipe ping-pong (1-byte round trip)", "us/trip", 200,
             lambda n, r: expect_pipe(n), 1e6, lower=True, maxunits=200000),
    Workload("forkexec", "os", "fork + exec + wait", "ms/spawn", 4,
             lambda n, r: sum(i % 251 for i in range(n)), 1e3, lower=True, maxunits=5000),
    Workload("pagefault", "os", "page faults (fresh anonymous pages)", "us/fault", 1,
             lambda n, r: sum((i * 7 + 1) & 0xff for i in range(n * 256)), 1e6, lower=True,
             maxunits=256),
    Workload("diskread", "os", "disk sequential read (1 MiB, O_DIRECT)", "MB/s", 1,
             lambda n, r: n * 256 * 512, 1e-6, maxunits=512),
    Workload("diskwrite", "os", "disk sequential write + fdatasync", "MB/s", 1,
             lambda n, r: n << 20, 1e-6, maxunits=512),
    Workload("diskrand", "os", "disk random 4 KiB read (O_DIRECT)", "IOPS", 16,
             lambda n, r: expect_diskrand(n), maxunits=100000),
    Workload("tcp", "os", "TCP guest -> host (bulk send)", "MB/s", 1, None, 1e-6, maxunits=256),
]
WL = {w.name: w for w in WORKLOADS}
# Rows measured from the sessions themselves rather than by a command.
EXTRA = {
    "boot": ("boot: host wall seconds from starting the VMM to the workload server's READY "
             "(firmware, kernel, init, network set-up); the guest's own uptime at init is in "
             "the JSON", "s"),
    "rss": ("monitor peak RSS, Linux guest of 256 MiB (MiB)", "MiB"),
    "memovh": ("monitor memory overhead: resident MiB outside the guest's RAM mapping, "
               "at the end of the Linux session", "MiB"),
    "hostcpu": ("host CPU seconds per wall second, during the workloads", "CPU s/s"),
}
ALL_WORKLOADS = [w.name for w in WORKLOADS] + list(EXTRA)
QUICK_WORKLOADS = ["int", "fp", "membw", "memlat", "syscall", "forkexec", "pagefault",
                   "diskrand", "tcp", "boot", "rss", "memovh", "hostcpu"]


# --- sessions ------------------------------------------------------------------

class QMP:
    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self._read()  # greeting
        self.call("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise OSError("QMP closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd, **args):
        self.s.sendall(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
        while True:
            r = self._read()
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise OSError("QMP %s: %s" % (cmd, r["error"].get("desc")))

    def stats(self):
        """{counter: value}: vCPU counters summed over vCPUs, device
        counters as 'device/counter'."""
        out = {}
        for ent in self.call("query-stats"):
            path = ent.get("qom-path", "")
            for st in ent.get("stats", []):
                v = st.get("value")
                if not isinstance(v, int):
                    continue
                if ent.get("target") == "vcpu":
                    key = st["name"]
                elif ent.get("target") == "device":
                    key = path.rsplit("/", 1)[-1] + "/" + st["name"]
                else:
                    continue
                out[key] = out.get(key, 0) + v
        return out

    def close(self):
        self.s.close()


def proc_cpu(pid):
    """utime + stime of a process, seconds (all its threads)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_hwm(pid):
    """Peak resident set size, MiB."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


LIVE = set()  # sessions to end if the bench itself is stopped


def end_all(*_):
    for s in list(LIVE):
        try:
            os.killpg(s.p.pid, signal.SIGKILL)
        except OSError:
            pass
    if _:
        sys.exit(130)


def proc_overhead(pid, guest_mib):
    """Resident MiB outside the guest's RAM: the whole process's Rss less
    that of its largest mapping of at least the guest's size (the RAM)."""
    total, ram = 0, 0
    size = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if line.startswith("Size:"):
                    size = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
                    total += rss
                    if size is not None and size >= guest_mib * 1024:
                        ram = max(ram, rss)
    except (OSError, ValueError):
        return None
    return (total - ram) / 1024 if ram else None


class Session:
    """A running workload server: the host program, or a VMM whose guest
    runs one (bare metal or Linux). Commands go to its stdin, results come
    back on its stdout; times are the host's, from sending to reading."""

    def __init__(self, cmd, ready_timeout, qmp_path=None, verbose=False, cwd=None):
        self.cmd, self.verbose, self.qmp, self.tail = cmd, verbose, None, []
        self.buf = b""
        self.t0 = time.monotonic()
        try:
            self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        except OSError as e:
            raise NotRun("cannot start %s: %s" % (cmd[0], e.strerror))
        LIVE.add(self)
        self.uptime = None
        self.wait_for(lambda l: "TREVO-WORK READY" in l, ready_timeout)
        self.ready = time.monotonic() - self.t0
        if qmp_path:
            try:
                self.qmp = QMP(qmp_path)
            except OSError as e:
                self.close()
                raise NotRun("QMP at %s: %s" % (qmp_path, e))

    def _lines(self, deadline):
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode(errors="replace").replace("\r", "")
                self.tail = (self.tail + [text])[-8:]
                if self.verbose:
                    print("  | " + text, file=sys.stderr)
                m = re.search(r"TREVO-BOOT-OK uptime=([0-9.]+)", text)
                if m:
                    self.uptime = float(m.group(1))
                yield text
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 1.0))
            if r:
                data = os.read(self.p.stdout.fileno(), 65536)
                if not data:
                    raise EOFError
                self.buf += data

    def why(self):
        lines = [l.strip() for l in self.tail if l.strip()]
        tr = [l for l in lines if l.startswith("trevo:") or "qemu" in l]
        return (tr or lines or ["no output"])[-1][:200]

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        try:
            for line in self._lines(deadline):
                if pred(line):
                    return line
        except TimeoutError:
            self.close()
            raise NotRun("no answer within %.0f s (last output: %s)" % (timeout, self.why()))
        except EOFError:
            st = self.p.wait()
            raise NotRun("exited with status %s: %s" % (st, self.why()))

    def run(self, name, units, arg, timeout):
        """(seconds, checksum, amount, counter deltas, host CPU s)."""
        before = self.qmp.stats() if self.qmp else None
        cpu0 = proc_cpu(self.p.pid)
        line = "%s %d%s\n" % (name, units, " " + arg if arg else "")
        t0 = time.monotonic()
        try:
            self.p.stdin.write(line.encode())
            self.p.stdin.flush()
        except OSError as e:
            raise NotRun("console write: %s" % e)
        res = self.wait_for(lambda l: l.startswith("R " + name + " ") or l.startswith("E "),
                            timeout)
        secs = time.monotonic() - t0
        cpu1 = proc_cpu(self.p.pid)
        if res.startswith("E "):
            raise NotRun("the guest says: %s" % res[2:].strip())
        f = res.split()
        deltas = None
        if self.qmp:
            after = self.qmp.stats()
            deltas = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        hostcpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
        return secs, int(f[3], 16), int(f[4]), deltas, hostcpu

    def close(self):
        self.overhead = proc_overhead(self.p.pid, 256)
        hwm = proc_hwm(self.p.pid)
        cpu = proc_cpu(self.p.pid)
        if self.p.poll() is None:
            try:
                self.p.stdin.write(b"quit\n")
                self.p.stdin.flush()
                self.p.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        LIVE.discard(self)
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass
        return hwm, cpu


# --- modes ---------------------------------------------------------------------

LINUX_RUN = ("ifconfig lo up; ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && "
             "route add default gw 10.0.2.2; exec /bin/trevo-bench serve console")


def encode_run(cmd):
    return "".join(c if c.isalnum() or c in "/.-_" else "%%%02X" % ord(c) for c in cmd)


class Mode:
    """One column. bare(ctx) and linux(ctx) return (argv, qmp socket path or
    None, the disk path as the guest sees it or None, the host address for
    TCP); None when the mode has no such session."""

    def __init__(self, name, label, bare=None, linux=None, needs=()):
        self.name, self.label, self.bare, self.linux, self.needs = name, label, bare, linux, needs


def trevo_bare(mode, extra=()):
    def f(c):
        img = c.bare_x86 if mode == "hw" else c.bare_rv
        cmd = [c.trevo, "run", "--mode", mode, "--memory", "64M", "--kernel", img,
               "--qmp", "unix:%s,server,nowait" % c.qmp_path(mode)] + list(extra)
        if mode == "full":
            cmd += ["--firmware", FW]
        return cmd, c.qmp_path(mode)
    return f


def trevo_linux(mode, extra=()):
    def f(c):
        cmd = [c.trevo, "run", "--mode", mode, "--memory", "256M", "--cpus", "1",
               "--disk", c.disk, "--net", "user",
               # para's console is virtio-console (hvc0); the others' a UART.
               "--append", "console=%s quiet trevo.run=%s" % (
                   "hvc0" if mode == "para" else "ttyS0", encode_run(LINUX_RUN)),
               "--qmp", "unix:%s,server,nowait" % c.qmp_path(mode)] + list(extra)
        if mode == "hw":
            cmd += ["--kernel", c.x86_kernel, "--initrd", c.x86_initrd]
        else:
            cmd += ["--kernel", c.rv_kernel, "--initrd", c.rv_initrd]
        if mode == "full":
            cmd += ["--firmware", FW]
        return cmd, c.qmp_path(mode)
    return f


def qemu_tcg_bare(c):
    return ["qemu-system-riscv64", "-M", "virt", "-m", "64M", "-nographic", "-bios", FW,
            "-kernel", c.bare_rv], None


def qemu_tcg_linux(c):
    return ["qemu-system-riscv64", "-M", "virt", "-m", "256M", "-smp", "1", "-nographic",
            "-bios", FW, "-kernel", c.rv_kernel, "-initrd", c.rv_initrd,
            "-append", "console=ttyS0 quiet trevo.run=" + encode_run(LINUX_RUN),
            "-drive", "file=%s,format=raw,if=none,id=d0" % c.disk,
            "-device", "virtio-blk-device,drive=d0",
            "-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"], None


def qemu_kvm_linux(c):
    return ["qemu-system-x86_64", "-enable-kvm", "-cpu", "host", "-m", "256M", "-smp", "1",
            "-nographic", "-no-reboot", "-kernel", c.x86_kernel, "-initrd", c.x86_initrd,
            "-append", "console=ttyS0 quiet panic=-1 trevo.run=" + encode_run(LINUX_RUN),
            "-drive", "file=%s,format=raw,if=virtio" % c.disk,
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"], None


# A new engine is one more entry here (for instance a translator:
# Mode("full-jit", ..., trevo_bare("full", ["--cpu", "jit"]), ...)).
MODES = [
    Mode("native", "the host itself (x86-64 Linux, no VMM)"),
    Mode("full", "Trevo --mode full: software RV64GC, OpenSBI, real devices",
         trevo_bare("full"), trevo_linux("full")),
    Mode("para", "Trevo --mode para: software RV64GC, SBI in the monitor, virtio",
         trevo_bare("para"), trevo_linux("para")),
    Mode("hw", "Trevo --mode hw: x86-64 on Linux KVM", trevo_bare("hw"), trevo_linux("hw"),
         needs=("/dev/kvm",)),
    Mode("qemu-tcg", "QEMU TCG, riscv64 virt (reference)", qemu_tcg_bare, qemu_tcg_linux,
         needs=("qemu-system-riscv64",)),
    Mode("qemu-kvm", "QEMU with KVM, x86-64 (reference)", None, qemu_kvm_linux,
         needs=("qemu-system-x86_64", "/dev/kvm")),
]
MODE = {m.name: m for m in MODES}


# --- the host's TCP sink -------------------------------------------------------

class TcpSink:
    """Accepts one connection at a time, reads it to the end, checks every
    byte against the pattern of guest/bench.c and answers with the count
    and FNV-1a hash it saw."""

    def __init__(self):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.results = []
        self.pattern = bytes(i * 131 % 251 for i in range(251 * 256))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            with conn:
                n, h, bad = 0, 0xcbf29ce484222325, 0
                while True:
                    data = conn.recv(1 << 16)
                    if not data:
                        break
                    off = n % 251
                    ref = self.pattern[off:off + len(data)]
                    while len(ref) < len(data):
                        ref += self.pattern[:len(data) - len(ref)]
                    if data != ref:
                        bad += 1
                    # A hash over every byte in Python costs more than the
                    # transfer; hash a sample: the first byte of each read
                    # and the count, after the full comparison above.
                    h = fnv1a(data[:1] + struct.pack("<Q", n), h)
                    n += len(data)
                self.results.append((n, h, bad))
                try:
                    conn.sendall(b"%016x %016x\n" % (n, h))
                except OSError:
                    pass


# --- the run -------------------------------------------------------------------

class Context:
    pass


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def prepare_disk(path, mib=32):
    """The image every Linux session gets: the read pattern of
    guest/bench.c in the first 16 MiB, zeros after."""
    with open(path, "wb") as f:
        for b in range(4096):
            f.write(struct.pack("<512Q", *(((b << 16) | j) for j in range(512))))
        f.truncate(mib << 20)


def check_written(path, mib_written):
    """After diskwrite: the guest's pattern at 16 MiB onwards, in the file."""
    blocks = min(mib_written, 16) * 256
    with open(path, "rb") as f:
        f.seek(16 << 20)
        for i in range(blocks):
            b = 4096 + i
            want = struct.pack("<512Q", *((~((b << 16) | j)) & MASK64 for j in range(512)))
            if f.read(4096) != want:
                return False
    return True


def probe_kvm():
    """None when /dev/kvm can be opened, else why not."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
        return None
    except OSError as e:
        return "no usable /dev/kvm (%s)" % e.strerror


def missing(mode):
    for n in mode.needs:
        if n.startswith("/"):
            why = probe_kvm() if n == "/dev/kvm" else None
            if why:
                return why
        elif not shutil.which(n):
            return "%s is not installed" % n
    return None


class Bench:
    def __init__(self, a):
        self.a = a
        self.results = {}   # (mode, workload) -> dict
        self.notes = {}     # mode -> [notes]
        self.stats = {}     # (mode, workload) -> {counter: per second}
        self.refs = {}      # bare workload -> native one-unit checksum
        self.unit_secs = {}  # bare workload -> native seconds for one unit
        self.failed = []
        self.target = 0.15 if a.quick else 0.6
        self.repeat = a.repeat

    def say(self, msg):
        print("bench: " + msg, file=sys.stderr, flush=True)

    def cell(self, mode, wl, **kv):
        self.results[(mode, wl)] = kv

    def not_run(self, mode, wl, why):
        self.cell(mode, wl, status="not run", reason=why)

    def measure(self, s, mode, w, arg=None, timeout=300):
        """Calibrate then repeat one workload in a session; fills its cell."""
        units = w.base
        while True:
            secs, check, amount, deltas, hostcpu = s.run(w.name, units, arg, timeout)
            self.verify(mode, w, units, check, amount)
            if secs > self.a.budget / (self.repeat + 1):
                # Too slow to repeat within the budget: this one run is the figure.
                self.cell(mode, w.name, status="ok", units=units, figure=w.figure(amount, secs),
                          min=w.figure(amount, secs), max=w.figure(amount, secs),
                          samples=[w.figure(amount, secs)], seconds=[secs], unit=w.unit,
                          amount_per_s=amount / secs, single_run=True,
                          hostcpu=hostcpu / secs if hostcpu is not None else None)
                if deltas:
                    self.stats[(mode, w.name)] = {k: v / secs for k, v in deltas.items()}
                return units
            if secs >= self.target / 3 or units >= w.maxunits:
                break
            grow = max(2, min(100, int(self.target / max(secs, 1e-4))))
            units = min(w.maxunits, units * grow)
        units = max(1, min(w.maxunits, int(units * self.target / max(secs, 1e-6) + 0.5)))
        figs, samples, cpu, rates = [], [], [], []
        counters = {}
        for _ in range(self.repeat):
            secs, check, amount, deltas, hostcpu = s.run(w.name, units, arg, timeout)
            self.verify(mode, w, units, check, amount)
            figs.append(w.figure(amount, secs))
            samples.append(secs)
            rates.append(amount / secs)
            if hostcpu is not None:
                cpu.append(hostcpu / secs)
            for k, v in (deltas or {}).items():
                counters.setdefault(k, []).append(v / secs)
        self.cell(mode, w.name, status="ok", units=units, figure=median(figs), min=min(figs),
                  max=max(figs), samples=figs, seconds=samples, unit=w.unit,
                  amount_per_s=median(rates),
                  hostcpu=median(cpu) if cpu else None)
        if counters:
            self.stats[(mode, w.name)] = {k: median(v) for k, v in counters.items()}
        return units

    def verify(self, mode, w, units, check, amount):
        if w.name == "tcp":
            n, h, bad = self.sink.results[-1] if self.sink.results else (None, None, None)
            ok = n == units << 20 and amount == n and h == check and not bad
            want = "%d bytes, hash %x, all bytes in pattern" % (units << 20, h or 0)
        else:
            want = w.expect(units, self.refs.get(w.name))
            ok = check == want
            want = "%x" % want
        if not ok:
            msg = "%s under %s: %d units gave checksum %x, expected %s" % (
                w.name, mode, units, check, want)
            self.failed.append(msg)
            raise WrongResult(msg)

    def run_bare(self, m, wls):
        """The bare-metal rows in one session; a workload that kills the
        guest (say, an instruction the host's KVM cannot run) is recorded
        as not run and the next one gets a fresh session."""
        c = self.ctx
        s = None
        for name in wls:
            guess = self.unit_secs.get(name, 0) * self.speed.get(m.name, 1)
            if guess > self.a.budget:
                self.not_run(m.name, name, "one unit would take about %.0f s here (native %.3f s "
                             "x the measured %.0fx slower plain loop), beyond --budget %.0f s" % (
                                 guess, self.unit_secs[name], self.speed[m.name], self.a.budget))
                continue
            try:
                if s is None:
                    if m.name == "native":
                        s = Session([c.host_bench, "serve"], 30, verbose=self.a.verbose)
                    else:
                        cmd, q = m.bare(c)
                        s = Session(cmd, 120, q, verbose=self.a.verbose)
                if name == "memlat":
                    s.run("memlat", 0, None, 900)  # build the chase outside the timing
                self.measure(s, m.name, WL[name], timeout=900)
            except NotRun as e:
                self.not_run(m.name, name, "bare-metal guest: " + str(e))
                if s:
                    s.close()
                s = None
            except WrongResult as e:
                self.cell(m.name, name, status="wrong", reason=str(e))
        if s:
            s.close()

    def spin_probe(self, m):
        """Plain-loop speed of this mode's CPU (bare guest 'spin'): what a
        slow KVM shows. Iterations per second."""
        c = self.ctx
        try:
            if m.name == "native":
                cmd, q = [c.host_bench, "serve"], None
            else:
                cmd, q = m.bare(c)
            s = Session(cmd, 120, None, verbose=self.a.verbose)
        except NotRun:
            return None
        try:
            n = 10000
            while True:
                secs, _, _, _, _ = s.run("spin", n, None, 300)
                if secs > 0.1 or n > 1 << 34:
                    return n / secs
                n *= max(2, min(100, int(0.2 / max(secs, 1e-4))))
        except NotRun:
            return None
        finally:
            s.close()

    def run_linux(self, m, wls):
        c = self.ctx
        os_rows = [n for n in wls if n in WL and WL[n].kind == "os"]
        extra = [n for n in wls if n in EXTRA]
        if not os_rows and not extra:
            return
        prepare_disk(c.disk)
        try:
            if m.name == "native":
                s = Session([c.host_bench, "serve"], 30, verbose=self.a.verbose)
            else:
                cmd, q = m.linux(c)
                if not os.path.exists(cmd[cmd.index("--kernel") + 1] if "--kernel" in cmd
                                      else cmd[cmd.index("-kernel") + 1]):
                    raise NotRun("no guest kernel (make guest; guest/build.sh x86 for x86)")
                limit = self.a.boot_timeout
                if m.name in ("hw", "qemu-kvm") and self.kvm_slow:
                    limit = min(limit, 60)  # a boot here takes hours, if it ends
                s = Session(cmd, limit, q, verbose=self.a.verbose)
        except NotRun as e:
            why = "Linux guest: " + str(e)
            if m.name in ("hw", "qemu-kvm") and self.kvm_note:
                why += "; " + self.kvm_note
            for n in os_rows + extra:
                self.not_run(m.name, n, why)
            return
        if "boot" in extra:
            if m.name == "native":
                self.not_run(m.name, "boot", "no boot: the host is already up")
            else:
                self.cell(m.name, "boot", status="ok", figure=s.ready, min=s.ready, max=s.ready,
                          samples=[s.ready], unit="s", uptime=s.uptime)
        dead = None
        written = 0
        cpu_ratios = []
        for n in os_rows:
            if dead:
                self.not_run(m.name, n, dead)
                continue
            w = WL[n]
            arg = None
            if n.startswith("disk"):
                arg = c.disk if m.name == "native" else None
            if n == "tcp":
                arg = "%s:%d" % ("127.0.0.1" if m.name == "native" else "10.0.2.2", self.sink.port)
            try:
                units = self.measure(s, m.name, w, arg, timeout=600)
                if n == "diskwrite":
                    written = max(written, units)
                hc = self.results[(m.name, n)].get("hostcpu")
                if hc is not None:
                    cpu_ratios.append(hc)
            except NotRun as e:
                self.not_run(m.name, n, str(e))
                if s.p.poll() is not None:
                    dead = "the guest stopped earlier: " + str(e)
            except WrongResult as e:
                self.cell(m.name, n, status="wrong", reason=str(e))
        hwm, cpu = s.close()
        if written and not check_written(c.disk, written):
            msg = "diskwrite under %s: the image file does not hold what the guest wrote" % m.name
            self.failed.append(msg)
            self.cell(m.name, "diskwrite", status="wrong", reason=msg)
        if "rss" in extra:
            if m.name == "native":
                self.not_run(m.name, "rss", "no monitor: the workloads run as host processes")
            elif hwm is None:
                self.not_run(m.name, "rss", "could not read the process's VmHWM")
            else:
                self.cell(m.name, "rss", status="ok", figure=hwm, min=hwm, max=hwm,
                          samples=[hwm], unit="MiB")
        if "memovh" in extra:
            if m.name == "native":
                self.not_run(m.name, "memovh", "no monitor: the workloads run as host processes")
            elif s.overhead is None:
                self.not_run(m.name, "memovh", "no guest RAM mapping found in /proc/PID/smaps")
            else:
                v = s.overhead
                self.cell(m.name, "memovh", status="ok", figure=v, min=v, max=v, samples=[v],
                          unit="MiB")
        if "hostcpu" in extra:
            if cpu_ratios:
                v = median(cpu_ratios)
                self.cell(m.name, "hostcpu", status="ok", figure=v, min=min(cpu_ratios),
                          max=max(cpu_ratios), samples=cpu_ratios, unit="CPU s/s")
            else:
                self.not_run(m.name, "hostcpu", "no workload ran in this session")

    def run(self, modes, wls):
        a = self.a
        c = self.ctx = Context()
        c.trevo = a.trevo
        # TREVO_BENCH_HOST: another native program (tests/bench uses one
        # that lies, to see the bench fail).
        c.host_bench = os.environ.get("TREVO_BENCH_HOST") or \
            os.path.join(ROOT, "build/bench/trevo-bench-host")
        c.bare_rv = os.path.join(ROOT, "build/bench/bare-rv.bin")
        c.bare_x86 = os.path.join(ROOT, "build/bench/bare-x86.bin")
        c.rv_kernel = os.path.join(ROOT, "build/guest/riscv/Image")
        c.rv_initrd = os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz")
        c.x86_kernel = os.path.join(ROOT, "build/guest/x86/bzImage")
        c.x86_initrd = os.path.join(ROOT, "build/guest/x86/initramfs.cpio.gz")
        self.tmp = tempfile.mkdtemp(prefix="trevo-bench-", dir=a.out)
        c.disk = os.path.join(self.tmp, "disk.img")
        c.qmp_path = lambda mode: os.path.join(self.tmp, "qmp-%s.sock" % mode)
        self.sink = TcpSink()
        self.kvm_note = None
        self.kvm_slow = False
        try:
            self._run(modes, wls)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self, modes, wls):
        c = self.ctx
        bare = [n for n in wls if n in WL and WL[n].kind == "bare"]
        # The references: one unit of each bare workload on the host.
        if bare:
            s = Session([c.host_bench, "serve"], 30)
            for n in bare:
                if n == "memlat":
                    s.run("memlat", 0, None, 120)
                self.unit_secs[n], self.refs[n], _, _, _ = s.run(n, 1, None, 120)
            s.close()
        self.spin = {}
        self.speed = {}  # mode -> measured slowdown of a plain loop (where probed)
        if "hw" in modes or "qemu-kvm" in modes:
            # How fast is this host's KVM? The same plain loop under hw and
            # on the host (the probe of tests/kvm, in our own guest).
            self.say("probing KVM speed (a plain loop under --mode hw and natively)")
            why = missing(MODE["hw"])
            if why:
                self.kvm_note = why
            else:
                nat = self.spin_probe(MODE["native"])
                hw = self.spin_probe(MODE["hw"])
                self.spin["native"], self.spin["hw"] = nat, hw
                if nat and hw:
                    ratio = nat / hw
                    self.kvm_speed = ratio
                    self.speed["hw"] = ratio
                    if ratio > 5:
                        self.kvm_slow = True
                        self.kvm_note = ("this host's KVM is slow: a plain loop runs %.0fx slower "
                                         "under KVM than natively (nested or emulated in "
                                         "software; typical hardware KVM: about 1x)" % ratio)
                    else:
                        self.kvm_note = None
                elif not hw:
                    self.kvm_note = "a KVM guest does not run here (the probe failed)"
        for name in modes:
            m = MODE[name]
            why = missing(m)
            if why:
                for n in wls:
                    self.not_run(name, n, why)
                continue
            if self.kvm_note and name in ("hw", "qemu-kvm"):
                self.notes.setdefault(name, []).append(self.kvm_note)
            self.say("%s: %s" % (name, m.label))
            if bare:
                if name == "native" or m.bare:
                    self.run_bare(m, bare)
                else:
                    for n in bare:
                        self.not_run(name, n, "no bare-metal form: QEMU's -kernel enters 32-bit "
                                     "multiboot, the bare guest is a 64-bit flat binary for Trevo")
            self.run_linux(m, wls)


# --- output --------------------------------------------------------------------

def slowdown(res, mode, wl):
    r, n = res.get((mode, wl)), res.get(("native", wl))
    if not r or not n or r.get("status") != "ok" or n.get("status") != "ok" or wl not in WL:
        return None
    if WL[wl].lower:
        return r["figure"] / n["figure"]
    return n["figure"] / r["figure"]


def fmt(v):
    if v is None:
        return "-"
    if v >= 1000:
        return "%.0f" % v
    if v >= 100:
        return "%.1f" % v
    if v >= 10:
        return "%.2f" % v
    return "%.3g" % v


def table(b, modes, wls, header):
    res = b.results
    out = [header, ""]
    notes = []
    w0 = 22
    colw = 22
    slow = lambda m: m in ("hw", "qemu-kvm") and b.kvm_slow
    out.append("%-*s" % (w0, "workload (unit)") + "".join(
        "%-*s" % (colw, m + (" (slow KVM*)" if slow(m) else "")) for m in modes))
    for wl in wls:
        label, unit = (WL[wl].label, WL[wl].unit) if wl in WL else EXTRA[wl]
        line = "%-*s" % (w0, "%s (%s)" % (wl, unit))
        line2 = "%-*s" % (w0, "")
        for m in modes:
            r = res.get((m, wl), {})
            st = r.get("status")
            if st == "ok":
                sd = slowdown(res, m, wl)
                txt = fmt(r["figure"])
                if sd is not None and m != "native":
                    txt += " (%sx)" % fmt(sd)
                rng = "%s-%s" % (fmt(r["min"]), fmt(r["max"])) if len(r.get("samples", [])) > 1 else ""
                if r.get("single_run"):
                    rng = "(1 run: slow)"
            elif st == "wrong":
                txt, rng = "WRONG RESULT", ""
                notes.append("%s/%s: %s" % (m, wl, r["reason"]))
            else:
                why = r.get("reason", "not selected")
                if why not in notes:
                    notes.append(why)
                txt, rng = "not run [%d]" % (notes.index(why) + 1), ""
            line += "%-*s" % (colw, txt)
            line2 += "%-*s" % (colw, rng)
        out.append(line)
        if line2.strip():
            out.append(line2)
    out.append("")
    for wl in wls:
        label, unit = (WL[wl].label, WL[wl].unit) if wl in WL else EXTRA[wl]
        out.append("%-10s %s" % (wl, label))
    out.append("")
    out.append("Figures: median over the repeats (min-max below); (Nx): slowdown against "
               "native, above 1 is slower.")
    out.append("full, para and qemu-tcg run riscv64 code; native, hw and qemu-kvm run x86-64 "
               "code, from the same C sources.")
    out.append("int, fp, membw and memlat run on bare metal in the guest (guest/workloads.h); "
               "the other rows inside Linux (guest/bench.c).")
    for i, n in enumerate(notes):
        out.append("[%d] %s" % (i + 1, n))
    if any(slow(m) for m in modes):
        out.append("* " + b.kvm_note + ": these columns are not what KVM gives on hardware.")
    if b.spin:
        out.append("plain-loop speed (million iterations/s): " + ", ".join(
            "%s %s" % (k, fmt(v / 1e6) if v else "failed") for k, v in b.spin.items()))
    return out


AGGREGATES = ("exceptions", "interrupts", "sbi-calls", "exits", "instructions")


def markdown(b, modes, wls):
    """The table again in Markdown (DIR/bench.md), for a README."""
    res = b.results
    slow = lambda m: m in ("hw", "qemu-kvm") and b.kvm_slow
    notes = []
    out = ["| workload (unit) | " + " | ".join(m + ("*" if slow(m) else "") for m in modes) + " |",
           "| --- |" + " --- |" * len(modes)]
    for wl in wls:
        unit = WL[wl].unit if wl in WL else EXTRA[wl][1]
        row = []
        for m in modes:
            r = res.get((m, wl), {})
            if r.get("status") == "ok":
                t = fmt(r["figure"])
                sd = slowdown(res, m, wl)
                if sd is not None and m != "native":
                    t += " (%sx)" % fmt(sd)
                if len(r.get("samples", [])) > 1:
                    t += "<br>%s-%s" % (fmt(r["min"]), fmt(r["max"]))
                elif r.get("single_run"):
                    t += "<br>(1 run)"
            elif r.get("status") == "wrong":
                t = "**wrong result**"
            else:
                why = r.get("reason", "not selected").replace("`", "'")
                if why not in notes:
                    notes.append(why)
                t = "not run [%d]" % (notes.index(why) + 1)
            row.append(t)
        out.append("| %s (%s) | %s |" % (wl, unit, " | ".join(row)))
    out.append("")
    out += ["[%d] %s  " % (i + 1, n) for i, n in enumerate(notes)]
    if any(slow(m) for m in modes):
        out.append("\\* " + b.kvm_note + ".")
    return out


def breakdown(b, modes, wls):
    """Per mode and workload: the counters that moved, per second, by kind:
    traps (exceptions the guest took), interrupts, SBI calls answered by the
    monitor, VM exits (and KVM's own counters), device notifications."""
    out = ["", "Where the time goes: Trevo's counters (QMP query-stats) per second of each "
           "workload (median over the repeats), largest first. instr/op: guest "
           "instructions per unit of the figure (per call, per spawn, per byte...)."]

    def top(items, n=4):
        items = sorted(items, key=lambda kv: -kv[1])
        return ", ".join("%s %s" % (k, fmt(v)) for k, v in items[:n])

    for m in modes:
        rows = [(wl, b.stats[(m, wl)]) for wl in wls if (m, wl) in b.stats]
        if not rows:
            continue
        out.append("%s (%s):" % (m, MODE[m].label))
        for wl, st in rows:
            parts = []
            ins = st.get("instructions")
            rate = b.results.get((m, wl), {}).get("amount_per_s")
            if ins:
                txt = "%s Minstr/s" % fmt(ins / 1e6)
                if rate:
                    txt += ", %s instr/op" % fmt(ins / rate)
                parts.append(txt)
            kinds = [("traps", [(k[4:], v) for k, v in st.items() if k.startswith("exc-")]),
                     ("interrupts", [(k[4:], v) for k, v in st.items() if k.startswith("irq-")]),
                     ("SBI calls", [(k[4:], v) for k, v in st.items()
                                    if k.startswith("sbi-") and k != "sbi-calls"]),
                     ("exits", [(k, v) for k, v in st.items()
                                if "/" not in k and k not in AGGREGATES and
                                not k.startswith(("exc-", "irq-", "sbi-", "wfi"))]),
                     ("devices", [(k, v) for k, v in st.items() if "/" in k and
                                  not k.endswith("bytes")])]
            for kind, items in kinds:
                total = sum(v for _, v in items) if kind != "exits" else st.get("exits")
                if items and (total or kind == "exits"):
                    parts.append("%s %s/s (%s)" % (kind, fmt(total) if total is not None
                                                    else "-", top(items)))
            out.append("  %-10s %s" % (wl, " | ".join(parts)))
    # Side by side: what each operation costs in monitor events, per mode.
    pairs = [m for m in modes if any((m, wl) in b.stats for wl in wls)]
    if len(pairs) > 1:
        out.append("Monitor events per operation (traps + interrupts + SBI calls + exits + "
                   "device counters, per unit of the figure) and time against %s:" % pairs[0])
        for wl in wls:
            cells = []
            for m in pairs:
                st, r = b.stats.get((m, wl)), b.results.get((m, wl), {})
                if not st or not r.get("amount_per_s"):
                    continue
                ev = sum(v for k, v in st.items() if k.startswith(("exc-", "irq-")) or
                         (k.startswith("sbi-") and k != "sbi-calls") or k == "exits" or
                         ("/" in k and not k.endswith("bytes")))
                r0 = b.results.get((pairs[0], wl), {}).get("amount_per_s")
                t = " %sx time" % fmt(r0 / r["amount_per_s"]) if r0 and m != pairs[0] else ""
                cells.append("%s %s/op%s" % (m, fmt(ev / r["amount_per_s"]), t))
            if len(cells) > 1:
                out.append("  %-10s %s" % (wl, "; ".join(cells)))
    return out


def picture(b, modes, wls, path_svg, path_png, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    cols = [m for m in modes if m != "native"]
    rows = [w for w in wls if w in WL]
    if not cols or not rows:
        return False
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(rows) + 2), 5.2))
    width = 0.8 / len(cols)
    handles = []
    vals = [slowdown(b.results, m, w) for m in cols for w in rows]
    top = max([v for v in vals if v] or [1])
    bottom = min([v for v in vals if v] or [1])
    for i, m in enumerate(cols):
        xs, ys = [], []
        for j, w in enumerate(rows):
            x = j + (i - (len(cols) - 1) / 2) * width
            v = slowdown(b.results, m, w)
            if v:
                xs.append(x)
                ys.append(v)
            else:
                st = b.results.get((m, w), {}).get("status")
                ax.text(x, max(bottom / 1.5, 0.05) if top / max(bottom, 1e-9) > 20 else 0.02 * top,
                        "wrong" if st == "wrong" else "not run",
                        rotation=90, ha="center", va="bottom", fontsize=6, color="0.4")
        label = m + ": " + MODE[m].label
        if m in ("hw", "qemu-kvm") and b.kvm_slow:
            label += " [this host's KVM is emulated in software, %.0fx slower]" % b.kvm_speed
        color = "C%d" % (list(MODE).index(m) % 10)
        bars = ax.bar(xs, ys, width, color=color)
        handles.append(Patch(color=color, label=label + ("" if ys else " [not run]")))
        for bar, v in zip(bars, ys):
            ax.text(bar.get_x() + bar.get_width() / 2, v * 1.05, fmt(v), ha="center",
                    va="bottom", fontsize=6, rotation=90)
    ax.axhline(1, color="black", linewidth=0.8)
    log = top / max(bottom, 1e-9) > 20
    ceiling = top * 6 if log else top * 1.3
    nbare = sum(1 for w in rows if WL[w].kind == "bare")
    if 0 < nbare < len(rows):
        ax.axvline(nbare - 0.5, color="0.5", linestyle="--", linewidth=0.8)
        y = top * 2.5 if log else top * 1.15
        ax.text(nbare - 0.55, y, "bare-metal guest <", ha="right", fontsize=7)
        ax.text(nbare - 0.45, y, "> inside Linux", ha="left", fontsize=7)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(rows, rotation=20)
    if log:
        ax.set_yscale("log")
    ax.set_ylim(max(bottom / 2, 0.05) if log else 0, ceiling)
    ax.set_ylabel("slowdown against native (x, lower is better)")
    ax.set_title(title, fontsize=9)
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.9)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path_svg)
    fig.savefig(path_png, dpi=110)
    plt.close(fig)
    return True


def usage_error(msg):
    print("trevo bench: " + msg, file=sys.stderr)
    sys.exit(2)


def parse_list(s, known, what):
    if s is None:
        return None
    items = [x.strip() for x in s.split(",") if x.strip()]
    bad = [x for x in items if x not in known]
    if bad or not items:
        usage_error("unknown %s '%s' (known: %s)" % (what, ",".join(bad) or s, ",".join(known)))
    return items


def main():
    ap = argparse.ArgumentParser(prog="trevo bench", description=__doc__.split("\n")[0])
    ap.add_argument("--modes", help="comma-separated: " + ",".join(MODE))
    ap.add_argument("--workloads", help="comma-separated: " + ",".join(ALL_WORKLOADS))
    ap.add_argument("--repeat", type=int, help="timed runs per figure (default 5, --quick 1)")
    ap.add_argument("--quick", action="store_true", help="short runs, fewer workloads")
    ap.add_argument("--json", help="raw figures to FILE (default DIR/bench.json)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build/bench/results"),
                    help="directory for bench.txt, .json, .svg, .png")
    ap.add_argument("--trevo", default=os.environ.get("TREVO", os.path.join(ROOT, "build/trevo")))
    ap.add_argument("--boot-timeout", type=float, help="seconds for a Linux guest to reach "
                    "its workload server (default 600, --quick 240)")
    ap.add_argument("--budget", type=float, default=120, help="seconds a figure may take: "
                    "slower cells get one run, or none when the probe predicts more (default 120)")
    ap.add_argument("-v", "--verbose", action="store_true", help="copy consoles to stderr")
    a = ap.parse_args()
    modes = parse_list(a.modes, list(MODE), "mode") or list(MODE)
    wls = parse_list(a.workloads, ALL_WORKLOADS, "workload") or \
        (QUICK_WORKLOADS if a.quick else ALL_WORKLOADS)
    if a.repeat is None:
        a.repeat = 1 if a.quick else 5
    if a.repeat < 1:
        usage_error("--repeat must be at least 1")
    if a.boot_timeout is None:
        a.boot_timeout = 240 if a.quick else 600
    os.makedirs(a.out, exist_ok=True)
    for f in ("build/bench/trevo-bench-host", "build/bench/bare-rv.bin",
              "build/bench/bare-x86.bin"):
        if not os.path.exists(os.path.join(ROOT, f)):
            sys.exit("trevo bench: %s missing (make %s)" % (f, f))
    if not os.access(a.trevo, os.X_OK):
        sys.exit("trevo bench: %s not built (make)" % a.trevo)

    t0 = time.time()
    signal.signal(signal.SIGTERM, end_all)
    signal.signal(signal.SIGINT, end_all)
    b = Bench(a)
    try:
        b.run(modes, wls)
    finally:
        end_all()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0))
    cmd = "trevo bench " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    host = "%s, %d CPUs, %s" % (platform.node(), os.cpu_count(), platform.machine())
    header = "trevo bench on %s, %s, %.0f s: %s" % (host, stamp, time.time() - t0, cmd)
    lines = table(b, modes, wls, header) + breakdown(b, modes, wls)
    text = "\n".join(lines) + "\n"
    print(text, end="")
    with open(os.path.join(a.out, "bench.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "bench.md"), "w") as f:
        f.write("\n".join(markdown(b, modes, wls)) + "\n")
    doc = {
        "command": cmd, "date": stamp, "host": host, "modes": modes, "workloads": wls,
        "repeat": a.repeat, "quick": a.quick,
        "mode_labels": {m: MODE[m].label for m in modes},
        "notes": b.notes, "spin_iterations_per_s": b.spin,
        "results": [dict(mode=m, workload=w, **b.results.get((m, w), {"status": "not run"}),
                         slowdown=slowdown(b.results, m, w)) for m in modes for w in wls],
        "counters_per_s": [dict(mode=m, workload=w, counters=v) for (m, w), v in b.stats.items()],
        "failures": b.failed,
    }
    with open(a.json or os.path.join(a.out, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1)
    svg, png = os.path.join(a.out, "bench.svg"), os.path.join(a.out, "bench.png")
    try:
        picture(b, modes, wls, svg, png, "trevo bench: slowdown against the host itself "
                "(native), per workload and mode\n%s, %s; full, para, qemu-tcg run riscv64 "
                "code, hw and qemu-kvm x86-64" % (host, stamp))
    except ImportError:
        print("trevo bench: python3-matplotlib is not installed: no picture "
              "(scripts/deps.sh installs it)", file=sys.stderr)
        return 1
    if b.failed:
        for f in b.failed:
            print("trevo bench: FAIL: " + f, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
