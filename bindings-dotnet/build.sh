#!/usr/bin/env bash
# Build, test and pack the Tidelog .NET binding (C ABI + C# library).
#   build.sh test   build the native library, run the C tests under valgrind, build and run every .NET test
#   build.sh pack   write Tidelog.<version>.nupkg to bindings-dotnet/dist/
#   build.sh mutants [NAME...]  run the Akka.NET conformance suite against deliberately broken plugins (tests/mutants.py)
#   build.sh bench  run the .NET benchmarks of bench/dotnet (release build)
# Uses the .NET SDK when `dotnet` is installed; otherwise Mono with the offline toolchain of ../shared/dotnet.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(git -C "$HERE" rev-parse --show-toplevel)"
BUILD="$HERE/build"
FEED_DIR="$ROOT/../shared/dotnet"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
export CARGO_TERM_QUIET=true

step() { printf '\n--> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
}

target_dir() { cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'; }

native() { # native debug|release -> prints the path of libtidelog_c.so
  local profile="$1" flag=()
  [ "$profile" = release ] && flag=(--release)
  (cd "$ROOT" && cargo build -p tidelog-c "${flag[@]}" >&2)
  echo "$(target_dir)/$profile/libtidelog_c.so"
}

# A glibc 2.31 (Debian 11) sysroot from Debian's archive, so that the packed library loads on glibc >= 2.30
# (Debian 11, Ubuntu 20.04 and newer) and not only on the build machine's glibc.
sysroot() {
  local sr="$BUILD/sysroot-glibc2.31" apt_dir="$BUILD/apt-bullseye"
  if [ ! -e "$sr/.done" ]; then
    rm -rf "$sr" "$apt_dir" && mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$sr"
    echo "deb http://deb.debian.org/debian bullseye main" > "$apt_dir/sources.list"
    local opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache")
    apt-get -q "${opts[@]}" update >/dev/null
    local pkgs=() p v
    for p in libc6 libc6-dev linux-libc-dev; do
      v="$(apt-cache "${opts[@]}" madison "$p" | awk -F'|' '/bullseye\/main amd64/ {gsub(/ /,"",$2); print $2; exit}')"
      pkgs+=("$p:amd64=$v")
    done
    (cd "$apt_dir/debs" && apt-get -q "${opts[@]}" download "${pkgs[@]}" >/dev/null 2>&1)
    for d in "$apt_dir"/debs/*.deb; do dpkg -x "$d" "$sr"; done
    # Absolute symlinks (libpthread.so -> /lib/...) would point at the host's libraries: make them relative.
    local f t
    for f in $(find "$sr/usr/lib/x86_64-linux-gnu" -maxdepth 1 -type l); do
      t="$(readlink "$f")"; case "$t" in /*) ln -sf "../../..$t" "$f" ;; esac
    done
    mkdir -p "$sr/lib64" && ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$sr/lib64/ld-linux-x86-64.so.2"
    touch "$sr/.done"
  fi
  echo "$sr"
}

native_portable() { # prints the path of a release libtidelog_c.so linked against glibc 2.31
  local sr; sr="$(sysroot)" || return 1
  local target="$BUILD/glibc231-target"
  (cd "$ROOT" && CARGO_TARGET_DIR="$target" \
    RUSTFLAGS="-C link-arg=--sysroot=$sr -C link-arg=-L$sr/usr/lib/x86_64-linux-gnu -C link-arg=-L$sr/lib/x86_64-linux-gnu -C link-arg=-B$sr/usr/lib/x86_64-linux-gnu -l dylib=pthread -l dylib=dl" \
    CFLAGS_x86_64_unknown_linux_gnu="--sysroot=$sr" cargo build -p tidelog-c --release --target x86_64-unknown-linux-gnu >&2) || return 1
  local lib="$target/x86_64-unknown-linux-gnu/release/libtidelog_c.so"
  local newest; newest="$(objdump -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
  echo "libtidelog_c.so needs $newest" >&2
  echo "$lib"
}

c_tests() {
  apt_install gcc valgrind
  local lib="$1" out="$BUILD/c"
  mkdir -p "$out"
  step "C ABI tests under valgrind"
  if have cbindgen; then
    (cd "$HERE/native" && cbindgen --quiet --config cbindgen.toml --crate tidelog-c --output "$out/tidelog.h") \
      && { diff -q "$out/tidelog.h" "$HERE/native/include/tidelog.h" >/dev/null || { echo "include/tidelog.h is stale: regenerate it with cbindgen" >&2; return 1; }; }
  fi
  gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I"$HERE/native/include" "$HERE/native/tests/test_abi.c" -L"$(dirname "$lib")" -ltidelog_c -o "$out/test_abi"
  gcc -std=c11 -Wall -Wextra -Werror -I"$HERE/native/include" "$HERE/native/examples/example.c" -L"$(dirname "$lib")" -ltidelog_c -o "$out/example"
  LD_LIBRARY_PATH="$(dirname "$lib")" valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
    --suppressions="$HERE/native/tests/valgrind.supp" --error-exitcode=3 "$out/test_abi"
  rm -rf "$out/example-journal" && LD_LIBRARY_PATH="$(dirname "$lib")" "$out/example" "$out/example-journal" >/dev/null
  echo "C example ran"
}

mono_tools() {
  apt_install mono-devel unzip
  [ -d "$FEED_DIR" ] || { echo "offline feed not found at $FEED_DIR" >&2; exit 1; }
  bash "$FEED_DIR/setup.sh" "$BUILD/dotnet-tools" >/dev/null
  # shellcheck disable=SC1091
  . "$BUILD/dotnet-tools/env.sh"
  L="$DOTNET_TOOLS/lib"
}

# xUnit runs tests in the runner's own app domain (-noappdomain): unloading a test domain under Mono 6.8 can
# spin forever once Akka's timers are aborted mid-sort (seen once in ./dev test: tests finished, process never exited).
csc() { $CSC -nologo $CSC_BASE_REFS -langversion:latest -nullable:enable -unsafe -warnaserror+ "$@"; }

# Every facade of Mono's netstandard shim: netstandard-built test libraries (xunit.assert) need them.
facades() { for f in "$MONO_FACADES"/System.*.dll; do case "$f" in */System.Runtime.dll|*/System.Threading.Tasks.dll) ;; *) printf -- ' -r:%s' "$f" ;; esac; done; }

build_library() { # build_library OUTDIR [debug|release]
  local out="$1" opt="-debug+"
  [ "${2:-debug}" = release ] && opt="-optimize+ -debug:portable"
  mkdir -p "$out"
  csc $opt -target:library -doc:"$out/Tidelog.xml" -out:"$out/Tidelog.dll" $(library_refs) "$HERE"/src/Tidelog/*.cs
}

# netstandard2.0 has no IAsyncEnumerable: the library depends on Microsoft.Bcl.AsyncInterfaces (as Akka.Streams does).
LIBRARY_DEPS="Microsoft.Bcl.AsyncInterfaces.dll System.Threading.Tasks.Extensions.dll System.Runtime.CompilerServices.Unsafe.dll"
library_refs() { for r in Microsoft.Bcl.AsyncInterfaces.dll System.Threading.Tasks.Extensions.dll; do printf -- ' -r:%s/%s' "$L" "$r"; done; }
library_deps() { for r in $LIBRARY_DEPS; do cp "$L/$r" "$1/"; done; } # library_deps DIR: the DLLs Tidelog.dll needs at run time

AKKA_REFS="Akka.dll Akka.Persistence.dll Akka.Persistence.Query.dll Akka.Streams.dll Akka.Hosting.dll Microsoft.Extensions.Configuration.Abstractions.dll System.Collections.Immutable.dll Reactive.Streams.dll"
akka_refs() { for r in $AKKA_REFS "$@"; do printf -- ' -r:%s/%s' "$L" "$r"; done; }

build_akka() { # build_akka OUTDIR (Tidelog.dll must be there) [debug|release] [SOURCE_DIR]
  local out="$1" opt="-debug+" src="${3:-$HERE/src/Tidelog.Persistence.Akka}"
  [ "${2:-debug}" = release ] && opt="-optimize+ -debug:portable"
  csc $opt -nowarn:CS1702,CS1701 $(facades) -target:library -doc:"$out/Tidelog.Persistence.Akka.xml" -out:"$out/Tidelog.Persistence.Akka.dll" \
    -r:"$out/Tidelog.dll" $(akka_refs) $(library_refs) "$src"/*.cs "$HERE"/src/Tidelog/Polyfills.cs
}

build_akka_tests() { # the plugin, its test assembly and the test child into $BUILD/test
  local out="$BUILD/test"
  build_akka "$out"
  csc -debug+ -nowarn:CS1702,CS1701 $(facades) -target:library -out:"$out/Tidelog.Persistence.Akka.Tests.dll" -r:"$out/Tidelog.dll" -r:"$out/Tidelog.Persistence.Akka.dll" \
    $(library_refs) $(akka_refs Akka.TestKit.dll Akka.TestKit.Xunit2.dll Microsoft.Extensions.Hosting.dll Microsoft.Extensions.Hosting.Abstractions.dll Microsoft.Extensions.DependencyInjection.Abstractions.dll xunit.core.dll xunit.assert.dll xunit.abstractions.dll) \
    "$HERE"/tests/Tidelog.Persistence.Akka.Tests/*.cs
  csc -debug+ -nowarn:CS1702,CS1701 $(facades) -target:exe -out:"$out/Tidelog.Persistence.Akka.TestChild.exe" -r:"$out/Tidelog.dll" \
    $(library_refs) -r:"$out/Tidelog.Persistence.Akka.dll" -r:"$out/Tidelog.Persistence.Akka.Tests.dll" $(akka_refs) "$HERE"/tests/Tidelog.Persistence.Akka.TestChild/*.cs
  cp -n "$L"/*.dll "$out/" 2>/dev/null || true
}

# The PostgreSQL conformance classes (trait Backend=postgres) run on the server of tests/postgres.sh
# (TIDELOG_TEST_POSTGRES, set by ./dev test); without one they are left out, unless CI=true, where they fail.
postgres_filter() {
  if [ -z "${TIDELOG_TEST_POSTGRES:-}" ] && [ "${CI:-}" != true ]; then
    echo "-notrait Backend=postgres"
  fi
}

mono_test_akka() {
  local out="$BUILD/test"
  step "Akka.NET plugin: conformance suite and plugin tests (Mono)"
  build_akka_tests
  rm -rf "${TMPDIR:-/tmp}/tidelog-akka-conformance"
  (cd "$out" && LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" $XUNIT_CONSOLE "$out/Tidelog.Persistence.Akka.Tests.dll" -nologo -noshadow -noappdomain -maxthreads 2 $(postgres_filter) 2>&1 | tee "$out/xunit-akka.log")
  local rc=${PIPESTATUS[0]}
  rm -rf "${TMPDIR:-/tmp}/tidelog-akka-conformance"
  return "$rc"
}

mono_test() {
  mono_tools
  local lib="$1" out="$BUILD/test"
  rm -rf "$out" && mkdir -p "$out"
  step "C# library and tests (Roslyn on Mono)"
  build_library "$out"
  csc -debug+ -target:exe -out:"$out/Tidelog.TestChild.exe" -r:"$out/Tidelog.dll" $(library_refs) "$HERE"/tests/Tidelog.TestChild/*.cs
  csc -debug+ -target:library -out:"$out/Tidelog.Tests.dll" -r:"$out/Tidelog.dll" $(library_refs) $(facades) \
    -r:"$L/xunit.core.dll" -r:"$L/xunit.assert.dll" -r:"$L/xunit.abstractions.dll" "$HERE"/tests/Tidelog.Tests/*.cs
  gcc -shared -fPIC -O2 -o "$out/libfailsync.so" "$HERE/../tests/faults/failsync.c" -ldl
  cp "$L"/xunit.*.dll "$out/" && cp "$lib" "$out/" && library_deps "$out"
  step "xUnit tests (Mono)"
  (cd "$out" && LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" $XUNIT_CONSOLE "$out/Tidelog.Tests.dll" -nologo -noshadow -noappdomain -maxthreads 2 2>&1 | tee "$out/xunit.log")
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || return "$rc"
  mono_test_akka
}

sdk_test() {
  step ".NET SDK: dotnet test"
  local native_dir="$BUILD/sdk-native"
  mkdir -p "$native_dir" && cp "$1" "$native_dir/"
  gcc -shared -fPIC -O2 -o "$native_dir/libfailsync.so" "$HERE/../tests/faults/failsync.c" -ldl
  dotnet build "$HERE/tests/Tidelog.TestChild/Tidelog.TestChild.csproj"
  LD_LIBRARY_PATH="$native_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" dotnet test "$HERE/tests/Tidelog.Tests/Tidelog.Tests.csproj" -p:TidelogNativeDir="$native_dir"
  dotnet build "$HERE/tests/Tidelog.Persistence.Akka.TestChild/Tidelog.Persistence.Akka.TestChild.csproj"
  LD_LIBRARY_PATH="$native_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" dotnet test "$HERE/tests/Tidelog.Persistence.Akka.Tests/Tidelog.Persistence.Akka.Tests.csproj" -p:TidelogNativeDir="$native_dir"
  # The Akka.NET TCK, restored from the NuGet registry (no registry of the project's CI serves it).
  LD_LIBRARY_PATH="$native_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" dotnet test "$HERE/tests/Tidelog.Persistence.Akka.Tck/Tidelog.Persistence.Akka.Tck.csproj" -p:TidelogNativeDir="$native_dir"
}

cmd_test() {
  local lib; lib="$(native debug)"
  c_tests "$lib"
  if have dotnet; then sdk_test "$lib"; else mono_test "$lib"; fi
}

# pack: TIDELOG_C_LIB names a prebuilt libtidelog_c.so for linux-x64 (./dev dist builds one for glibc 2.17 with
# cargo-zigbuild); TIDELOG_NATIVE_RUNTIMES names a folder of runtimes/<rid>/native/<lib> from other platforms (the
# release workflow's). DIST_DIR overrides the output folder.
cmd_pack() {
  local lib dist="${DIST_DIR:-$HERE/dist}" commit
  commit="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  if [ -n "${TIDELOG_C_LIB:-}" ]; then
    lib="$TIDELOG_C_LIB"
  elif ! lib="$(native_portable)"; then
    echo "warning: the glibc 2.31 build failed; packing a library built against this machine's glibc" >&2
    lib="$(native release)"
  fi
  mkdir -p "$dist"
  if have dotnet; then
    mkdir -p "$HERE/src/Tidelog/runtimes/linux-x64/native" && cp "$lib" "$HERE/src/Tidelog/runtimes/linux-x64/native/"
    dotnet pack "$HERE/src/Tidelog/Tidelog.csproj" -c Release -o "$HERE/dist" -p:Version="$VERSION"
    dotnet pack "$HERE/src/Tidelog.Persistence.Akka/Tidelog.Persistence.Akka.csproj" -c Release -o "$HERE/dist" -p:Version="$VERSION"
    return
  fi
  mono_tools
  local stage="$BUILD/pack/Tidelog"
  rm -rf "$stage" && mkdir -p "$stage/lib/netstandard2.0" "$stage/runtimes/linux-x64/native"
  step "pack Tidelog $VERSION"
  build_library "$stage/lib/netstandard2.0" release
  cp "$lib" "$stage/runtimes/linux-x64/native/libtidelog_c.so"
  strip --strip-debug "$stage/runtimes/linux-x64/native/libtidelog_c.so"
  if [ -n "${TIDELOG_NATIVE_RUNTIMES:-}" ]; then cp -r "$TIDELOG_NATIVE_RUNTIMES"/. "$stage/runtimes/"; fi
  cp "$HERE/src/Tidelog/README.md" "$stage/README.md"
  cp "$HERE/LICENSE" "$stage/LICENSE"
  sed -e 's/\$version\$/'"$VERSION"'/g' -e 's/\$commit\$/'"$commit"'/g' "$HERE/src/Tidelog/Tidelog.nuspec" > "$stage/Tidelog.nuspec"
  $NUGET_EXE pack "$stage/Tidelog.nuspec" -OutputDirectory "$dist" -NoPackageAnalysis -NonInteractive -Symbols -SymbolPackageFormat snupkg
  local akka="$BUILD/pack/Tidelog.Persistence.Akka"
  rm -rf "$akka" && mkdir -p "$akka/lib/netstandard2.0"
  step "pack Tidelog.Persistence.Akka $VERSION"
  cp "$stage/lib/netstandard2.0/Tidelog.dll" "$akka/lib/netstandard2.0/"
  build_akka "$akka/lib/netstandard2.0" release
  rm -f "$akka/lib/netstandard2.0/Tidelog.dll" "$akka/lib/netstandard2.0/Tidelog.pdb"
  cp "$HERE/src/Tidelog.Persistence.Akka/README.md" "$HERE/LICENSE" "$akka/"
  sed -e 's/\$version\$/'"$VERSION"'/g' -e 's/\$commit\$/'"$commit"'/g' "$HERE/src/Tidelog.Persistence.Akka/Tidelog.Persistence.Akka.nuspec" > "$akka/Tidelog.Persistence.Akka.nuspec"
  $NUGET_EXE pack "$akka/Tidelog.Persistence.Akka.nuspec" -OutputDirectory "$dist" -NoPackageAnalysis -NonInteractive -Symbols -SymbolPackageFormat snupkg
  ls -l "$dist"
}

# Builds each deliberately broken plugin of tests/mutants.py and runs the conformance suite (LMDB classes: the
# mutations are above the backend) against it; fails if any mutant passes. Prints what caught each one.
cmd_mutants() {
  local lib; lib="$(native debug)"
  mono_tools
  mkdir -p "$BUILD/test" && build_library "$BUILD/test" && cp "$lib" "$BUILD/test/"
  build_akka_tests
  local ns=Tidelog.Persistence.Akka.Tests.Conformance survived=() m dir
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || mapfile -t names < <(python3 "$HERE/tests/mutants.py" list)
  for m in "${names[@]}"; do
    dir="$BUILD/mutants/$m"
    rm -rf "$dir" && mkdir -p "$dir" && cp -r "$BUILD/test/." "$dir/"
    python3 "$HERE/tests/mutants.py" apply "$m" "$HERE/src/Tidelog.Persistence.Akka" "$dir/src"
    build_akka "$dir" debug "$dir/src"
    step "mutant $m: $(python3 "$HERE/tests/mutants.py" describe "$m")"
    (cd "$dir" && LD_LIBRARY_PATH="$dir" $XUNIT_CONSOLE "$dir/Tidelog.Persistence.Akka.Tests.dll" -nologo -noshadow -noappdomain -maxthreads 2 \
      -class "$ns.LmdbJournalConformance" -class "$ns.LmdbSnapshotStoreConformance" -class "$ns.LmdbQueryConformance" \
      -xml "$dir/result.xml" >"$dir/xunit.log" 2>&1) || true
    python3 - "$dir/result.xml" "$m" <<'PY' || survived+=("$m")
import sys, xml.etree.ElementTree as ET
failed = [t.get("name").split(".")[-1] for t in ET.parse(sys.argv[1]).iter("test") if t.get("result") == "Fail"]
print(f"{sys.argv[2]}: caught by {len(failed)} tests" + "".join(f"\n  {n}" for n in failed[:6]) + ("\n  ..." if len(failed) > 6 else ""))
sys.exit(0 if failed else 1)
PY
  done
  rm -rf "${TMPDIR:-/tmp}/tidelog-akka-conformance"
  if [ ${#survived[@]} -gt 0 ]; then echo "mutants the suite did not catch: ${survived[*]}" >&2; return 1; fi
  echo "every mutant was caught"
}

cmd_bench() {
  local lib; lib="$(native release)"
  mono_tools
  bash "$ROOT/bench/dotnet/run.sh" "$lib"
}

case "${1:-}" in
  test) cmd_test ;;
  test-akka) lib="$(native debug)"; mono_tools; mkdir -p "$BUILD/test"; build_library "$BUILD/test"; cp "$lib" "$BUILD/test/"
    gcc -shared -fPIC -O2 -o "$BUILD/test/libfailsync.so" "$HERE/../tests/faults/failsync.c" -ldl; mono_test_akka ;;
  pack) cmd_pack ;;
  mutants) shift; cmd_mutants "$@" ;;
  bench) cmd_bench ;;
  *) echo "usage: build.sh test | test-akka | mutants | pack | bench" >&2; exit 2 ;;
esac
