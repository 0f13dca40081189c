#!/usr/bin/env python3
"""Summarizes a `bench/compare.sh` run: the best figure of every row, before beside after.

Usage: bench/compare_report.py OUT_DIR   (OUT_DIR holds SUITE.SIDE.ROUND.txt files)

Each benchmark prints its figures either as markdown tables (Node, Python) or as text lines
(JVM, .NET). A figure is any number followed by a time unit (lower is better) or a rate
(`.../s`, higher is better); its row is the line with every number blanked, plus the column
header for table cells. The best value of a row over all runs of a side is kept: interference
from other work only makes a run slower. Rows of peers (lmdb-js, LightningDB, py-lmdb), the
device and the FFI floor are left out (they are not ours), and durable rows (fsync-bound, so
set by the device) are listed apart.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
PEERS = re.compile(
    r"lmdb-js|LightningDB|`lmdb` package|py-lmdb|device|syncs/s|jni floor|P/Invoke|^date|^machine|load average|^- |Finished|Compiling", re.I
)
# Figures that restate another of the same row (a rate beside its time per call, seconds beside events/s).
REDUNDANT = re.compile(r"^(calls/s|seconds|ops/s|ms,?)$")
DURABLE = re.compile(r"durable|sync: 'always'|bound|% of|commits/s", re.I)
TIME_UNITS = {"ns", "us", "µs", "ms", "s", "seconds"}


def direction(unit_text: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 when not a speed figure."""
    words = unit_text.replace("(", " ").replace(")", " ").split()
    if any("/s" in w for w in words[:3]) or "/s" in unit_text and not words:
        return +1
    for w in words[:2]:
        if w.split("/")[0] in TIME_UNITS:
            return -1
    return 0


def parse_number(text: str) -> float:
    return float(text.replace(",", ""))


def figures(path: Path) -> dict[str, tuple[float, int]]:
    """Row label → (value, direction) for every figure in one run's output, best value per label."""
    found: dict[str, tuple[float, int]] = {}

    def keep(label: str, value: float, sense: int) -> None:
        old = found.get(label)
        if old is None or (value - old[0]) * sense > 0:
            found[label] = (value, sense)

    header: list[str] | None = None
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
                continue  # the separator under a header
            if not any(NUMBER.fullmatch(c.split(" ")[0] if c else "") for c in cells):
                header = cells  # a header row: no cell is a number
                continue
            label_cells = [c for c in cells if not NUMBER.match(c)]
            label = " | ".join(label_cells)
            if PEERS.search(label):
                continue
            for i, cell in enumerate(cells):
                m = NUMBER.match(cell)
                if not m or header is None or i >= len(header):
                    continue
                sense = direction(header[i])
                if sense and not REDUNDANT.match(header[i]):
                    keep(f"{label} [{header[i]}]", parse_number(m.group()), sense)
            continue
        header = None
        if PEERS.search(line):
            continue
        template = re.sub(r"\s+", " ", NUMBER.sub("#", line))
        for k, m in enumerate(NUMBER.finditer(line)):
            unit = line[m.end():m.end() + 24]
            sense = direction(unit)
            if sense and not REDUNDANT.match((unit.split() or [""])[0]):
                keep(f"{template} (figure {k + 1})", parse_number(m.group()), sense)
    return found


def main() -> None:
    out = Path(sys.argv[1])
    runs: dict[tuple[str, str], dict[str, tuple[float, int]]] = defaultdict(dict)
    for f in sorted(out.glob("*.*.*.txt")):
        suite, side, _round, _ = f.name.split(".")
        for label, (value, sense) in figures(f).items():
            old = runs[(suite, side)].get(label)
            if old is None or (value - old[0]) * sense > 0:
                runs[(suite, side)][label] = (value, sense)
    print((out / "run.txt").read_text() if (out / "run.txt").exists() else "", end="")
    worst = 0.0
    for section, want_durable in (("Per-call and replay figures", False), ("Durable figures (set by the device)", True)):
        print(f"\n## {section}\n")
        print("| suite | row | before (best) | after (best) | change |")
        print("|---|---|---:|---:|---:|")
        for suite in sorted({s for s, _ in runs}):
            before, after = runs[(suite, "before")], runs[(suite, "after")]
            for label in before:
                if label not in after or bool(DURABLE.search(label)) != want_durable:
                    continue
                (b, sense), (a, _) = before[label], after[label]
                if b == 0:
                    continue
                change = (a - b) / b * 100 * sense  # positive: after is better
                if not want_durable:
                    worst = min(worst, change)
                flag = " **worse > 5%**" if change < -5 else ""
                print(f"| {suite} | {label.replace('|', '/')} | {b:,.6g} | {a:,.6g} | {change:+.1f}%{flag} |")
    print(f"\nWorst per-call change: {worst:+.1f}% (positive: after is better).")


if __name__ == "__main__":
    main()
