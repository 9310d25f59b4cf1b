#!/usr/bin/env python3
"""Boot benchmark: the default RISC-V guest on Trevo (--mode full, and
--mode para unless --no-para) and on qemu-system-riscv64 -M virt, with the
same firmware (full and QEMU), kernel and initramfs.

For each VMM, two unattended boots (the guest's init runs trevo.run=CMD and
powers off):
  1. trevo.run=true: guest uptime at the TREVO-BOOT-OK marker (boot to init)
     and the host wall time from starting the VMM to its exit (poweroff);
  2. trevo.run=/bin/trevo-bench: the guest's own timing of a fixed amount of
     integer and floating-point work, and the host wall time of that boot
     (a check on the guest's clock).
Prints a table with every column and the ratios Trevo/QEMU (higher is slower).

    boot.py [--trevo BIN] [--kernel F] [--initrd F] [--firmware F] [--cpus N]
            [--repeat N] [--timeout S] [--only trevo|qemu] [--no-para] [-v]
"""
import argparse
import os
import re
import select
import subprocess
import sys
import time

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def boot(cmd, timeout, verbose):
    """Run one VMM until it exits; its console output, exit status, wall time."""
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    except OSError as e:
        return "cannot run %s: %s" % (cmd[0], e.strerror), None, 0.0
    out = b""
    status = None
    while True:
        left = t0 + timeout - time.monotonic()
        if left <= 0:
            p.kill()
            p.wait()
            return out.decode(errors="replace"), None, time.monotonic() - t0
        r, _, _ = select.select([p.stdout], [], [], min(left, 1.0))
        if r:
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                status = p.wait()
                break
            out += data
            if verbose:
                sys.stderr.buffer.write(data)
                sys.stderr.flush()
    wall = time.monotonic() - t0
    p.stdout.close()
    return out.decode(errors="replace"), status, wall


def vmm_cmd(vmm, a, append):
    if vmm == "qemu":
        return ["qemu-system-riscv64", "-M", "virt", "-smp", str(a.cpus), "-m", a.memory,
                "-nographic", "-bios", a.firmware, "-kernel", a.kernel, "-initrd", a.initrd,
                "-append", append]
    # trevo-full runs the same firmware as QEMU; trevo-para has none (SBI is
    # answered by the monitor).
    mode = vmm.split("-")[1]
    return [a.trevo, "run", "--mode", mode] + \
        (["--firmware", a.firmware] if mode == "full" else []) + \
        ["--kernel", a.kernel, "--initrd", a.initrd, "--cpus", str(a.cpus),
         "--memory", a.memory, "--append", append]


def measure(vmm, a):
    """{metric: seconds} (medians over --repeat), or an error string."""
    samples = {}

    def add(k, v):
        samples.setdefault(k, []).append(v)

    for _ in range(a.repeat):
        out, st, wall = boot(vmm_cmd(vmm, a, "console=ttyS0 quiet trevo.run=true"), a.timeout,
                             a.verbose)
        m = re.search(r"TREVO-BOOT-OK uptime=([0-9.]+)", out)
        if st is None or st != 0 or not m:
            return "boot failed (status %s, marker %s): %s" % (
                st, "seen" if m else "missing", " | ".join(out.strip().splitlines()[-3:])[-200:])
        add("boot", float(m.group(1)))
        add("wall", wall)
        out, st, wall = boot(vmm_cmd(vmm, a, "console=ttyS0 quiet trevo.run=/bin/trevo-bench"),
                             a.timeout, a.verbose)
        m = re.search(r"TREVO-BENCH int=([0-9.]+) fp=([0-9.]+) total=([0-9.]+)", out)
        if st is None or not m:
            return "trevo-bench failed (status %s): %s" % (
                st, " | ".join(out.strip().splitlines()[-3:])[-200:])
        add("benchwall", wall)
        add("int", float(m.group(1)))
        add("fp", float(m.group(2)))
        add("total", float(m.group(3)))
    return {k: sorted(v)[len(v) // 2] for k, v in samples.items()}


ROWS = [("boot", "boot to init (guest uptime, s)"),
        ("wall", "start to poweroff (host wall, s)"),
        ("int", "trevo-bench integer (s)"),
        ("fp", "trevo-bench floating point (s)"),
        ("total", "trevo-bench total (s)"),
        # The same boot seen from the host: catches a guest clock that does
        # not follow real time.
        ("benchwall", "  boot+bench+poweroff (host wall, s)")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trevo", default=os.environ.get("TREVO", os.path.join(ROOT, "build/trevo")))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--firmware",
                    default="/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--repeat", type=int, default=1, help="boots per figure (median)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per boot")
    ap.add_argument("--only", choices=["trevo", "qemu"], help="trevo: both Trevo modes")
    ap.add_argument("--no-para", action="store_true", help="leave out Trevo's para mode")
    ap.add_argument("-v", "--verbose", action="store_true", help="copy consoles to stderr")
    a = ap.parse_args()

    for path in (a.kernel, a.initrd, a.firmware):
        if not os.path.exists(path):
            sys.exit("bench/boot: %s missing (make guest)" % path)
    cols = ["trevo-full"] + ([] if a.no_para else ["trevo-para"]) + ["qemu"]
    cols = vmms = [c for c in cols if not a.only or c.startswith(a.only)]
    res = {}
    for vmm in vmms:
        print("bench/boot: %s..." % vmm, file=sys.stderr, flush=True)
        if vmm.startswith("trevo") and not os.access(a.trevo, os.X_OK):
            res[vmm] = "%s not built" % a.trevo
        else:
            res[vmm] = measure(vmm, a)

    def val(vmm, key):
        r = res.get(vmm)
        return r[key] if isinstance(r, dict) else None

    ratios = [c for c in cols if c != "qemu"] if "qemu" in cols else []
    print("Boot benchmark: RISC-V guest, %d CPUs, %s, median of %d (%s, %s)"
          % (a.cpus, a.memory, a.repeat, os.path.basename(a.kernel),
             os.path.basename(a.firmware)))
    print("%-38s" % "" + "".join("%11s" % c for c in cols)
          + "".join("%12s" % (c.split("-")[1] + "/qemu") for c in ratios))
    for key, label in ROWS:
        line = "%-38s" % label
        for c in cols:
            v = val(c, key)
            line += "%11.3f" % v if v is not None else "%11s" % "-"
        q = val("qemu", key)
        for c in ratios:
            v = val(c, key)
            line += "%11.2fx" % (v / q) if v is not None and q else "%12s" % "-"
        print(line)
    print("(ratios: Trevo's time / QEMU's; above 1 Trevo is slower; full runs fw_jump.bin "
          "like QEMU, para answers SBI in the monitor)")
    failed = False
    for vmm in vmms:
        if not isinstance(res[vmm], dict):
            print("%s: %s" % (vmm, res[vmm]))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
