"""Benchmarks of the `tidelog` Python package.

1. Per-call overhead of a no-sync `Journal.append` (one 100-byte event) against
   the `lmdb` package from PyPI doing one `put` per event in its own write
   transaction (also without sync).
2. Throughput of 100 asyncio writers appending with `sync="always"`, against
   the raw device bound (`write` + `fdatasync` of 128 bytes) measured in the
   same run on the same filesystem.
3. Replay: events/s reading 1,000,000 events back through Python.

Run through `bash bench/python/run.sh` (release build); prints a Markdown
report and writes it to bench/python/RESULTS.md with --write.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lmdb
import tidelog

PAYLOAD = b"x" * 100


def best_of(rounds, fn):
    return min(fn() for _ in range(rounds))


def per_call(root: Path, n: int, rounds: int):
    """Interleaves the candidates round by round (the machine is shared, so
    load drifts) and keeps each one's best round."""
    from tidelog import _tidelog

    journals = {b: tidelog.Journal.open(root / f"percall-{b}", backend=b, sync="never") for b in ["lmdb", "files", "memory"]}
    for journal in journals.values():
        for _ in range(2000):
            journal.append("warmup", PAYLOAD)

    def tidelog_append(backend, spin_micros):
        def run():
            previous = _tidelog._set_spin_micros(spin_micros)
            append = journals[backend].append
            t0 = time.perf_counter()
            for _ in range(n):
                append("actor-1", PAYLOAD)
            elapsed = time.perf_counter() - t0
            _tidelog._set_spin_micros(previous)
            return elapsed / n

        return run

    env = lmdb.open(str(root / "py-lmdb"), map_size=1 << 30, sync=False, metasync=False)
    key = 0

    def lmdb_put():
        nonlocal key
        pack = struct.pack
        t0 = time.perf_counter()
        for _ in range(n):
            key += 1
            with env.begin(write=True) as txn:
                txn.put(pack(">Q", key), PAYLOAD)
        return (time.perf_counter() - t0) / n

    def core_only(backend):
        def run():
            return journals[backend]._core_append_loop("actor-1", PAYLOAD, n) / n

        return run

    candidates = [
        ("tidelog `Journal.append`, backend=lmdb, sync=never", tidelog_append("lmdb", 0)),
        ("same, spinning 20 µs before parking (`_set_spin_micros(20)`)", tidelog_append("lmdb", 20)),
        ("core alone: the same append looped in Rust (no Python), backend=lmdb", core_only("lmdb")),
        ("tidelog `Journal.append`, backend=files, sync=never", tidelog_append("files", 0)),
        ("tidelog `Journal.append`, backend=memory (binding + writer-thread round trip)", tidelog_append("memory", 0)),
        ("same, spinning 20 µs before parking", tidelog_append("memory", 20)),
        ("core alone, backend=memory (writer-thread round trip only)", core_only("memory")),
        ("`lmdb` package (PyPI): one `put` per write txn, sync=False", lmdb_put),
    ]
    for _, run in candidates:
        run()  # warm-up
    best = {name: float("inf") for name, _ in candidates}
    for _ in range(rounds):
        for name, run in candidates:
            best[name] = min(best[name], run())
    for journal in journals.values():
        journal.close()
    env.close()
    return [(name, best[name]) for name, _ in candidates]


def percall_vs_py_lmdb(root: Path, rounds: int, durable_calls: int):
    """The four per-call figures of issue 25, tidelog (LMDB backend) against py-lmdb in one
    process, µs per call: durable append (one event, `sync="always"` vs a write transaction
    with sync=True), non-durable append (`sync="never"` vs sync=False), read one event
    (`read(id, k, k)` vs `get` in its own read transaction) and read 100 events (`read(id, k,
    max=100)` vs a cursor's 100 values). The two sides alternate within every round (which
    goes first alternates too); each keeps its best round."""
    stored = 10_000
    calls = {"durable": durable_calls, "append": 20_000, "one": 50_000, "hundred": 5_000}
    stream = "actor-1"
    fast = tidelog.Journal.open(root / "pc-tidelog", backend="lmdb", sync="never", lmdb_map_size=1 << 30)
    durable = tidelog.Journal.open(root / "pc-tidelog-durable", backend="lmdb", sync="always", lmdb_map_size=1 << 30)
    # The appends go to stores of their own: the reads then measure the same data every round.
    appender = tidelog.Journal.open(root / "pc-tidelog-append", backend="lmdb", sync="never", lmdb_map_size=1 << 30)
    env_append = lmdb.open(str(root / "pc-py-lmdb-append"), map_size=1 << 30, sync=False, metasync=False)
    env = lmdb.open(str(root / "pc-py-lmdb"), map_size=1 << 30, sync=False, metasync=False)
    env_durable = lmdb.open(str(root / "pc-py-lmdb-durable"), map_size=1 << 30, sync=True, metasync=True)
    for _ in range(stored // 1000):
        fast.append(stream, [PAYLOAD] * 1000)
    pack = struct.Struct(">Q").pack
    with env.begin(write=True) as txn:
        for k in range(1, stored + 1):
            txn.put(pack(k), PAYLOAD)
    x, keys = 12345, []
    for _ in range(calls["one"]):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        keys.append(x % stored + 1)
    starts = [min(k, stored - 99) for k in keys]
    packed_keys = [pack(k) for k in keys]
    packed_starts = [pack(k) for k in starts]
    next_key = [stored + 1]

    def timed(n, body):
        t0 = time.perf_counter()
        body(n)
        return (time.perf_counter() - t0) / n * 1e6

    def tl_durable(n):
        append = durable.append
        for _ in range(n):
            append(stream, PAYLOAD)

    def lm_put(environment):
        def run(n):
            k = next_key[0]
            for i in range(n):
                with environment.begin(write=True) as txn:
                    txn.put(pack(k + i), PAYLOAD)
            next_key[0] = k + n

        return run

    def tl_append(n):
        append = appender.append
        for _ in range(n):
            append("writer", PAYLOAD)

    def tl_one(n):
        read = fast.read
        for i in range(n):
            k = keys[i]
            assert len(read(stream, k, k)[0].payload) == 100

    def lm_one(n):
        begin = env.begin
        for i in range(n):
            with begin() as txn:
                assert len(txn.get(packed_keys[i])) == 100

    def tl_hundred(n):
        read = fast.read
        for i in range(n):
            assert len(read(stream, starts[i], max=100)) == 100

    def lm_hundred(n):
        begin = env.begin
        for i in range(n):
            with begin() as txn:
                cursor = txn.cursor()
                cursor.set_range(packed_starts[i])
                values = []
                for value in cursor.iternext(keys=False, values=True):
                    values.append(value)
                    if len(values) == 100:
                        break
                assert len(values) == 100

    figures = [
        ("durable append (1 event)", "`append` (sync always)", tl_durable, "`put` in a write txn, sync=True", lm_put(env_durable), calls["durable"], 1.0),
        ("non-durable append (1 event)", "`append` (sync never)", tl_append, "`put` in a write txn, sync=False", lm_put(env_append), calls["append"], 1.0),
        ("read one event", "`read(id, k, k)`", tl_one, "`get(k)` in a read txn", lm_one, calls["one"], 1.5),
        ("read 100 events", "`read(id, k, max=100)`", tl_hundred, "cursor from k, 100 values", lm_hundred, calls["hundred"], 1.0),
    ]
    best = {f[0]: [float("inf"), float("inf")] for f in figures}
    for f in figures:  # warm-up
        timed(min(f[5], 1000), f[2])
        timed(min(f[5], 1000), f[4])
    for r in range(rounds):
        for name, _, ours, _, theirs, n, _ in figures:
            sides = [(0, ours), (1, theirs)] if r % 2 == 0 else [(1, theirs), (0, ours)]
            for side, run in sides:
                best[name][side] = min(best[name][side], timed(n, run))
    for j in (fast, durable, appender):
        j.close()
    env.close()
    env_append.close()
    env_durable.close()
    return [(name, our_call, best[name][0], their_call, best[name][1], target) for name, our_call, _, their_call, _, _, target in figures]


def percall_table(rows, rounds):
    lines = [
        f"### Per-call figures vs py-lmdb {lmdb.__version__} (LMDB, 100-byte events, best of {rounds} alternating rounds)",
        "",
        "| figure | tidelog call | tidelog µs | py-lmdb call | py-lmdb µs | ratio | target |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for name, our_call, ours, their_call, theirs, target in rows:
        ratio = ours / theirs
        flag = "" if ratio <= target else " **over**"
        lines.append(f"| {name} | {our_call} | {ours:.2f} | {their_call} | {theirs:.2f} | {ratio:.2f}×{flag} | ≤ {target:.1f}× |")
    return "\n".join(lines)


def device_bound(root: Path, seconds: float):
    """`pwrite` of 128 B + `fdatasync`, into a file written ahead with zeros
    (as the core's segment log is, so that fdatasync need not update the
    file size): the best a single flushing writer can do on this filesystem."""
    path = root / "fdatasync.bin"
    ahead = 16 << 20
    with open(path, "wb") as f:
        f.write(b"\0" * ahead)
        f.flush()
        os.fsync(f.fileno())
    fd = os.open(path, os.O_WRONLY)
    record = b"r" * 128
    latencies = []
    offset = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and offset + len(record) <= ahead:
        t0 = time.perf_counter()
        os.pwrite(fd, record, offset)
        os.fdatasync(fd)
        latencies.append(time.perf_counter() - t0)
        offset += len(record)
    os.close(fd)
    latencies.sort()
    return len(latencies) / sum(latencies), latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def async_writers(root: Path, backend: str, writers: int, per_writer: int):
    async def main():
        async with tidelog.AsyncJournal.open(root / f"async-{backend}", backend=backend, sync="always") as journal:
            await asyncio.gather(*(journal.append(f"warm-{i}", PAYLOAD) for i in range(writers)))
            before = journal.metrics()

            async def writer(i):
                pid = f"writer-{i}"
                for _ in range(per_writer):
                    await journal.append(pid, PAYLOAD)

            t0 = time.perf_counter()
            await asyncio.gather(*(writer(i) for i in range(writers)))
            elapsed = time.perf_counter() - t0
            after = journal.metrics()
        events = writers * per_writer
        batches = after["batches"] - before["batches"]
        fsyncs = after["fsyncs"] - before["fsyncs"]
        return events / elapsed, batches / elapsed, events / max(batches, 1), fsyncs

    root.mkdir(parents=True, exist_ok=True)
    return asyncio.run(main())


def replay(root: Path, backend: str, total: int, page_size: int):
    path = root / f"replay-{backend}"
    results = {}
    with tidelog.Journal.open(path, backend=backend, sync="never", lmdb_map_size=1 << 30) as journal:
        batch = [PAYLOAD] * 1000
        for _ in range(total // 1000):
            journal.append("replay", batch)
        journal.flush()

        def paged(touch: bool):
            t0 = time.perf_counter()
            seen = 0
            size = 0
            start = 1
            while True:
                page = journal.read("replay", start, max=page_size)
                if not page:
                    break
                if touch:
                    for event in page:
                        size += len(event.payload)
                seen += len(page)
                start = page[-1].sequence_nr + 1
            elapsed = time.perf_counter() - t0
            assert seen == total, seen
            return total / elapsed

        def iterate():
            t0 = time.perf_counter()
            seen = 0
            for event in journal.iter_events("replay", page_size=page_size):
                seen += 1
            elapsed = time.perf_counter() - t0
            assert seen == total, seen
            return total / elapsed

        def one_read():
            t0 = time.perf_counter()
            events = journal.read("replay")
            elapsed = time.perf_counter() - t0
            assert len(events) == total
            del events
            return total / elapsed

        def all_events():
            t0 = time.perf_counter()
            seen = 0
            offset = 0
            while True:
                page = journal.all_events(offset, max=page_size)
                if not page:
                    break
                seen += len(page)
                offset = page[-1].global_offset + 1
            assert seen == total
            return total / (time.perf_counter() - t0)

        results[f"`read` in pages of {page_size:,}"] = max(paged(False) for _ in range(3))
        results[f"`read` in pages of {page_size:,}, touching every payload"] = max(paged(True) for _ in range(3))
        results[f"`for event in iter_events(...)` (pages of {page_size:,})"] = max(iterate() for _ in range(3))
        results["one `read` of all events"] = max(one_read() for _ in range(3))
        results[f"`all_events` in pages of {page_size:,}"] = max(all_events() for _ in range(3))
    return results


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    fs = subprocess.run(["df", "-T", "."], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, filesystem {fs}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=str(Path(__file__).parent / ".data"), help="where to create journals (a real disk, not tmpfs)")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--writers", type=int, default=100)
    parser.add_argument("--per-writer", type=int, default=100)
    parser.add_argument("--async-rounds", type=int, default=3)
    parser.add_argument("--replay-events", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="write bench/python/RESULTS.md")
    parser.add_argument("--percall", action="store_true", help="only the per-call figures vs py-lmdb (issue 25)")
    parser.add_argument("--durable-calls", type=int, default=200)
    args = parser.parse_args()

    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(dir=base))
    os.chdir(root)
    if args.percall:
        try:
            print(f"Python {platform.python_version()}, tidelog {tidelog.__version__}, py-lmdb {lmdb.__version__}, data in {base}")
            print()
            print(percall_table(percall_vs_py_lmdb(root, args.rounds, args.durable_calls), args.rounds))
        finally:
            os.chdir(base)
            shutil.rmtree(root, ignore_errors=True)
        return
    try:
        lines = []
        out = lines.append
        out("# Python benchmarks (`tidelog` package)")
        out("")
        out(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        out(f"- machine: {machine()}")
        out(f"- command: `bash bench/python/run.sh` (= `python bench/python/bench.py {' '.join(sys.argv[1:])}` on a release wheel)")
        out(f"- tidelog {tidelog.__version__}, py-lmdb {lmdb.__version__} (bundled LMDB {'.'.join(map(str, lmdb.version()))})")
        out("")

        print("per-call overhead ...", file=sys.stderr)
        rows = per_call(root, args.calls, args.rounds)
        lmdb_put = rows[-1][1]
        out(f"## 1. Per-call overhead (one 100-byte event per call, {args.calls:,} calls per round, best of {args.rounds} interleaved rounds)")
        out("")
        out("\"core alone\" runs the same blocking append in a Rust loop inside the extension (no Python per call): the difference")
        out("to the row above it is what the binding adds. Spinning before parking is a private knob, off by default because")
        out("on this busy 2-core machine the spinning caller takes CPU from the writer thread.")
        out("")
        out("| what | µs/call | calls/s | vs `lmdb` put |")
        out("|---|---:|---:|---:|")
        for name, secs in rows:
            out(f"| {name} | {secs * 1e6:.2f} | {1 / secs:,.0f} | {secs / lmdb_put:.2f}× |")
        out("")

        print("device bound and async writers ...", file=sys.stderr)
        out(f"## 2. 100 asyncio writers, sync=\"always\" ({args.writers} tasks × {args.per_writer} appends of one event each, awaited one at a time)")
        out("")
        out("Each round measures the raw device first (`pwrite` + `fdatasync` of 128 B into a zero-filled file on the same filesystem, 2 s), then both backends.")
        out(f"With {args.writers} writers each waiting for its own ack, a commit holds at most {args.writers} events, so the bound is")
        out(f"{args.writers} × syncs/s for one flush per commit (both backends: since format 2 LMDB flushes its write-ahead log once).")
        out(f"The machine is shared (load average {os.getloadavg()[0]:.1f} when this section started), so fsync latency swings")
        out("widely, even between the 2 s device measurement and the run right after it: a cell above 100% means the disk was")
        out("slower while the device was measured than during the run.")
        out("")
        out("| round | device syncs/s (p50, p99) | backend | events/s | commits/s | events per commit | bound (events/s) | % of bound |")
        out("|---:|---|---|---:|---:|---:|---:|---:|")
        for round_ in range(1, args.async_rounds + 1):
            syncs, p50, p99 = device_bound(root, 2.0)
            device = f"{syncs:,.0f} ({p50 * 1e6:.0f} µs, {p99 * 1e6:.0f} µs)"
            for backend in ["files", "lmdb"]:
                eps, cps, per_commit, _ = async_writers(root / f"r{round_}", backend, args.writers, args.per_writer)
                bound = args.writers * syncs
                out(f"| {round_} | {device} | {backend} | {eps:,.0f} | {cps:,.0f} | {per_commit:.1f} | {bound:,.0f} | {100 * eps / bound:.0f}% |")
        out("")
        print("async overhead ...", file=sys.stderr)
        eps, _, per_commit, _ = async_writers(root / "nosync", "memory", args.writers, args.per_writer * 2)
        out(f"For scale, the same {args.writers} writers on the memory backend (no I/O: binding + asyncio + writer thread only): {eps:,.0f} events/s.")
        out("")

        out(f"## 3. Replay of {args.replay_events:,} events (100-byte payloads, one stream), best of 3")
        out("")
        out("| backend | how | events/s |")
        out("|---|---|---:|")
        for backend in ["lmdb", "files"]:
            print(f"replay {backend} ...", file=sys.stderr)
            for how, eps in replay(root, backend, args.replay_events, args.page_size).items():
                out(f"| {backend} | {how} | {eps:,.0f} |")
        out("")
        report = "\n".join(lines)
        print(report)
        if args.write:
            (Path(__file__).parent / "RESULTS.md").write_text(report + "\n")
    finally:
        os.chdir(base)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
