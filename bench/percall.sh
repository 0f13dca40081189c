#!/usr/bin/env bash
# Issue 25's per-call figures, each binding against its ecosystem's LMDB binding, in one command:
#   bash bench/percall.sh [node] [python] [jvm]      (default: all three)
# Each ecosystem runs in one process with its peer (lmdb-js 3.5.6, py-lmdb, lmdbjava 0.9.1): durable
# append, non-durable append, read one event, read 100 events, tidelog (LMDB backend) and peer
# alternating within every round, best of ROUNDS (default 7) rounds each; the table prints the
# ratios (tidelog ÷ peer) beside the targets (read one ≤ 1.5×, the rest ≤ 1.0×).
# Builds release builds first (niced, normal policy); run the measurement itself unniced, at the
# normal policy, on a quiet machine (bench/README.md says why not under chrt -f).
# Data goes to target/bench-percall (a real disk: the durable figures flush). SKIP_BUILD=1 measures
# the builds already there (the Node addon, bench/python/.venv's wheel, the JVM jar and library).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/target/bench-percall"
mkdir -p "$data"
# Builds run at normal policy and low priority, also when this script runs under chrt.
build() { [ -n "${SKIP_BUILD:-}" ] || chrt -o 0 nice -n 15 "$@"; }
suites=("${@:-node python jvm}")
read -r -a suites <<< "${suites[*]}"
echo "bench/percall.sh ${suites[*]}: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), rounds ${ROUNDS:-7}"
for suite in "${suites[@]}"; do
  case "$suite" in
    node)
      (cd "$root/bindings-node" && { [ -d node_modules ] || build npm ci --no-audit --no-fund --loglevel=error >/dev/null; } && build npm run --silent build:release >/dev/null)
      (cd "$root/bench/node" && { [ -d node_modules/lmdb ] || npm install --no-audit --no-fund --loglevel=error >/dev/null; } && node bench.mjs percall --dir "$data")
      ;;
    python)
      if [ -n "${SKIP_BUILD:-}" ]; then
        (cd "$root/bench/python" && .venv/bin/python bench.py --percall --rounds "${ROUNDS:-7}" --durable-calls "${DURABLE_CALLS:-200}" --dir "$data")
      else
        (cd "$root" && BUILD="chrt -o 0 nice -n 15" bash bench/python/run.sh --percall --rounds "${ROUNDS:-7}" --durable-calls "${DURABLE_CALLS:-200}" --dir "$data")
      fi
      ;;
    jvm)
      (cd "$root" && build cargo build --quiet --release -p tidelog-jni && BUILT=1 BUILD="chrt -o 0 nice -n 15" bash bench/jvm/run.sh percall "$data")
      ;;
    *) echo "unknown suite $suite (node, python, jvm)" >&2; exit 2 ;;
  esac
  echo "(load average after $suite: $(cut -d' ' -f1-3 /proc/loadavg))"
done
