#!/usr/bin/env bash
# Builds into dist/ every artifact a release publishes (./dev dist calls this), then checks them.
#   tools/dist.sh [python] [npm] [maven] [nuget] [crates]     (no argument: all of them)
#
#   dist/python  abi3 wheel (manylinux2014 = manylinux_2_17) and sdist
#   dist/npm     tidelog-<v>.tgz (main package) and tidelog-linux-x64-gnu-<v>.tgz (napi-rs platform package)
#   dist/maven   jars, sources and javadoc jars, poms, and the Central Portal bundle (a zip of the repository layout)
#   dist/nuget   .nupkg and .snupkg for Tidelog and Tidelog.Persistence.Akka
#   dist/crates  .crate files of the publishable crates (cargo package, verified)
#
# Every native library is built once, by cargo-zigbuild for x86_64-unknown-linux-gnu.2.17 (zig links against a
# glibc 2.17 stub, so the libraries load on any glibc >= 2.17) with the `dist` profile (release, no debug info,
# stripped). The tools (ziglang, cargo-zigbuild, maturin, twine, auditwheel) are PyPI packages, installed into
# target/dist-tools. Other platforms: .github/workflows/release.yml.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/dist"
STAGE="$ROOT/target/dist-stage"
TOOLS="$ROOT/target/dist-tools"
ZIG_TARGET=x86_64-unknown-linux-gnu.2.17
NATIVE="$ROOT/target/x86_64-unknown-linux-gnu/dist"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
MAX_GLIBC=2.17
export CARGO_TERM_QUIET=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

step() { printf '\n==> dist: %s\n' "$*"; }
fail() { echo "dist: $*" >&2; exit 1; }

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(python npm maven nuget crates)
wants() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

tools() {
  if ! "$TOOLS/bin/python" -c 'import ziglang, twine, auditwheel' 2>/dev/null || [ ! -x "$TOOLS/bin/cargo-zigbuild" ] || [ ! -x "$TOOLS/bin/maturin" ]; then
    step "tools: ziglang, cargo-zigbuild, maturin, twine, auditwheel (PyPI) into target/dist-tools"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check ziglang cargo-zigbuild 'maturin>=1.9,<2' twine auditwheel
  fi
  export PATH="$TOOLS/bin:$PATH"
}

native() {
  step "native libraries for $ZIG_TARGET (cargo zigbuild --profile dist): node addon, JNI, C ABI"
  cargo zigbuild --locked --profile dist --target "$ZIG_TARGET" -p tidelog-node -p tidelog-jni -p tidelog-c
}

python_dist() {
  step "python: abi3 wheel (manylinux2014) and sdist"
  rm -rf "$OUT/python" && mkdir -p "$OUT/python"
  # Its own target dir: maturin's zig set-up differs from cargo-zigbuild's in the environment of build scripts, and
  # sharing one dir would rebuild both every time.
  (cd bindings-python && export CARGO_TARGET_DIR="$ROOT/target/dist-python" &&
    maturin build --quiet --locked --profile dist --zig --compatibility manylinux2014 --target x86_64-unknown-linux-gnu --out "$OUT/python" &&
    maturin sdist --out "$OUT/python")
  twine check --strict "$OUT"/python/*
  auditwheel show "$OUT"/python/*.whl | tee "$STAGE/auditwheel.txt"
  grep -q 'manylinux_2_17_x86_64' "$STAGE/auditwheel.txt" || fail "auditwheel does not report manylinux_2_17"
}

npm_dist() {
  step "npm: main package and platform package (napi-rs layout)"
  rm -rf "$OUT/npm" "$STAGE/npm" && mkdir -p "$OUT/npm" "$STAGE/npm"
  (cd bindings-node &&
    if ! cmp -s package-lock.json node_modules/.tidelog-installed-lock 2>/dev/null; then
      npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.tidelog-installed-lock
    fi)
  # Platform package: the stripped addon with os/cpu/libc, as `napi create-npm-dirs` lays it out.
  local pdir="$STAGE/npm/tidelog-linux-x64-gnu"
  node tools/npm-platform-package.js "$NATIVE/libtidelog_node.so" linux-x64-gnu "$pdir"
  (cd "$pdir" && npm pack --silent --pack-destination "$OUT/npm" >/dev/null)
  # Main package: `npm pack` in bindings-node runs prepack (tsc -> dist/); the staged copy gets the
  # optionalDependencies on every platform package (what `napi prepublish` adds at publish time).
  (cd bindings-node && npm pack --silent --pack-destination "$STAGE/npm" >/dev/null)
  mkdir -p "$STAGE/npm/main" && tar -xzf "$STAGE/npm/tidelog-$VERSION.tgz" -C "$STAGE/npm/main"
  node tools/npm-main-package.js "$STAGE/npm/main/package"
  (cd "$STAGE/npm/main/package" && npm pack --silent --ignore-scripts --pack-destination "$OUT/npm" >/dev/null)
  for t in "$OUT"/npm/*.tgz; do echo "$(basename "$t"):"; tar -tzf "$t" | sed 's/^/  /'; done
}

maven_dist() {
  step "maven: jars, sources, javadoc, poms, Central Portal bundle"
  rm -rf "$OUT/maven" "$STAGE/maven" && mkdir -p "$OUT/maven" "$STAGE/maven"
  local java_home="" profiles=dist
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
    if [ -x "$candidate/bin/javac" ]; then java_home="$candidate"; profiles=dist,cajun; break; fi
  done
  [ -n "$java_home" ] || echo "dist: no JDK 21+: tidelog-cajun left out of the bundle" >&2
  # target/classes may hold a newer debug library from bindings-jvm/test.sh, which Maven would not replace.
  rm -rf bindings-jvm/tidelog/target/classes/dev/tidelog/native
  (cd bindings-jvm && JAVA_HOME="${java_home:-${JAVA_HOME:-}}" mvn -B -q -Dstyle.color=never -P"$profiles" \
    -Dmaven.test.skip=true -Dskip.cargo=true -Dcargo.profile=dist -Dcargo.target.dir="$ROOT/target/x86_64-unknown-linux-gnu" \
    -DaltDeploymentRepository="dist::file://$STAGE/maven/repository" deploy)
  find "$STAGE/maven/repository" -name 'maven-metadata*' -delete
  find "$STAGE/maven/repository" -type f \( -name '*.jar' -o -name '*.pom' \) -exec cp {} "$OUT/maven/" \;
  (cd "$STAGE/maven/repository" && python3 - "$OUT/maven/tidelog-$VERSION-central-bundle.zip" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for base, _, files in os.walk("."):
        for f in sorted(files):
            z.write(os.path.join(base, f), os.path.relpath(os.path.join(base, f), "."))
PY
  )
  echo "tidelog-$VERSION.jar:"; unzip -l "$OUT/maven/tidelog-$VERSION.jar" | awk 'NR>3 && $4 !~ /\/$/ && $4 !~ /\.class$/ {print "  " $4}' | sed '/^  $/d'
  unzip -p "$OUT/maven/tidelog-$VERSION.jar" META-INF/MANIFEST.MF | grep -q '^Enable-Native-Access: ALL-UNNAMED' || fail "no Enable-Native-Access in the manifest"
}

nuget_dist() {
  step "nuget: .nupkg and .snupkg"
  rm -rf "$OUT/nuget" && mkdir -p "$OUT/nuget"
  DIST_DIR="$OUT/nuget" TIDELOG_C_LIB="$NATIVE/libtidelog_c.so" bash bindings-dotnet/build.sh pack >/dev/null
  ls "$OUT/nuget"
}

crates_dist() {
  step "crates: cargo package (with verification) of tidelog and tidelog-cli"
  rm -rf "$OUT/crates" && mkdir -p "$OUT/crates"
  # One invocation: cargo verifies tidelog-cli against the just-packaged tidelog (publish order: tidelog, tidelog-cli).
  cargo package --locked -p tidelog -p tidelog-cli
  cp "$ROOT/target/package/tidelog-$VERSION.crate" "$ROOT/target/package/tidelog-cli-$VERSION.crate" "$OUT/crates/"
}

mkdir -p "$OUT" "$STAGE"
tools
if wants npm || wants maven || wants nuget; then native; fi
wants python && python_dist
wants npm && npm_dist
wants maven && maven_dist
wants nuget && nuget_dist
wants crates && crates_dist
step "checking every native library in dist/ (GLIBC <= $MAX_GLIBC, no .debug_info, LICENSE in every package)"
python3 "$ROOT/tools/check-dist.py" --max-glibc "$MAX_GLIBC" "$OUT"
