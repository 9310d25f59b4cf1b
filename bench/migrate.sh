#!/bin/bash
# Snapshot size, time and restore time, Trevo beside QEMU (bench/migrate.py).
cd "$(dirname "$0")/.."
exec python3 -B bench/migrate.py "$@"
