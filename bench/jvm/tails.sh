#!/usr/bin/env bash
# Commit-to-subscriber latency of the JVM live tails (bench/jvm/RESULTS.md, "Live tails"), against
# a release build of the JNI library. Usage: bench/jvm/tails.sh [events]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
(cd "$root" && cargo build --quiet --release -p tidelog-jni)
(cd "$root/bindings-jvm" && mvn -B -q -pl tidelog -Dskip.cargo=true -Dcargo.profile=release -DskipTests install)
jar="$root/bindings-jvm/tidelog/target/tidelog-0.1.0.jar"
mkdir -p "$here/target/classes" "$here/target/bench-data"
javac -d "$here/target/classes" -cp "$jar" "$here/src/TailLatencyBench.java"
exec java -Dtidelog.native.library="${CARGO_TARGET_DIR:-$root/target}/release/libtidelog_jni.so" \
  -cp "$here/target/classes:$jar" TailLatencyBench "$here/target/bench-data" "${1:-5000}"
