#!/usr/bin/env bash
# Packaged vs local build, side by side in one run: the per-call cost of a no-sync append of one
# 100-byte event (LMDB) through each binding, once with the library a release publishes (dist/, as the
# smoke check installed it: glibc 2.17, dist profile, zig-linked) and once with today's local release
# build (cargo build --release / maturin build --release / npm run build:release). Rounds alternate
# between the two so that load drift on the shared machine hits both; each side keeps its best round.
#   bash bench/packaged/run.sh [ROUNDS] [CALLS]
# Needs: tests/smoke/run.sh run before (the installed packages); builds the local release builds itself.
# Prints a Markdown table. Run it unprefixed (no nice) on a quiet machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ROUNDS="${1:-7}"
CALLS="${2:-50000}"
WORK="$ROOT/target/bench-packaged"
SMOKE="$ROOT/target/smoke"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
mkdir -p "$WORK"
cd "$ROOT"

echo "building the local release builds (cargo build --release; maturin build --release; napi build --release)" >&2
# One cargo invocation for the three cdylibs (what `napi build --release` does for the addon, plus a copy).
cargo build --quiet --release -p tidelog-jni -p tidelog-c -p tidelog-node
mkdir -p "$WORK/node-local" && cp "$ROOT/target/release/libtidelog_node.so" "$WORK/node-local/tidelog.node"
[ -x "$WORK/venv-local/bin/python" ] || python3 -m venv "$WORK/venv-local"
"$WORK/venv-local/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.9,<2'
rm -rf "$WORK/wheel-local"
(cd bindings-python && "$WORK/venv-local/bin/maturin" build --release --quiet -o "$WORK/wheel-local" -i "$WORK/venv-local/bin/python")
"$WORK/venv-local/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WORK"/wheel-local/*.whl

# ---- per-language probes: each prints one number, ns per call -------------------------------------------
cat > "$WORK/probe.py" <<'PY'
import sys, tempfile, time, tidelog
calls = int(sys.argv[1])
with tidelog.Journal.open(tempfile.mkdtemp(dir=sys.argv[2]), backend="lmdb", sync="never") as j:
    for _ in range(2000):
        j.append("warmup", b"x" * 100)
    payload = b"x" * 100
    append = j.append
    t0 = time.perf_counter()
    for _ in range(calls):
        append("actor-1", payload)
    print((time.perf_counter() - t0) / calls * 1e9)
PY

# Node: the same compiled JS (the packaged `tidelog`), loading the packaged platform addon or the local one.
cat > "$WORK/probe.cjs" <<'JS'
const fs = require('fs'), path = require('path'), os = require('os')
const [calls, dir, pkgDir] = [Number(process.argv[2]), process.argv[3], process.argv[4]]
const { Journal } = require(pkgDir)
;(async () => {
  const j = await Journal.open(fs.mkdtempSync(path.join(dir, 'n-')), { backend: 'lmdb', sync: 'never' })
  const payload = Buffer.alloc(100, 120)
  for (let i = 0; i < 2000; i++) await j.append('warmup', payload)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) await j.append('actor-1', payload)
  const ns = Number(process.hrtime.bigint() - t0) / calls
  await j.close()
  console.log(ns)
})()
JS
# The local build: a copy of the packaged JS next to the local addon (index.js prefers ../tidelog.node).
rm -rf "$WORK/node-local-pkg" && mkdir -p "$WORK/node-local-pkg"
cp -r "$SMOKE/npm-project/node_modules/tidelog/." "$WORK/node-local-pkg/"
cp "$WORK/node-local/tidelog.node" "$WORK/node-local-pkg/tidelog.node"

mkdir -p "$WORK/java"
cat > "$WORK/java/Probe.java" <<'JAVA'
import dev.tidelog.*;
import java.nio.file.*;
import java.util.List;
public class Probe {
    public static void main(String[] args) throws Exception {
        int calls = Integer.parseInt(args[0]);
        Path dir = Files.createTempDirectory(Path.of(args[1]), "j-");
        try (Journal j = Tidelog.open(dir, Options.builder().sync(SyncPolicy.never()).build())) {
            List<NewEvent> one = List.of(NewEvent.of(new byte[100]));
            for (int i = 0; i < 20000; i++) j.append("warmup", one);
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) j.append("actor-1", one);
            System.out.println((System.nanoTime() - t0) / (double) calls);
        }
    }
}
JAVA
JAR="$SMOKE/maven/target/dependency/tidelog-$VERSION.jar"
javac -d "$WORK/java" -cp "$JAR" "$WORK/java/Probe.java"

. "$ROOT/bindings-dotnet/build/dotnet-tools/env.sh"
mkdir -p "$WORK/dotnet/packaged" "$WORK/dotnet/local"
cat > "$WORK/dotnet/Probe.cs" <<'CS'
using System; using System.Diagnostics; using System.IO; using Tidelog;
int calls = int.Parse(args[0]);
var dir = Path.Combine(args[1], "d-" + Guid.NewGuid().ToString("N"));
using (var j = Journal.Open(dir, new JournalOptions { Backend = Backend.Lmdb, Sync = SyncPolicy.Never }))
{
    var events = new[] { new NewEvent(new byte[100]) };
    for (int i = 0; i < 2000; i++) j.Append("warmup", events);
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < calls; i++) j.Append("actor-1", events);
    Console.WriteLine(sw.Elapsed.TotalMilliseconds * 1e6 / calls);
}
CS
NUPKG="$SMOKE/nuget/packages/Tidelog.$VERSION"
for side in packaged local; do
  cp "$NUPKG/lib/netstandard2.0/Tidelog.dll" "$WORK/dotnet/$side/"
  $CSC -nologo $CSC_BASE_REFS -langversion:latest -optimize+ -target:exe -out:"$WORK/dotnet/$side/Probe.exe" -r:"$WORK/dotnet/$side/Tidelog.dll" \
    "$WORK/dotnet/Probe.cs" "$ROOT/bindings-dotnet/src/Tidelog/Polyfills.cs" >/dev/null
done
cp "$NUPKG/runtimes/linux-x64/native/libtidelog_c.so" "$WORK/dotnet/packaged/"
cp "$ROOT/target/release/libtidelog_c.so" "$WORK/dotnet/local/"

DATA="$WORK/data"
probe() { # probe LANG SIDE -> ns per call
  rm -rf "$DATA" && mkdir -p "$DATA"
  case "$1/$2" in
    python/packaged) "$SMOKE/python/venv/bin/python" "$WORK/probe.py" "$CALLS" "$DATA" ;;
    python/local) "$WORK/venv-local/bin/python" "$WORK/probe.py" "$CALLS" "$DATA" ;;
    node/packaged) node "$WORK/probe.cjs" "$CALLS" "$DATA" "$SMOKE/npm-project/node_modules/tidelog" ;;
    node/local) node "$WORK/probe.cjs" "$CALLS" "$DATA" "$WORK/node-local-pkg" ;;
    jvm/packaged) java -cp "$JAR:$WORK/java" Probe "$CALLS" "$DATA" ;;
    jvm/local) java -Dtidelog.native.library="$ROOT/target/release/libtidelog_jni.so" -cp "$JAR:$WORK/java" Probe "$CALLS" "$DATA" ;;
    dotnet/*) (cd "$WORK/dotnet/$2" && LD_LIBRARY_PATH="$WORK/dotnet/$2" mono Probe.exe "$CALLS" "$DATA") ;;
  esac
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
printf '| binding | packaged (dist/) ns/call | local release build ns/call | packaged / local |\n|---|---:|---:|---:|\n'
for lang in python node jvm dotnet; do
  best_p=inf best_l=inf
  for _ in $(seq "$ROUNDS"); do
    p="$(probe "$lang" packaged | tail -1)"; l="$(probe "$lang" local | tail -1)"
    best_p="$(python3 -c 'import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))' "$best_p" "$p")"
    best_l="$(python3 -c 'import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))' "$best_l" "$l")"
  done
  python3 -c 'import sys; p, l = float(sys.argv[2]), float(sys.argv[3]); print(f"| {sys.argv[1]} | {p:.0f} | {l:.0f} | {p / l:.2f} |")' "$lang" "$best_p" "$best_l"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
