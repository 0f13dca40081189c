#!/usr/bin/env bash
# Runs the JVM binding benchmarks (bench/jvm/RESULTS.md) against a release build of the JNI library.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
(cd "$root" && cargo build --quiet --release -p tidelog-jni)
(cd "$root/bindings-jvm" && mvn -B -q -pl tidelog -Dskip.cargo=true -Dcargo.profile=release -DskipTests install)
jar="$root/bindings-jvm/tidelog/target/tidelog-0.1.0.jar"
mkdir -p "$here/target/classes"
javac -d "$here/target/classes" -cp "$jar" "$here/src/TidelogBench.java"
exec java -Xmx2g -Dtidelog.native.library="${CARGO_TARGET_DIR:-$root/target}/release/libtidelog_jni.so" \
  -cp "$here/target/classes:$jar" TidelogBench "${1:-$here/target/bench-data}"
