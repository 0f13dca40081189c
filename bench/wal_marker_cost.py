#!/usr/bin/env python3
"""What the LMDB log's end marker costs against the alternative of #20 (a synced-length slot in
the log's first page, written beside each record and flushed by the same fdatasync).

A: record + 16-byte end marker in one pwrite, fdatasync (what format 5 does; format 4 wrote
   16 zeros there instead, the same cost).
B: record in one pwrite, a 16-byte slot in page 0 in a second pwrite, fdatasync (two pages
   dirty per flush once the records are past the first page).

Alternates A and B for ROUNDS rounds of N commits each in a file beside the journals
(TIDELOG_BENCH_DIR, default the current directory) and prints the best round of each and B/A.
Run: chrt -f 10 python3 bench/wal_marker_cost.py
"""
import os, sys, tempfile, time

N = int(os.environ.get("N", "400"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
RECORD = b"r" * 200


def run(fd: int, slot: bool) -> float:
    start = time.perf_counter()
    at = 8192
    for i in range(N):
        os.pwrite(fd, RECORD + b"m" * 16, at)
        if slot:
            os.pwrite(fd, i.to_bytes(16, "little"), (i % 2) * 16)
        os.fdatasync(fd)
        at += len(RECORD)
    return (time.perf_counter() - start) / N


def main() -> None:
    directory = os.environ.get("TIDELOG_BENCH_DIR", ".")
    with tempfile.TemporaryDirectory(dir=directory) as d:
        path = os.path.join(d, "log")
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        os.pwrite(fd, bytes(1 << 20), 0)  # written ahead, as the log is
        os.fsync(fd)
        best = {"A": float("inf"), "B": float("inf")}
        for _ in range(ROUNDS):
            for name, slot in (("A", False), ("B", True)):
                best[name] = min(best[name], run(fd, slot))
        os.close(fd)
    print(f"A end marker, one write:  {best['A'] * 1e6:8.1f} us/commit")
    print(f"B slot in page 0 + record: {best['B'] * 1e6:8.1f} us/commit")
    print(f"B/A = {best['B'] / best['A']:.2f}  (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    sys.exit(main())
