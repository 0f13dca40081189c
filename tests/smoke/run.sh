#!/usr/bin/env bash
# Smoke check of the published artifacts (./dev test runs it): builds dist/ (tools/dist.sh, incremental), then
# installs each artifact into a clean environment with no Rust on PATH and runs its README example:
#   python  a fresh venv: pip install the wheel (no index); the sdist must fail without cargo, downloading nothing
#   npm     a fresh npm project: npm install of the main and platform tarballs (offline)
#   maven   a fresh Maven project with its own local repository, resolving tidelog from dist's staged repository
#   nuget   NuGet.exe install from dist/nuget under Mono, the C# README example compiled against it and run
# Prints "N passed, N failed"; exits non-zero on any failure.
#   tests/smoke/run.sh [--no-build] [python|npm|maven|nuget...]
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIST="$ROOT/dist"
WORK="$ROOT/target/smoke"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"

build=1
if [ "${1:-}" = --no-build ]; then build=0; shift; fi
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(python npm maven nuget)

if [ $build = 1 ]; then
  bash "$ROOT/tools/dist.sh" "${parts[@]}" || { echo "smoke: tools/dist.sh failed"; echo "0 passed, 1 failed"; exit 1; }
fi

# PATH without any Rust toolchain (rustup's shims, cargo-installed tools), so nothing can build from source.
NO_RUST_PATH="$(printf '%s' "$PATH" | tr ':' '\n' | while read -r d; do
  [ -n "$d" ] && [ ! -x "$d/cargo" ] && [ ! -x "$d/rustc" ] && printf '%s:' "$d"; done)"
NO_RUST_PATH="${NO_RUST_PATH%:}"
no_rust() { env -u CARGO_HOME -u RUSTUP_HOME -u VIRTUAL_ENV PATH="$NO_RUST_PATH" "$@"; }

passed=0 failed=0 failures=()
check() { # check NAME COMMAND...
  local name="$1"; shift
  printf '\n--> smoke: %s\n' "$name"
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); failures+=("$name"); echo "FAILED: $name"; fi
}

readme_block() { # readme_block FILE LANG [N] -> the Nth (0-based) fenced block of that language
  python3 - "$1" "$2" "${3:-0}" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
print(re.findall(r"```" + re.escape(sys.argv[2]) + r"\n(.*?)```", text, re.S)[int(sys.argv[3])], end="")
PY
}

python_wheel() {
  local dir="$WORK/python" wheel
  wheel="$(ls "$DIST"/python/tidelog-"$VERSION"-*.whl)" || return 1
  rm -rf "$dir" && mkdir -p "$dir/run"
  no_rust sh -c '! command -v cargo' || { echo "cargo still on PATH"; return 1; }
  no_rust python3 -m venv "$dir/venv" || return 1
  no_rust "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel" || return 1
  readme_block "$ROOT/bindings-python/README.md" python > "$dir/run/example.py"
  (cd "$dir/run" && no_rust "$dir/venv/bin/python" example.py) | tee "$dir/out.txt" | tail -3
  grep -q '1 tagged event(s)' "$dir/out.txt"
}

python_sdist_without_rust() {
  local dir="$WORK/python-sdist" sdist
  sdist="$(ls "$DIST"/python/tidelog-"$VERSION".tar.gz)" || return 1
  rm -rf "$dir/venv" && mkdir -p "$dir/wheelhouse"
  # The build backend's own requirement (maturin), from a local wheelhouse: --no-index keeps pip off the network,
  # so a backend that tried to fetch anything (Rust via puccinialin) would fail differently from the check below.
  if ! ls "$dir"/wheelhouse/maturin-*.whl >/dev/null 2>&1; then
    python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: 'maturin>=1.9,<2' -d "$dir/wheelhouse" || return 1
  fi
  no_rust python3 -m venv "$dir/venv" || return 1
  local rc=0
  no_rust "$dir/venv/bin/pip" install --disable-pip-version-check --no-index --find-links "$dir/wheelhouse" "$sdist" >"$dir/out.txt" 2>&1 || rc=$?
  tail -n 12 "$dir/out.txt"
  [ $rc -ne 0 ] || { echo "the sdist installed without a Rust toolchain?"; return 1; }
  grep -q 'needs a Rust toolchain' "$dir/out.txt" || { echo "no clear message"; return 1; }
  ! grep -qi 'puccinialin\|installing into a temporary directory' "$dir/out.txt" || { echo "the backend tried to install Rust"; return 1; }
}

npm_install() {
  local dir="$WORK/npm-project"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && no_rust npm init -y >/dev/null && no_rust npm pkg set type=module >/dev/null &&
    # --offline: the other platforms' optional packages are not published from here; npm skips them.
    no_rust npm install --offline --no-audit --no-fund --loglevel=error \
      "$DIST/npm/tidelog-linux-x64-gnu-$VERSION.tgz" "$DIST/npm/tidelog-$VERSION.tgz") || return 1
  [ ! -e "$dir/node_modules/tidelog/tidelog.node" ] || { echo "the main package carries an addon"; return 1; }
  readme_block "$ROOT/bindings-node/README.md" js 0 > "$dir/journal.mjs"
  readme_block "$ROOT/bindings-node/README.md" js 1 > "$dir/loom.mjs"
  (cd "$dir" && mkdir -p run && cd run && no_rust node ../journal.mjs && no_rust node ../loom.mjs) >"$dir/out.txt" 2>&1 || { cat "$dir/out.txt"; return 1; }
  tail -n 3 "$dir/out.txt"
  (cd "$dir" && no_rust node -e "const j = require('tidelog'); if (typeof j.Journal !== 'function') process.exit(1)") || return 1
}

maven_project() {
  local dir="$WORK/maven" repo="$DIST/../target/dist-stage/maven/repository"
  [ -d "$repo/dev/tidelog/tidelog/$VERSION" ] || { echo "no staged Maven repository (tools/dist.sh maven)"; return 1; }
  # Its own local repository, kept between runs for the plugins Maven needs, without any previous tidelog in it.
  local m2="$ROOT/target/smoke-m2"
  rm -rf "$dir" "$m2/dev/tidelog" && mkdir -p "$dir/src/main/java/smoke"
  cat > "$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>smoke</groupId><artifactId>smoke</artifactId><version>1</version>
  <properties><maven.compiler.release>17</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <repositories><repository><id>dist</id><url>file://$(cd "$repo" && pwd)</url></repository></repositories>
  <dependencies><dependency><groupId>dev.tidelog</groupId><artifactId>tidelog</artifactId><version>$VERSION</version></dependency></dependencies>
  <build><plugins>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version></plugin>
  </plugins></build>
</project>
EOF
  { readme_block "$ROOT/bindings-jvm/README.md" java | grep '^import '
    echo 'public class Main { public static void main(String[] args) throws Exception {'
    readme_block "$ROOT/bindings-jvm/README.md" java | grep -v '^import '
    echo '}}'; } | sed '1s/^/package smoke;\n/' > "$dir/src/main/java/smoke/Main.java"
  (cd "$dir" && no_rust mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$m2" package dependency:copy-dependencies) || return 1
  (cd "$dir" && no_rust java -cp "target/classes:target/dependency/*" smoke.Main) | tee "$dir/out.txt" || return 1
  grep -q 'highest 3' "$dir/out.txt" || return 1
  local java25=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
  if [ -x "$java25" ]; then
    # Java 24+: with the documented flag, no restricted-method warning.
    (cd "$dir" && rm -rf cart-journal && no_rust "$java25" --enable-native-access=ALL-UNNAMED -cp "target/classes:target/dependency/*" smoke.Main) >"$dir/out25.txt" 2>&1 || { cat "$dir/out25.txt"; return 1; }
    ! grep -q 'restricted method' "$dir/out25.txt" || { cat "$dir/out25.txt"; return 1; }
  fi
}

nuget_mono() {
  local dir="$WORK/nuget" tools="$ROOT/bindings-dotnet/build/dotnet-tools"
  # The offline Mono toolchain of ../shared/dotnet (build.sh sets it up the same way).
  if ! command -v mono >/dev/null || [ ! -f "$tools/env.sh" ]; then
    dpkg -s mono-devel unzip >/dev/null 2>&1 || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mono-devel unzip >/dev/null; } || return 1
    bash "$ROOT/../shared/dotnet/setup.sh" "$tools" >/dev/null || return 1
  fi
  # shellcheck disable=SC1091
  . "$tools/env.sh"
  rm -rf "$dir" && mkdir -p "$dir/app"
  # Our package from dist/; its dependencies (Microsoft.Bcl.AsyncInterfaces) from the offline feed,
  # which stands in for nuget.org here.
  (cd "$dir" && no_rust $NUGET_EXE install Tidelog -Version "$VERSION" -Source "$DIST/nuget" -Source "$ROOT/../shared/dotnet/feed" \
    -OutputDirectory packages -NonInteractive >/dev/null) || return 1
  local pkg="$dir/packages/Tidelog.$VERSION"
  [ -f "$pkg/runtimes/linux-x64/native/libtidelog_c.so" ] || { echo "no runtimes/linux-x64/native in the package"; return 1; }
  readme_block "$ROOT/bindings-dotnet/src/Tidelog/README.md" csharp > "$dir/app/Program.cs"
  # What the .NET SDK does from lib/ and runtimes/<rid>/native: every assembly and the library next to the program.
  cp "$dir"/packages/*/lib/netstandard2.0/*.dll "$pkg/runtimes/linux-x64/native/libtidelog_c.so" "$dir/app/"
  local refs="" dll
  for dll in "$dir"/app/*.dll; do refs="$refs -r:$(basename "$dll")"; done
  (cd "$dir/app" && no_rust $CSC -nologo $CSC_BASE_REFS -langversion:latest -nullable:enable -target:exe -out:Program.exe \
    $refs Program.cs "$ROOT/bindings-dotnet/src/Tidelog/Polyfills.cs") || return 1
  (cd "$dir/app" && no_rust mono Program.exe) | tee "$dir/out.txt" || return 1
  grep -q 'wrote 1..2' "$dir/out.txt"
}

for part in "${parts[@]}"; do
  case "$part" in
    python) check "python wheel in a fresh venv" python_wheel; check "python sdist without Rust fails clearly" python_sdist_without_rust ;;
    npm) check "npm tarballs in a fresh npm project" npm_install ;;
    maven) check "maven jar in a fresh Maven project" maven_project ;;
    nuget) check "nuget package under Mono" nuget_mono ;;
    *) echo "unknown part: $part" >&2; exit 2 ;;
  esac
done

[ ${#failures[@]} -eq 0 ] || printf '\nsmoke FAILED: %s\n' "${failures[*]}"
echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
