#!/usr/bin/env python3
"""End-to-end tests of the QMP socket (--qmp) on the default RISC-V guest in
full mode, driven on a pty as tests/boot does (its Guest class). Prints one
line per test in the format of tests/run.sh.

    qmp_test.py [--trevo BIN] [--kernel F] [--initrd F] [--firmware F]
                [--timeout-scale X] [--only PARTS] [-v]

Standard library only.
"""
import argparse
import json
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "boot"))
sys.dont_write_bytecode = True   # no __pycache__ left in the source tree
from boot_test import ANSI, DEFAULT_FW, Guest, Timeout  # noqa: E402


class Closed(Exception):
    pass


class Qmp:
    """One QMP connection. Replies come back in order; events met on the
    way are kept in self.events. pump() keeps the guest console drained
    while we wait (the guest must never stall on a full pty)."""

    def __init__(self, path, pump, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.s.setblocking(False)
        self.buf = b""
        self.events = []
        self.pump = pump
        self.closed = False

    def close(self):
        self.s.close()

    def recv(self, timeout):
        """The next message (dict); Timeout or Closed."""
        deadline = time.monotonic() + timeout
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                return json.loads(line)
            if self.closed:
                raise Closed("connection closed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no QMP message within %ds" % timeout)
            self.pump(0.02)
            try:
                data = self.s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                raise Closed(str(e))
            if not data:
                self.closed = True
            self.buf += data

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.setblocking(True)
        try:
            self.s.sendall(data)
        finally:
            self.s.setblocking(False)

    def reply(self, timeout):
        while True:
            m = self.recv(timeout)
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, name, args=None, timeout=10, **extra):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        req.update(extra)
        self.send(json.dumps(req) + "\n")
        return self.reply(timeout)

    def event(self, name, timeout):
        """Wait for event name (already received ones count)."""
        deadline = time.monotonic() + timeout
        while True:
            for k, e in enumerate(self.events):
                if e["event"] == name:
                    del self.events[k]
                    return e
            m = self.recv(max(0.01, deadline - time.monotonic()))
            if "event" in m:
                self.events.append(m)

    def maybe_event(self, name, timeout):
        """The event, or {} when it does not come (its test fails, the
        others go on)."""
        try:
            return self.event(name, timeout)
        except (Timeout, Closed):
            return {}

    def greet(self, timeout=10):
        g = self.recv(timeout)
        r = self.cmd("qmp_capabilities", timeout=timeout)
        return g, r


def is_error(r, cls):
    e = r.get("error")
    return isinstance(e, dict) and e.get("class") == cls and isinstance(e.get("desc"), str) \
        and "return" not in r


class Runner:
    def __init__(self, a):
        self.a = a
        self.t = a.timeout_scale
        self.results = []
        self.tmp = tempfile.mkdtemp(prefix="trevo-qmp-")
        self.n = 0

    def report(self, name, ok, why=""):
        if ok is None:
            line = "SKIP qmp-%s: %s" % (name, why)
        elif ok:
            line = "PASS qmp-%s" % name
        else:
            line = "FAIL qmp-%s: %s" % (name, why)
        print(line, flush=True)
        self.results.append(line)

    def cmd(self, sock, qmp_opts=",server,nowait", cpus=2):
        a = self.a
        return [a.trevo, "run", "--mode", "full", "--kernel", a.kernel, "--initrd", a.initrd,
                "--firmware", a.firmware, "--cpus", str(cpus), "--memory", "512M",
                "--append", "console=ttyS0", "--qmp", "unix:" + sock + qmp_opts]

    def sock(self, name):
        return os.path.join(self.tmp, name + ".sock")

    def connect(self, g, path, timeout=30):
        """Connect once the socket is there (the VM creates it at start)."""
        deadline = time.monotonic() + timeout * self.t
        while True:
            try:
                return Qmp(path, g._pump, 10 * self.t)
            except OSError:
                if time.monotonic() > deadline or g.exited():
                    raise Timeout("no QMP socket at %s (VM status %s; stderr %r)"
                                  % (path, g.status, g.err.decode(errors="replace")[-200:]))
                g._pump(0.1)

    def shell(self, g, command, timeout=30):
        """Run command at the guest shell; its output between markers only
        the shell's arithmetic produces (not the echoed line)."""
        self.n += 1
        start, end = 3000 + 2 * self.n, 3001 + 2 * self.n
        g.send("echo '<'$((%d))'>'; %s; echo '<'$((%d))'>'\r" % (start, command, end))
        g.expect(rb"<%d>\r*\n" % start, timeout * self.t)
        m = g.expect(rb"(.*?)<%d>" % end, timeout * self.t)
        return ANSI.sub(b"", m.group(1)).decode(errors="replace").replace("\r", "").strip()

    def alive(self, g, q):
        """The VM answers QMP and its guest runs (the shell echoes)."""
        r = q.cmd("query-status")
        if r.get("return", {}).get("status") != "running":
            return False, "query-status gave %r" % r
        try:
            out = self.shell(g, "echo alive", 30)
        except Timeout as e:
            return False, "guest shell silent: %s" % e
        return out.endswith("alive"), "shell printed %r" % out

    def boot(self, g):
        g.expect(rb"TREVO-BOOT-OK", 120 * self.t)
        g.expect(rb"# ", 30 * self.t)

    # -- the main session: one VM through most checks ----------------------

    def session(self):
        t = self.t
        path = self.sock("main")
        g = Guest(self.cmd(path), self.a.verbose)
        names = ["greeting", "before-negotiation", "negotiation", "socket-mode", "query-status",
                 "query-version", "query-commands", "query-cpus-fast", "stop-cont",
                 "stop-cont-events", "stats-grow", "bad-json", "unknown-command", "bad-arg-type",
                 "unknown-arg", "bad-request-shapes", "garbage-bytes", "line-over-64k",
                 "hangup-mid-line", "hangup-mid-command", "twenty-clients", "client-query-status",
                 "client-arguments", "client-bad-command", "client-usage", "client-no-server",
                 "system-reset", "guest-reboot-1", "guest-reboot-2", "poweroff-shutdown",
                 "poweroff-status", "socket-removed"]
        done = set()

        def rep(name, ok, why=""):
            done.add(name)
            self.report(name, ok, why)

        try:
            q = self.connect(g, path)
            greet = q.recv(10 * t)
            v = greet.get("QMP", {}).get("version", {})
            rep("greeting", greet.get("QMP", {}).get("capabilities") == [] and
                isinstance(v.get("qemu", {}).get("major"), int) and
                str(v.get("package", "")).startswith("trevo "), "greeting %r" % greet)
            r = q.cmd("query-status", id="x1")
            rep("before-negotiation", is_error(r, "CommandNotFound") and r.get("id") == "x1",
                "reply %r" % r)
            r = q.cmd("qmp_capabilities")
            r2 = q.cmd("qmp_capabilities")
            rep("negotiation", r.get("return") == {} and is_error(r2, "CommandNotFound"),
                "replies %r, %r" % (r, r2))
            st = os.stat(path)
            rep("socket-mode", stat.S_ISSOCK(st.st_mode) and (st.st_mode & 0o777) == 0o600,
                "mode %o" % st.st_mode)

            self.boot(g)
            r = q.cmd("query-status")
            rep("query-status", r.get("return") == {"running": True, "singlestep": False,
                                                     "status": "running"}, "reply %r" % r)
            r = q.cmd("query-version")
            rep("query-version", r.get("return", {}).get("package") == greet["QMP"]["version"]["package"],
                "reply %r" % r)
            r = q.cmd("query-commands")
            names_ = {c.get("name") for c in r.get("return", [])}
            rep("query-commands", {"qmp_capabilities", "query-status", "stop", "cont", "system_reset",
                                   "quit", "query-cpus-fast", "query-version", "query-commands",
                                   "query-stats"} <= names_, "reply %r" % r)
            r = q.cmd("query-cpus-fast")
            cpus = r.get("return", [])
            rep("query-cpus-fast", len(cpus) == 2 and
                all(c.get("cpu-index") == i and c.get("qom-path") == "/machine/cpu/%d" % i and
                    isinstance(c.get("thread-id"), int) and c.get("thread-id") > 0 and
                    c.get("target") == "riscv64" and isinstance(c.get("props"), dict)
                    for i, c in enumerate(cpus)), "reply %r" % r)

            self.stop_cont(g, q, rep)
            self.bad_inputs(g, q, path, rep)
            self.many_clients(g, q, path, rep)
            self.client_program(g, path, rep)
            self.resets(g, q, rep)
        except (Timeout, Closed, OSError, ValueError, KeyError, AttributeError) as e:
            for name in names:
                if name not in done:
                    self.report(name, False, "not reached (%s: %s); console: %s"
                                % (type(e).__name__, e, g.tail(200)))
        finally:
            g.kill()

    def counter_values(self, g, since):
        return [int(x) for x in re.findall(rb"C([0-9]+)\r*\n", g.out[since:])]

    def stop_cont(self, g, q, rep):
        t = self.t
        # A counter in the guest: output that only a running guest makes.
        g.send("i=0; while :; do i=$((i+1)); echo C$i; sleep 0.1 2>/dev/null || usleep 100000; done\r")
        g.expect(rb"C5\r*\n", 30 * t)
        # Counters grow between two query-stats while it runs.
        def insns():
            r = q.cmd("query-stats", {"target": "vcpu"})
            total, names_ = 0, []
            for p in r.get("return", []):
                for s in p.get("stats", []):
                    names_.append(s.get("name"))
                    if s.get("name") == "instructions":
                        total += s.get("value", 0)
            return total, r, names_
        a, _, _ = insns()
        time.sleep(0.5 * t)
        b, r, names_ = insns()
        rep("stats-grow", a > 0 and b > a and all(p.get("provider") == "trevo" and
                                                   p.get("target") == "vcpu" for p in r["return"]),
            "instructions %d then %d (stat names %s)" % (a, b, sorted(set(map(str, names_)))[:10]))

        q.events.clear()
        r = q.cmd("stop")
        stopped = r.get("return") == {}
        ev_stop = q.maybe_event("STOP", 10 * t)
        st = q.cmd("query-status").get("return", {})
        g._pump(0.3)  # what was already on its way out
        mark = len(g.out)
        last = max(self.counter_values(g, 0) or [0])
        end = time.monotonic() + 1.0 * t
        while time.monotonic() < end:
            g._pump(0.1)
        paused_new = self.counter_values(g, mark)
        r2 = q.cmd("cont")
        ev_resume = q.maybe_event("RESUME", 10 * t)
        try:
            g.expect(rb"C%d\r*\n" % (last + 2), 20 * t)
            resumed = True
        except Timeout:
            resumed = False
        rep("stop-cont", stopped and st.get("status") == "paused" and st.get("running") is False and
            not paused_new and r2.get("return") == {} and resumed,
            "stop %r, status %r, counter while paused %r, cont %r, resumed %s"
            % (r, st, paused_new[:5], r2, resumed))
        ts = ev_stop.get("timestamp", {})
        rep("stop-cont-events", isinstance(ts.get("seconds"), int) and
            abs(ts["seconds"] - time.time()) < 60 and 0 <= ts.get("microseconds", -1) < 1000000 and
            ev_resume.get("event") == "RESUME", "events %r, %r" % (ev_stop, ev_resume))
        g.send("\x03")
        g.expect(rb"# ", 30 * t)

    def bad_inputs(self, g, q, path, rep):
        def check(name, ok, why):
            alive, awhy = self.alive(g, q)
            rep(name, ok and alive, "%s; %s" % (why, awhy))

        q.send('{"execute": "query-status",,}\n')
        r = q.reply(10)
        check("bad-json", is_error(r, "GenericError"), "reply %r" % r)
        r = q.cmd("no-such-command", id=5)
        check("unknown-command", is_error(r, "CommandNotFound") and r.get("id") == 5, "reply %r" % r)
        r = q.cmd("query-stats", {"target": 7})
        check("bad-arg-type", is_error(r, "GenericError"), "reply %r" % r)
        r = q.cmd("query-status", {"verbose": True})
        r2 = q.cmd("stop", {"now": 1})
        st = q.cmd("query-status").get("return", {}).get("status")
        check("unknown-arg", is_error(r, "GenericError") and is_error(r2, "GenericError") and
              st == "running", "replies %r, %r, status %s" % (r, r2, st))
        replies = []
        for bad in ('[1, 2]\n', '"stop"\n', '{"arguments": {}}\n', '{"execute": 3}\n',
                    '{"execute": "stop", "arguments": [1]}\n', '{"execute": "stop", "x": 1}\n',
                    '{"exec-oob": "stop"}\n', '{"execute": "stop", "execute": "cont"}\n',
                    '[' * 100 + ']' * 100 + '\n'):
            q.send(bad)
            replies.append(q.reply(10))
        check("bad-request-shapes", all(is_error(r, "GenericError") for r in replies),
              "replies %r" % [r.get("error", r) for r in replies])
        # Random bytes, NULs and invalid UTF-8 on their own connection; every
        # reply an error, and the connection still usable after a newline.
        q2 = self.connect(g, path)
        q2.greet()
        q2.send(bytes(range(256)) + b"\n\xff\xfe{\"execute\": \"\xc3\x28\"}\n\x00\n")
        errors, m = 0, None
        try:
            while True:
                m = q2.reply(1.0 * self.t)
                if not is_error(m, "GenericError") and not is_error(m, "CommandNotFound"):
                    break
                errors += 1
        except Timeout:
            m = None
        r = q2.cmd("query-status")
        q2.close()
        check("garbage-bytes", errors >= 1 and m is None and r.get("return", {}).get("status") == "running",
              "%d error replies, then %r; status %r" % (errors, m, r))
        # Over 64 KiB without a line end: an error, then the connection closes.
        q3 = self.connect(g, path)
        q3.greet()
        closed, r = False, None
        try:
            q3.send(b'{"execute": "query-status", "id": "' + b"x" * (70 * 1024) + b'"}\n')
        except OSError:
            pass
        try:
            r = q3.reply(10 * self.t)
            q3.reply(10 * self.t)
        except Closed:
            closed = True
        except Timeout:
            pass
        q3.close()
        check("line-over-64k", r is not None and is_error(r, "GenericError") and closed,
              "reply %r, closed %s" % (r, closed))
        q4 = self.connect(g, path)
        q4.greet()
        q4.send('{"execute": "query-st')
        q4.close()
        check("hangup-mid-line", True, "hung up mid-line")
        q5 = self.connect(g, path)
        q5.greet()
        q5.send('{"execute": "query-stats"}\n{"execute": "query-cpus-fast"}\n')
        q5.close()
        time.sleep(0.2)
        check("hangup-mid-command", True, "hung up before the replies")

    def many_clients(self, g, q, path, rep):
        t = self.t
        cs = [self.connect(g, path) for _ in range(20)]
        ok, why = True, ""
        for c in cs:
            c.greet()
        for c in cs:
            r = c.cmd("query-status")
            if r.get("return", {}).get("status") != "running":
                ok, why = False, "a client got %r" % r
        q.cmd("stop")
        q.cmd("cont")
        got = 0
        for c in cs:
            try:
                c.event("STOP", 10 * t)
                c.event("RESUME", 10 * t)
                got += 1
            except (Timeout, Closed):
                pass
        for c in cs:
            c.close()
        alive, awhy = self.alive(g, q)
        rep("twenty-clients", ok and got == 20 and alive,
            "%s; %d of 20 saw STOP and RESUME; %s" % (why, got, awhy))

    def client_program(self, g, path, rep):
        t = self.t

        def run(*args):
            # Keep the console drained while the client runs.
            p = subprocess.Popen([self.a.trevo, "qmp"] + list(args), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            end = time.monotonic() + 30 * t
            while p.poll() is None and time.monotonic() < end:
                g._pump(0.05)
            if p.poll() is None:
                p.kill()
            out, err = p.communicate()
            return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")

        rc, out, err = run(path, "query-status")
        try:
            v = json.loads(out)
        except ValueError:
            v = None
        rep("client-query-status", rc == 0 and v == {"running": True, "singlestep": False,
                                                    "status": "running"} and not err,
            "status %d, stdout %r, stderr %r" % (rc, out, err))
        rc, out, err = run("unix:" + path, "query-stats", "target=vm")
        try:
            v = json.loads(out)
        except ValueError:
            v = None
        rep("client-arguments", rc == 0 and isinstance(v, list) and len(v) == 1 and
            v[0].get("target") == "vm", "status %d, stdout %r, stderr %r" % (rc, out[:200], err))
        rc, out, err = run(path, "no-such-command", "a=1")
        rc2, out2, err2 = run(path, "query-stats", "target=true")
        rep("client-bad-command", rc == 1 and not out and
            re.fullmatch(r"trevo: qmp: CommandNotFound: .+\n", err) is not None and
            rc2 == 1 and re.fullmatch(r"trevo: qmp: GenericError: .+\n", err2) is not None,
            "status %d, stdout %r, stderr %r; status %d, stderr %r" % (rc, out, err, rc2, err2))
        rc, out, err = run()
        rc2, out2, err2 = run(path, "query-status", "novalue")
        rep("client-usage", rc == 2 and len(err.splitlines()) == 1 and rc2 == 2 and
            len(err2.splitlines()) == 1, "status %d %r; status %d %r" % (rc, err, rc2, err2))
        rc, out, err = run(os.path.join(self.tmp, "none.sock"), "query-status")
        rep("client-no-server", rc == 2 and len(err.splitlines()) == 1 and not out,
            "status %d, stderr %r" % (rc, err))

    def resets(self, g, q, rep):
        t = self.t
        q.events.clear()
        r = q.cmd("system_reset")
        ev = q.maybe_event("RESET", 10 * t)
        try:
            self.boot(g)
            out = self.shell(g, "echo back")
            ok = out.endswith("back")
        except Timeout as e:
            ok, out = False, str(e)
        rep("system-reset", r.get("return") == {} and ev.get("data", {}).get("guest") is False and ok,
            "reply %r, event %r, shell %r" % (r, ev, out[-100:]))
        for n in (1, 2):
            g.send("reboot\r")
            ev = q.maybe_event("RESET", 120 * t)
            try:
                self.boot(g)
                out = self.shell(g, "echo back%d" % n)
                ok = out.endswith("back%d" % n)
            except Timeout as e:
                ok, out = False, str(e)
            st = q.cmd("query-status").get("return", {}).get("status")
            rep("guest-reboot-%d" % n, ev.get("data", {}).get("guest") is True and ok and
                st == "running", "event %r, shell %r, status %s" % (ev, out[-100:], st))
        g.send("poweroff\r")
        ev = q.maybe_event("SHUTDOWN", 120 * t)
        rep("poweroff-shutdown", ev.get("data", {}).get("guest") is True and
            ev["data"].get("reason") == "guest-shutdown", "event %r" % ev)
        st = g.wait(60 * t)
        rep("poweroff-status", st == 0, "exit status %s" % st)
        path = self.sock("main")
        rep("socket-removed", not os.path.exists(path), "%s still there" % path)

    # -- quit, and a server that waits for its first client -------------------

    def quit(self):
        t = self.t
        path = self.sock("quit")
        # A stale socket file, as a killed trevo leaves behind.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        g = Guest(self.cmd(path, ",server"), self.a.verbose)
        names = ["stale-socket", "server-waits", "quit-reply", "quit-shutdown", "quit-status"]
        done = set()
        try:
            q = self.connect(g, path)
            done.add("stale-socket")
            self.report("stale-socket", True)
            # Without nowait the guest starts only once a client is there:
            # it said so on stderr, and the console was silent until now.
            booted_before = b"OpenSBI" in g.out or b"TREVO-BOOT-OK" in g.out
            q.greet()
            self.boot(g)
            done.add("server-waits")
            self.report("server-waits", not booted_before and b"waiting" in g.err,
                        "console before the client %r, stderr %r" % (g.tail(100), g.err[-200:]))
            r = q.cmd("quit", id="bye")
            done.add("quit-reply")
            self.report("quit-reply", r.get("return") == {} and r.get("id") == "bye", "reply %r" % r)
            ev = q.event("SHUTDOWN", 30 * t)
            done.add("quit-shutdown")
            self.report("quit-shutdown", ev.get("data", {}).get("reason") == "host-qmp-quit" and
                        ev["data"].get("guest") is False, "event %r" % ev)
            st = g.wait(30 * t)
            done.add("quit-status")
            self.report("quit-status", st == 0 and not os.path.exists(path),
                        "exit status %s, socket left: %s" % (st, os.path.exists(path)))
        except (Timeout, Closed, OSError, ValueError, KeyError) as e:
            for name in names:
                if name not in done:
                    self.report(name, False, "not reached (%s: %s); stderr %r"
                                % (type(e).__name__, e, g.err.decode(errors="replace")[-200:]))
        finally:
            g.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trevo", default=os.environ.get("TREVO", os.path.join(ROOT, "build/trevo")))
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build/guest/riscv/Image"))
    ap.add_argument("--initrd", default=os.path.join(ROOT, "build/guest/riscv/initramfs.cpio.gz"))
    ap.add_argument("--firmware", default=DEFAULT_FW)
    ap.add_argument("--timeout-scale", type=float,
                    default=3.0 if os.environ.get("VARIANT") == "san" else 1.0)
    ap.add_argument("--only", help="comma-separated parts: session,quit")
    ap.add_argument("-v", "--verbose", action="store_true", help="copy the console to stderr")
    a = ap.parse_args()

    r = Runner(a)
    parts = [("session", r.session), ("quit", r.quit)]
    if a.only:
        parts = [p for p in parts if p[0] in a.only.split(",")]
    missing = None
    for path, what in ((a.kernel, "guest kernel"), (a.initrd, "guest initramfs"),
                       (a.firmware, "firmware")):
        if not os.path.exists(path):
            missing = "%s %s missing (make guest)" % (what, path)
    if not missing and not os.access(a.trevo, os.X_OK):
        missing = "%s not built" % a.trevo
    if missing:
        r.report("all", None, missing)
        return 0
    for _, fn in parts:
        fn()
    return 1 if any(x.startswith("FAIL") for x in r.results) else 0


if __name__ == "__main__":
    sys.exit(main())
