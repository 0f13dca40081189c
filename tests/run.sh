#!/usr/bin/env bash
# Cross-language and crash matrix; run by ./dev test after the bindings' own suites built them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p tidelog-compat --bins
if [ -x tests/agents/build.sh ]; then bash tests/agents/build.sh; fi
exec python3 tests/run.py
