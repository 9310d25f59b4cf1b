#!/usr/bin/env python3
"""Seed inputs for fuzz_virtio_mmio: a driver that brings virtio-rng up the
way Linux does and posts one request, so the fuzzer starts past the
handshake. usage: mkseed.py DIR"""
import os
import struct
import sys

RAM = 0x80000000
out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def w(off, v):
    return struct.pack("<BHI", 0, off, v & 0xffffffff)


def program(event_idx, indirect):
    ram = bytearray(1024)
    # descriptor 0 at RAM+0: a 64-byte writable buffer at RAM+0x800
    if indirect:
        struct.pack_into("<QIHH", ram, 0, RAM + 0x300, 32, 4, 0)
        struct.pack_into("<QIHH", ram, 0x300, RAM + 0x800, 16, 3, 1)
        struct.pack_into("<QIHH", ram, 0x310, RAM + 0x900, 16, 2, 0)
    else:
        struct.pack_into("<QIHH", ram, 0, RAM + 0x800, 64, 2, 0)
    # avail ring at RAM+0x100: idx 1, ring[0] = 0
    struct.pack_into("<HHH", ram, 0x100, 0, 1, 0)
    feats = (1 << 28 if indirect else 0) | (1 << 29 if event_idx else 0)
    p = b"".join([
        w(0x070, 0), w(0x070, 1), w(0x070, 3),
        w(0x014, 0), w(0x024, 0), w(0x020, feats), w(0x024, 1), w(0x020, 1),
        w(0x070, 11),
        w(0x030, 0), w(0x038, 8),
        w(0x080, RAM), w(0x084, 0), w(0x090, RAM + 0x100), w(0x094, 0),
        w(0x0a0, RAM + 0x200), w(0x0a4, 0), w(0x044, 1),
        w(0x070, 15), w(0x050, 0), w(0x064, 1),
    ])
    return struct.pack("<H", len(ram)) + bytes(ram) + p


for i, (e, ind) in enumerate([(False, False), (True, False), (True, True)]):
    with open(os.path.join(out, "seed%d" % i), "wb") as f:
        f.write(program(e, ind))
