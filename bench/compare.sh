#!/usr/bin/env bash
# Per-call benchmarks of two checkouts in one run, alternating, so that their figures share the
# machine's load: bench/compare.sh BEFORE_DIR AFTER_DIR [node jvm dotnet python]
#   BEFORE_DIR, AFTER_DIR  checkouts of this repository (e.g. `git worktree add --detach /tmp/before REV`)
#   node    bench/node overhead + replay (release addon)
#   jvm     bench/jvm/run.sh (release JNI library)
#   dotnet  bench/dotnet/run.sh without the Akka.NET part (release C ABI library)
#   python  bench/python/run.sh (release wheel)
# ROUNDS=n (default 3): each suite runs n times per checkout, before and after alternating (and
# which goes first alternating too); OUT=dir (default bench/target/compare) keeps every run's output.
# The summary (bench/compare_report.py) puts the best figure of each row per side next to each
# other: interference from other work only ever makes a run slower, so the best run is the
# cleanest estimate of each side.
set -euo pipefail
before="$(cd "$1" && pwd)"
after="$(cd "$2" && pwd)"
shift 2
suites=("${@:-node jvm dotnet python}")
read -r -a suites <<< "${suites[*]}"

node_bench() {
  (cd "$1/bindings-node" && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null; } && npm run --silent build:release >/dev/null)
  (cd "$1/bench/node" && npm install --no-audit --no-fund --loglevel=error >/dev/null && node bench.mjs overhead && node bench.mjs replay)
}

jvm_bench() {
  # Its own local Maven repository: installing either checkout's jar must not replace the one
  # other builds on this machine resolve from ~/.m2.
  (cd "$1" && MAVEN_OPTS="-Dmaven.repo.local=$bench_m2" bash bench/jvm/run.sh)
}

dotnet_bench() {
  # This checkout's runner with the other checkout's C# library and release C ABI library; the
  # Mono toolchain comes from bindings-dotnet/build.sh (run `build.sh test` here once).
  (cd "$1" && cargo build --quiet --release -p tidelog-c)
  TIDELOG_ROOT="$1" SKIP_AKKA=1 bash "$after/bench/dotnet/run.sh" "${CARGO_TARGET_DIR:-$1/target}/release/libtidelog_c.so"
}

python_bench() {
  (cd "$1" && bash bench/python/run.sh)
}

rounds="${ROUNDS:-3}"
out="${OUT:-$after/bench/target/compare}"
bench_m2="${BENCH_M2:-$HOME/.m2/tidelog-bench-repository}"
rm -rf "$out" && mkdir -p "$out"
{
  echo "before: $before ($(git -C "$before" rev-parse --short HEAD)); after: $after ($(git -C "$after" rev-parse --short HEAD))"
  echo "rounds: $rounds; suites: ${suites[*]}; $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/run.txt"
for round in $(seq 1 "$rounds"); do
  order="before after"; [ $((round % 2)) -eq 0 ] && order="after before"
  for suite in "${suites[@]}"; do
    for side in $order; do
      dir="$before"; [ "$side" = after ] && dir="$after"
      echo "===== round $round, $suite: $side, load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out/run.txt"
      "${suite}_bench" "$dir" > "$out/$suite.$side.$round.txt" 2>&1 || { echo "FAILED: see $out/$suite.$side.$round.txt"; exit 1; }
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/run.txt"
python3 "$after/bench/compare_report.py" "$out"
