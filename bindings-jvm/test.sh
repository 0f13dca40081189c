#!/usr/bin/env bash
# Builds the JNI library, then builds and tests the Maven modules:
#   tidemark (JUnit 5, all backends), tidemark-pekko (Pekko's TCK + a typed actor),
#   and, when a JDK 21+ is present, tidemark-cajun (built with Temurin 25 at --release 21).
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

profile="${TIDEMARK_CARGO_PROFILE:-debug}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
echo "==> cargo build -p tidemark-jni ($profile)"
if [ "$profile" = release ]; then
  (cd "$root" && cargo build --quiet --release -p tidemark-jni)
else
  (cd "$root" && cargo build --quiet -p tidemark-jni)
fi

log="$here/target/test.log"
mkdir -p "$here/target"
: > "$log"
mvn_args=(-B -Dskip.cargo=true -Dcargo.profile="$profile" -Dcargo.target.dir="$target_dir" -Dstyle.color=never)

summary() { grep -E "Tests run:|BUILD|ERROR\]|FAIL" "$1" | grep -vE "^\[INFO\] Tests run: .* -- in " || true; }

status=0
echo "==> mvn install (JDK 17: tidemark, tidemark-pekko)"
if ! mvn "${mvn_args[@]}" install >>"$log" 2>&1; then status=1; fi
summary "$log"

jdk25=""
for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
  if [ -x "$candidate/bin/javac" ]; then jdk25="$candidate"; break; fi
done
if [ $status -eq 0 ] && [ -d "$here/tidemark-cajun" ]; then
  if [ -n "$jdk25" ]; then
    echo "==> mvn verify (tidemark-cajun with $jdk25, --release 21)"
    cajun_log="$here/target/test-cajun.log"
    if ! JAVA_HOME="$jdk25" mvn "${mvn_args[@]}" -Pcajun -pl tidemark-cajun verify >"$cajun_log" 2>&1; then status=1; fi
    cat "$cajun_log" >>"$log"
    summary "$cajun_log"
  else
    echo "==> tidemark-cajun skipped: no JDK 21+ under /usr/lib/jvm"
  fi
fi

if [ $status -ne 0 ]; then
  echo "JVM tests FAILED; full log: $log"
  tail -n 80 "$log"
fi
exit $status
