#!/usr/bin/env bash
# Another stream's AppendAsync beside a continuation that sleeps 1 s, on Mono (run bindings-dotnet/build.sh test once
# before, for the toolchain): bench/dotnet/continuations.sh. Prints each round and the median.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(git -C "$HERE" rev-parse --show-toplevel)"
OUT="$ROOT/bindings-dotnet/build/bench-continuations"
. "$ROOT/bindings-dotnet/build/dotnet-tools/env.sh"
(cd "$ROOT" && cargo build --quiet --release -p tidelog-c)
rm -rf "$OUT" && mkdir -p "$OUT/data"
$CSC -nologo $CSC_BASE_REFS -langversion:latest -nullable:enable -unsafe -optimize+ -target:library -out:"$OUT/Tidelog.dll" "$ROOT"/bindings-dotnet/src/Tidelog/*.cs
$CSC -nologo $CSC_BASE_REFS -langversion:latest -optimize+ -target:exe -out:"$OUT/Continuations.exe" -r:"$OUT/Tidelog.dll" "$HERE/Continuations.cs"
cp "$ROOT/target/release/libtidelog_c.so" "$OUT/"
(cd "$OUT" && LD_LIBRARY_PATH="$OUT" mono --optimize=all Continuations.exe "$OUT/data") | tee "$OUT/result.txt"
python3 -c '
import re, statistics, sys
v = sorted(float(x) for x in re.findall(r"other_stream_ms=([\d.]+)", open(sys.argv[1]).read()))
print(f"other_stream_ms: median {statistics.median(v):.1f}, min {v[0]:.1f}, max {v[-1]:.1f} ({len(v)} rounds)")
' "$OUT/result.txt"
