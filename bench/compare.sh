#!/usr/bin/env bash
# Per-call benchmarks of two checkouts, back to back in one run, so that their figures share the
# machine's load: bench/compare.sh BEFORE_DIR AFTER_DIR [node jvm dotnet python]
#   BEFORE_DIR, AFTER_DIR  checkouts of this repository (e.g. `git worktree add --detach /tmp/before REV`)
#   node    bench/node overhead + replay (release addon)
#   jvm     bench/jvm/run.sh (release JNI library)
#   dotnet  bench/dotnet/run.sh without the Akka.NET part (release C ABI library)
#   python  bench/python/run.sh (release wheel)
# Output: one section per benchmark and checkout, labelled; compare the rows by hand.
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
  (cd "$1" && bash bench/jvm/run.sh)
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

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
for suite in "${suites[@]}"; do
  for side in before after; do
    dir="$before"; [ "$side" = after ] && dir="$after"
    echo
    echo "===== $suite: $side ($dir, $(git -C "$dir" rev-parse --short HEAD)), load $(cut -d' ' -f1 /proc/loadavg)"
    "${suite}_bench" "$dir"
  done
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
