#!/usr/bin/env bash
# Builds the agents that need compiling, against what the bindings' own test scripts built.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
mkdir -p build
jar=$(ls "$root"/bindings-jvm/tidelog/target/tidelog-*.jar 2>/dev/null | grep -v -e sources -e javadoc | head -1 || true)
if [ -n "$jar" ] && command -v javac >/dev/null; then
  mkdir -p build/jvm
  javac -d build/jvm -cp "$jar" Agent.java
  echo "$jar" > build/jvm/classpath.txt
fi
if [ -f Agent.cs ] && [ -f "$root/bindings-dotnet/build/dotnet-tools/env.sh" ] && [ -f "$root/bindings-dotnet/build/test/Tidelog.dll" ]; then
  bash build-dotnet.sh
fi
