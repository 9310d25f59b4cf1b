#!/usr/bin/env python3
"""tests/bench: see run.sh. One line per test: PASS/FAIL/SKIP name[: why]."""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench/run.sh")


def report(status, name, why=""):
    print("%s %s%s" % (status, name, ": " + why if why else ""), flush=True)


def bench(trevo, args, env=None, timeout=600):
    e = dict(os.environ, TREVO=trevo)
    e.update(env or {})
    try:
        p = subprocess.run(["bash", BENCH] + args, capture_output=True, text=True, timeout=timeout,
                           env=e)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % timeout
    return p.returncode, p.stdout, p.stderr


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def check_outputs(out, modes, wls, expect_ok):
    """Problems with DIR's bench.txt/json/svg/png, as a list of strings."""
    bad = []
    try:
        with open(os.path.join(out, "bench.txt")) as f:
            text = f.read()
    except OSError as e:
        return ["no bench.txt: %s" % e]
    head = [l for l in text.splitlines() if l.startswith("workload (unit)")]
    if not head or any(m not in head[0].split() for m in modes):
        bad.append("the table's header does not name every mode: %r" % (head[:1],))
    for w in wls:
        if not any(l.startswith(w + " (") for l in text.splitlines()):
            bad.append("no table row for %s" % w)
    try:
        with open(os.path.join(out, "bench.json")) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return bad + ["bench.json: %s" % e]
    cells = {(r["mode"], r["workload"]): r for r in doc.get("results", [])}
    for m in modes:
        for w in wls:
            r = cells.get((m, w))
            if not r:
                bad.append("JSON has no %s/%s" % (m, w))
            elif r["status"] == "ok":
                if not (r.get("figure") or 0) > 0:
                    bad.append("%s/%s: figure %r" % (m, w, r.get("figure")))
                if w in ("int", "syscall") and m != "native" and not r.get("slowdown"):
                    bad.append("%s/%s: no slowdown against native" % (m, w))
            elif r["status"] == "not run":
                if not r.get("reason"):
                    bad.append("%s/%s: not run without a reason" % (m, w))
                if (m, w) in expect_ok:
                    bad.append("%s/%s did not run: %s" % (m, w, r.get("reason")))
            else:
                bad.append("%s/%s: status %s (%s)" % (m, w, r["status"], r.get("reason")))
    if doc.get("failures"):
        bad.append("failures: %s" % doc["failures"])
    try:
        root = ET.parse(os.path.join(out, "bench.svg")).getroot()
        if not root.tag.endswith("svg"):
            bad.append("bench.svg's root is %s" % root.tag)
    except (OSError, ET.ParseError) as e:
        bad.append("bench.svg: %s" % e)
    size = png_size(os.path.join(out, "bench.png")) if os.path.exists(
        os.path.join(out, "bench.png")) else None
    if not size or size[0] < 100 or size[1] < 100:
        bad.append("bench.png is not a PNG picture (%s)" % (size,))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trevo", required=True)
    ap.add_argument("--variant", default="plain")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="trevo-bench-test-")

    for f in ("build/bench/trevo-bench-host", "build/bench/bare-rv.bin",
              "build/bench/bare-x86.bin", "build/guest/riscv/Image"):
        if not os.path.exists(os.path.join(ROOT, f)):
            report("SKIP", "bench-quick", "%s missing (make test-build guest)" % f)
            return 0

    # Bad input: one line on stderr, non-zero exit, before anything runs.
    for name, args in (("bench-bad-mode", ["--modes", "native,warp"]),
                       ("bench-bad-workload", ["--workloads", "int,nothing"]),
                       ("bench-bad-repeat", ["--repeat", "0"])):
        rc, out, err = bench(a.trevo, args + ["--out", tmp], timeout=60)
        lines = [l for l in err.splitlines() if l.strip()]
        if rc and rc != 0 and len(lines) == 1 and "trevo bench" in lines[0]:
            report("PASS", name)
        else:
            report("FAIL", name, "status %s, stderr %r" % (rc, err[-200:]))

    if a.variant == "san":
        modes, wls = ["native", "para"], ["int", "fp", "syscall"]
        extra = []
    else:
        modes = ["native", "full", "para", "hw", "qemu-tcg", "qemu-kvm"]
        # membw and memlat take minutes where KVM is emulated in software.
        wls = ["int", "fp", "syscall", "pagefault", "diskrand", "tcp", "boot", "rss"]
        extra = ["--boot-timeout", "45"]
    out = os.path.join(tmp, "quick")
    rc, stdout, err = bench(a.trevo, ["--quick", "--modes", ",".join(modes), "--workloads",
                                      ",".join(wls), "--out", out] + extra, timeout=900)
    if rc != 0:
        report("FAIL", "bench-quick", "status %s: %s" % (rc, (err or stdout)[-300:]))
    else:
        report("PASS", "bench-quick")
    # What must run on any host that builds Trevo: native, and the software
    # CPU in full and para on every workload of the set.
    must = {(m, w) for m in ("native", "full", "para") if m in modes for w in wls
            if not (m == "native" and w in ("boot", "rss"))}
    bad = check_outputs(out, modes, wls, must)
    report("FAIL" if bad else "PASS", "bench-outputs", "; ".join(bad)[:400])
    # Every cell that ran passed its checksum check (a wrong one is status
    # "wrong" and fails the run); say how many mode/workload pairs that is.
    try:
        with open(os.path.join(out, "bench.json")) as f:
            doc = json.load(f)
        ok = [r for r in doc["results"] if r["status"] == "ok"]
        wrong = [r for r in doc["results"] if r["status"] == "wrong"]
        per_mode = {m: sum(1 for r in ok if r["mode"] == m) for m in modes}
        if wrong or not ok:
            report("FAIL", "bench-checksums", "wrong: %s" % [(r["mode"], r["workload"]) for r in wrong])
        else:
            report("PASS", "bench-checksums")
        print("# cells checked per mode: %s" % per_mode)
    except (OSError, ValueError, KeyError) as e:
        report("FAIL", "bench-checksums", str(e))

    # A native program whose syscall result is wrong: the bench must say
    # WRONG and exit non-zero.
    liar = os.path.join(tmp, "liar.sh")
    with open(liar, "w") as f:
        f.write("#!/bin/sh\nexec %s \"$@\" | sed -u 's/^R syscall \\([0-9]*\\) [0-9a-f]*/R syscall \\1 1/'\n"
                % os.path.join(ROOT, "build/bench/trevo-bench-host"))
    os.chmod(liar, 0o755)
    out2 = os.path.join(tmp, "liar")
    rc, stdout, err = bench(a.trevo, ["--quick", "--modes", "native", "--workloads", "syscall",
                                      "--out", out2], env={"TREVO_BENCH_HOST": liar}, timeout=120)
    if rc not in (0, None) and "WRONG" in stdout and "FAIL" in err:
        report("PASS", "bench-wrong-result-fails")
    else:
        report("FAIL", "bench-wrong-result-fails", "status %s: %s" % (rc, (stdout + err)[-300:]))
    subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
