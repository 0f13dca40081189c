#!/usr/bin/env bash
# Runs the JVM binding benchmarks (bench/jvm/RESULTS.md) against a release build of the JNI library.
#   bash bench/jvm/run.sh [WORK_DIR]            TidelogBench (JNI floor, appends, durable, replay)
#   bash bench/jvm/run.sh percall [WORK_DIR]    PerCallBench: the per-call figures vs lmdbjava (issue 25)
#   bash bench/jvm/run.sh breakdown [WORK_DIR]  ReadBreakdown: a 100-event read split into native and Java parts
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
main=TidelogBench
if [ "${1:-}" = percall ]; then
  main=PerCallBench
  shift
elif [ "${1:-}" = breakdown ]; then
  main=dev.tidelog.ReadBreakdown
  shift
fi
[ -n "${BUILT:-}" ] || (cd "$root" && cargo build --quiet --release -p tidelog-jni)
[ -n "${SKIP_BUILD:-}" ] || (cd "$root/bindings-jvm" && ${BUILD:-} mvn -B -q -pl tidelog -Dskip.cargo=true -Dcargo.profile=release -DskipTests install)
jar="$root/bindings-jvm/tidelog/target/tidelog-0.1.0.jar"
# lmdbjava 0.9.1 and its dependencies (bench/jvm/peers/pom.xml), for PerCallBench.
[ -d "$here/target/lib" ] || ${BUILD:-} mvn -B -q -f "$here/peers/pom.xml" dependency:copy-dependencies -DoutputDirectory="$here/target/lib"
cp="$jar:$here/target/lib/*"
mkdir -p "$here/target/classes"
${BUILD:-} javac -d "$here/target/classes" -cp "$cp" "$here/src/TidelogBench.java" "$here/src/PerCallBench.java" "$here/src/dev/tidelog/ReadBreakdown.java"
# lmdbjava reads direct buffers' addresses through Unsafe/reflection.
exec java -Xmx2g --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
  -Dtidelog.native.library="${CARGO_TARGET_DIR:-$root/target}/release/libtidelog_jni.so" \
  -cp "$here/target/classes:$cp" "$main" "${1:-$here/target/bench-data}"
