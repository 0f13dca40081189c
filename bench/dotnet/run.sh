#!/usr/bin/env bash
# Runs the .NET benchmarks on Mono: bench/dotnet/run.sh [path/to/libtidelog_c.so]
# (bindings-dotnet/build.sh bench builds the release library and calls this).
# TIDELOG_ROOT: the checkout whose C# library is measured (default: this one);
# SKIP_AKKA=1: without the Akka.NET benchmarks; ONLY_AKKA=1: only them; ONLY_TAILS=1 (with ONLY_AKKA=1): only the
# commit-to-subscriber latency benchmark (TailsBench.cs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="${TIDELOG_ROOT:-$(git -C "$HERE" rev-parse --show-toplevel)}"
DOTNET="$ROOT/bindings-dotnet"
LIB="${1:-$ROOT/target/release/libtidelog_c.so}"
[ $# -gt 0 ] && shift
OUT="$DOTNET/build/bench"
. "$HERE/../../bindings-dotnet/build/dotnet-tools/env.sh" # the toolchain of the runner's checkout
L="$DOTNET_TOOLS/lib"
# LightningDB's bundled liblmdb.so needs glibc 2.38: use Debian's liblmdb0 instead.
dpkg -s liblmdb0 >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q liblmdb0 >/dev/null
rm -rf "$OUT" && mkdir -p "$OUT"
refs=""; for f in "$MONO_FACADES"/System.*.dll; do case "$f" in */System.Runtime.dll|*/System.Threading.Tasks.dll) ;; *) refs="$refs -r:$f";; esac; done
lrefs="-r:$L/Microsoft.Bcl.AsyncInterfaces.dll -r:$L/System.Threading.Tasks.Extensions.dll" # IAsyncEnumerable on netstandard2.0
$CSC -nologo $CSC_BASE_REFS -langversion:latest -nullable:enable -unsafe -optimize+ -target:library -out:"$OUT/Tidelog.dll" $lrefs "$DOTNET"/src/Tidelog/*.cs
$CSC -nologo $CSC_BASE_REFS $refs -langversion:latest -optimize+ -target:exe -out:"$OUT/Bench.exe" -r:"$OUT/Tidelog.dll" $lrefs \
  -r:"$L/LightningDB.dll" -r:"$L/System.Memory.dll" "$HERE/Bench.cs"
cp "$L/LightningDB.dll" "$L/System.Memory.dll" "$L/System.Buffers.dll" "$L/Microsoft.Bcl.AsyncInterfaces.dll" "$L/System.Threading.Tasks.Extensions.dll" "$L/System.Runtime.CompilerServices.Unsafe.dll" "$L/System.Numerics.Vectors.dll" "$OUT/"
cp "$LIB" "$OUT/libtidelog_c.so"
ln -sf /usr/lib/x86_64-linux-gnu/liblmdb.so.0 "$OUT/liblmdb.so"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); mono $(mono --version | head -1 | awk '{print $5}')"
gcc -O2 -std=c11 -D_GNU_SOURCE -I"$DOTNET/native/include" "$HERE/append_c.c" -L"$OUT" -ltidelog_c -o "$OUT/append_c"
mkdir -p "$OUT/data"
cd "$OUT"
if [ -z "${ONLY_AKKA:-}" ]; then
  LD_LIBRARY_PATH="$OUT" ./append_c "$OUT/data" && rm -rf "$OUT/data"/c-*
  LD_LIBRARY_PATH="$OUT" mono --optimize=all Bench.exe "$OUT/data" "$@"
fi

[ -n "${SKIP_AKKA:-}" ] && exit 0
# Akka.NET plugin benchmark (needs the plugin assembly and Akka's).
AKKA="Akka.dll Akka.Persistence.dll Akka.Persistence.Query.dll Akka.Streams.dll Akka.Hosting.dll Microsoft.Extensions.Configuration.Abstractions.dll System.Collections.Immutable.dll Reactive.Streams.dll"
arefs=""; for a in $AKKA; do arefs="$arefs -r:$L/$a"; done
$CSC -nologo $CSC_BASE_REFS $refs -nowarn:CS1702,CS1701 -langversion:latest -nullable:enable -optimize+ -target:library -out:"$OUT/Tidelog.Persistence.Akka.dll" \
  -r:"$OUT/Tidelog.dll" $arefs $lrefs "$DOTNET"/src/Tidelog.Persistence.Akka/*.cs "$DOTNET"/src/Tidelog/Polyfills.cs
$CSC -nologo $CSC_BASE_REFS $refs -nowarn:CS1702,CS1701 -langversion:latest -optimize+ -target:exe -out:"$OUT/AkkaBench.exe" \
  -r:"$OUT/Tidelog.Persistence.Akka.dll" $arefs "$HERE/AkkaBench.cs"
$CSC -nologo $CSC_BASE_REFS $refs -nowarn:CS1702,CS1701 -langversion:latest -nullable:enable -optimize+ -target:exe -out:"$OUT/TailsBench.exe" \
  -r:"$OUT/Tidelog.dll" -r:"$OUT/Tidelog.Persistence.Akka.dll" $arefs $lrefs "$HERE/TailsBench.cs"
cp -n "$L"/*.dll "$OUT/" 2>/dev/null || true
if [ -z "${ONLY_TAILS:-}" ]; then
  LD_LIBRARY_PATH="$OUT" mono --optimize=all AkkaBench.exe "$OUT/akka-data" ${AKKA_BENCH_ARGS:-}
fi
# Commit-to-subscriber latency: a Tidelog subscription beside the Akka.NET read journal (subscription and polling).
LD_LIBRARY_PATH="$OUT" mono --optimize=all TailsBench.exe "$OUT/data" ${TAILS_BENCH_EVENTS:-2000}
