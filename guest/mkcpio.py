#!/usr/bin/env python3
"""Write a gzip'd newc cpio archive (an initramfs) from a list of entries,
without needing root for device nodes or ownership. Each input line is one
of (the shape of the kernel's usr/gen_init_cpio lists):

    dir   PATH MODE
    file  PATH HOSTFILE MODE
    slink PATH TARGET
    nod   PATH MODE c|b MAJOR MINOR

Owner is always root. Timestamps are 0, so the same inputs give the same
bytes. Usage: mkcpio.py LIST OUT.cpio.gz
"""
import gzip
import os
import stat
import sys


def header(ino, mode, nlink, size, rdevmaj, rdevmin, name):
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevmaj, rdevmin, len(name) + 1, 0]
    h = b"070701" + b"".join(b"%08X" % f for f in fields) + name + b"\0"
    return h + b"\0" * (-len(h) % 4)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mkcpio.py LIST OUT.cpio.gz")
    out = bytearray()
    ino = 1
    seen = set()
    with open(sys.argv[1]) as f:
        for lineno, line in enumerate(f, 1):
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            kind, path = w[0], w[1].lstrip("/").encode()
            if path in seen:
                continue
            seen.add(path)
            data = b""
            if kind == "dir":
                mode, nlink, maj, mnr = stat.S_IFDIR | int(w[2], 8), 2, 0, 0
            elif kind == "file":
                with open(w[2], "rb") as h:
                    data = h.read()
                mode, nlink, maj, mnr = stat.S_IFREG | int(w[3], 8), 1, 0, 0
            elif kind == "slink":
                data = w[2].encode()
                mode, nlink, maj, mnr = stat.S_IFLNK | 0o777, 1, 0, 0
            elif kind == "nod":
                typ = stat.S_IFCHR if w[3] == "c" else stat.S_IFBLK
                mode, nlink, maj, mnr = typ | int(w[2], 8), 1, int(w[4]), int(w[5])
            else:
                sys.exit("%s:%d: unknown entry '%s'" % (sys.argv[1], lineno, kind))
            out += header(ino, mode, nlink, len(data), maj, mnr, path)
            out += data + b"\0" * (-len(data) % 4)
            ino += 1
    out += header(0, 0, 1, 0, 0, 0, b"TRAILER!!!")
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(bytes(out), compresslevel=9, mtime=0))
    os.replace(tmp, sys.argv[2])


if __name__ == "__main__":
    main()
