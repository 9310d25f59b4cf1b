#!/usr/bin/env python3
"""Driver of bench/io.sh (see there). Standard library only.

Each mode boots the default RISC-V guest once per repetition, and the
repetitions go round the modes in turn (A B C A B C ...), so that a change
in the machine's load falls on every mode alike; the table gives the median
of each figure and, with --repeat > 1, its range. Inside the guest every
test runs for at least --secs seconds (bench/io-guest.c); around each one
the guest prints a line on the console, and at that line this script reads
the VMM process's CPU time (/proc/PID/stat, all its threads): host CPU
seconds per GB moved in that test."""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
RESULT = re.compile(rb"TREVO-IO seq_write_mbs=(\S+) seq_read_mbs=(\S+) rand_read_iops=(\S+) tcp_mbs=(\S+)")
PHASE = re.compile(rb"TREVO-IO-PHASE (\w+) (begin|end)(?: bytes=(\d+) secs=(\S+))?")
PHASES = ("write", "read", "rand", "tcp")
BASE_MODES = ("para", "full", "qemu", "qemu-real")
CLK_TCK = os.sysconf("SC_CLK_TCK")


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

    def close(self):
        self.stop = True
        self.sock.close()


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
    subprocess.run(["mke2fs", "-q", "-t", "ext2", "-d", d, img, "8M"], check=True,
                   stdout=subprocess.DEVNULL)
    return img


def guest_cmd(mb, secs, port):
    # The tools disk is the small one, whatever order the guest found them
    # (vdX on virtio-blk, sdX on AHCI).
    return ("for d in vda vdb sda sdb; do [ -e /sys/block/$d ] || continue; "
            "if [ $(cat /sys/block/$d/size) -le 16384 ]; then T=/dev/$d; "
            "else D=/dev/$d; fi; done; mount -t ext2 $T /mnt && ifconfig lo up && "
            "ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && route add default gw 10.0.2.2 && "
            "/mnt/trevo-io $D %d %g 10.0.2.2 %d" % (mb, secs, port))


def encode(cmd):
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:,")
    return "".join(c if c in safe else "%%%02X" % ord(c) for c in cmd)


def parse_mode(spec, trevo):
    """NAME[:CPU][=TREVO]: full:jit runs --mode full --cpu jit, full=B
    another Trevo binary B (to set two builds side by side)."""
    name, _, binary = spec.partition("=")
    name, _, cpu = name.partition(":")
    if name not in BASE_MODES or (cpu and (name.startswith("qemu") or cpu not in ("interp", "jit"))):
        raise SystemExit("io: bad mode '%s' (%s, para/full with :interp or :jit, =TREVO)" %
                         (spec, ",".join(BASE_MODES)))
    return {"label": spec, "name": name, "cpu": cpu, "trevo": binary or trevo}


def command(mode, tools, data, cmd, kernel, initrd, qmp=None):
    """Modes: para (Trevo, virtio), full (Trevo, AHCI and e1000), qemu (QEMU
    TCG, virtio), qemu-real (QEMU TCG, AHCI and e1000); one hart and 512 MiB
    on every side. The host caching is the same on both sides: through the
    host's page cache, with the guest's flushes honoured. Trevo's block
    file does pread/pwrite on the image opened without O_DIRECT and
    fdatasync on a flush; QEMU gets cache=writeback (its default: no
    O_DIRECT, fdatasync on flush, write cache shown to the guest as on,
    as Trevo's AHCI and virtio-blk show theirs)."""
    name = mode["name"]
    if name.startswith("qemu"):
        c = ["qemu-system-riscv64", "-M", "virt", "-smp", "1", "-m", "512M", "-nographic",
             "-no-reboot", "-bios", FW, "-kernel", kernel, "-initrd", initrd,
             "-append", "console=ttyS0 trevo.run=" + encode(cmd),
             "-drive", "file=%s,format=raw,if=none,id=t,cache=writeback" % tools,
             "-drive", "file=%s,format=raw,if=none,id=d,cache=writeback" % data,
             "-netdev", "user,id=n"]
        if name == "qemu-real":
            return c + ["-device", "ahci,id=ahci", "-device", "ide-hd,drive=t,bus=ahci.0",
                        "-device", "ide-hd,drive=d,bus=ahci.1", "-device", "e1000,netdev=n"]
        return c + ["-device", "virtio-blk-device,drive=t", "-device", "virtio-blk-device,drive=d",
                    "-device", "virtio-net-device,netdev=n"]
    console = "hvc0" if name == "para" else "ttyS0"
    c = [mode["trevo"], "run", "--mode", name, "--cpus", "1", "--memory", "512M",
         "--kernel", kernel, "--initrd", initrd,
         "--append", "console=%s trevo.run=%s" % (console, encode(cmd)),
         "--disk", tools, "--disk", data, "--net", "user"]
    if mode["cpu"]:
        c += ["--cpu", mode["cpu"]]
    if qmp:
        c += ["--qmp", "unix:%s,server,nowait" % qmp]
    return c


class QMP:
    """Just enough of a QMP client for query-stats."""

    def __init__(self, path, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.settimeout(10)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
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


def cpu_seconds(pid):
    """User + system CPU of every thread of pid so far."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def run_once(mode, a, tools, workdir):
    """One boot of one mode: the figures, or None with the reason printed."""
    data = os.path.join(workdir, "data.img")
    with open(data, "wb") as f:
        f.truncate(max(a.mb, 16) << 20)
    sink = Sink()
    qmp_path = os.path.join(workdir, "qmp.sock") if a.stats and not mode["name"].startswith("qemu") else None
    cmd = command(mode, tools, data, guest_cmd(a.mb, a.secs, sink.port), a.kernel, a.initrd, qmp_path)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Timer(a.timeout, p.kill)
    killer.start()
    qmp = None
    if qmp_path:
        try:
            qmp = QMP(qmp_path, t0 + 10)
        except OSError as e:
            print("io: %s: no QMP (%s): no counters" % (mode["label"], e), file=sys.stderr)
    out = bytearray()
    marks = {}      # (phase, begin|end) -> (cpu s, host monotonic s)
    ends = {}       # phase -> (bytes, guest s)
    counters = {}   # (phase, begin|end) -> query-stats
    for line in p.stdout:
        m = PHASE.search(line)
        if m:
            ph, edge = m.group(1).decode(), m.group(2).decode()
            marks[(ph, edge)] = (cpu_seconds(p.pid), time.monotonic())
            if edge == "end":
                ends[ph] = (int(m.group(3)), float(m.group(4)))
            if qmp:
                try:
                    counters[(ph, edge)] = qmp.stats()
                except (OSError, ValueError):
                    pass
        out += line
    p.wait()
    killer.cancel()
    if qmp:
        qmp.s.close()
    wall = time.monotonic() - t0
    sink.close()
    os.unlink(data)
    if a.verbose:
        sys.stderr.buffer.write(bytes(out))
    m = RESULT.search(out)
    if not m:
        tail = bytes(out)[-300:].decode(errors="replace").replace("\n", " | ")
        print("io: %s: no result (%s)" % (mode["label"], tail), file=sys.stderr)
        return None
    r = dict(zip(("write", "read", "rand", "tcp"), (float(x) for x in m.groups())))
    r["wall"] = wall
    if "tcp" in ends and ends["tcp"][0] != sink.bytes:
        print("io: %s: WRONG RESULT: the guest sent %d bytes, the sink counted %d" %
              (mode["label"], ends["tcp"][0], sink.bytes), file=sys.stderr)
        return None
    for ph in PHASES:
        b, e = marks.get((ph, "begin")), marks.get((ph, "end"))
        if ph in ends and b and e and b[0] is not None and e[0] is not None and ends[ph][0]:
            r["cpu_" + ph] = (e[0] - b[0]) / (ends[ph][0] / 1e9)
            # the host's view of the guest's timed span (guest clock check)
            r["host_" + ph] = e[1] - b[1]
            r["guest_" + ph] = ends[ph][1]
        cb, ce = counters.get((ph, "begin")), counters.get((ph, "end"))
        if ph in ends and cb and ce:
            units = ends[ph][0] / (4096 if ph == "rand" else 1 << 20)
            r["counters_" + ph] = {k: (ce[k] - cb.get(k, 0)) / units for k in ce
                                   if ce[k] != cb.get(k, 0)}
    return r


COLUMNS = [("write", "write MB/s", "%.1f"), ("read", "read MB/s", "%.1f"),
           ("rand", "4K IOPS", "%.0f"), ("tcp", "TCP MB/s", "%.1f"),
           ("cpu_write", "CPU s/GB wr", "%.2f"), ("cpu_read", "rd", "%.2f"),
           ("cpu_rand", "rand", "%.1f"), ("cpu_tcp", "tcp", "%.1f"), ("wall", "wall s", "%.1f")]


def summary(runs):
    """Per figure: median, min, max over the runs that have it."""
    s = {}
    for key, _, _ in COLUMNS + [("host_tcp", "", ""), ("guest_tcp", "", "")]:
        v = [r[key] for r in runs if key in r]
        if v:
            s[key] = (statistics.median(v), min(v), max(v), len(v))
    return s


def load():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description="bench/io.sh: I/O per device family, see there")
    ap.add_argument("--modes", default="para,full,qemu,qemu-real",
                    help="comma-separated; NAME[:interp|:jit][=TREVO] for para and full")
    ap.add_argument("--mb", type=int, default=256, help="MiB of the data disk the tests cover")
    ap.add_argument("--secs", type=float, default=3.0, help="minimum seconds per test in the guest")
    ap.add_argument("--repeat", type=int, default=1, help="boots per mode, taken in turn A B A B")
    ap.add_argument("--trevo", default=os.path.join(ROOT, "build/trevo"))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--stats", action="store_true",
                    help="Trevo's counters (QMP query-stats) per MiB moved (per I/O in rand)")
    ap.add_argument("--json", help="write every run's figures here")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if a.mb < 1 or a.secs <= 0 or a.repeat < 1:
        print("io: --mb, --secs and --repeat must be positive", file=sys.stderr)
        return 2
    modes = [parse_mode(s, a.trevo) for s in a.modes.split(",") if s]
    for f in (a.kernel, a.initrd):
        if not os.path.exists(f):
            print("io: %s missing (guest/build.sh riscv)" % f, file=sys.stderr)
            return 1
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = load()
    runs = {m["label"]: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="trevo-io-") as w:
        tools = build_tools(w)
        for i in range(a.repeat):
            for mode in modes:
                r = run_once(mode, a, tools, w)
                if r:
                    runs[mode["label"]].append(r)
                    if a.repeat > 1:
                        print("io: run %d %s: %s" % (i + 1, mode["label"], " ".join(
                            "%s=%.4g" % (k, r[k]) for k, _, _ in COLUMNS if k in r)),
                            file=sys.stderr, flush=True)
    print("%s, load average %s at the start and %s at the end; %d MiB, >= %g s per test, "
          "median of %d run(s)%s" % (started, load0, load(), a.mb, a.secs, a.repeat,
                                       " (min-max below)" if a.repeat > 1 else ""))
    print("%-12s" % "mode" + "".join("%12s" % h for _, h, _ in COLUMNS))
    ok = False
    for mode in modes:
        s = summary(runs[mode["label"]])
        if not s:
            print("%-12s no result" % mode["label"])
            continue
        ok = True
        print("%-12s" % mode["label"] + "".join(
            "%12s" % (f % s[k][0] if k in s else "-") for k, _, f in COLUMNS))
        if a.repeat > 1:
            print("%-12s" % "" + "".join(
                "%12s" % ((f + "-" + f) % s[k][1:3] if k in s else "-") for k, _, f in COLUMNS))
    if a.stats:
        print("counters per MiB moved (per 4 KiB read in rand), medians:")
        for mode in modes:
            for ph in PHASES:
                per = [r["counters_" + ph] for r in runs[mode["label"]] if "counters_" + ph in r]
                if not per:
                    continue
                keys = sorted(set().union(*per), key=lambda k: (k not in ("instructions", "interrupts"), k))
                print("  %s %s: %s" % (mode["label"], ph, ", ".join(
                    "%s %.4g" % (k, statistics.median([d.get(k, 0) for d in per])) for k in keys
                    if not k.startswith("irq-") or k == "irq-sei")))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"started": started, "load": [load0, load()], "mb": a.mb, "secs": a.secs,
                       "runs": runs}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
