#!/usr/bin/env bash
# Builds the Node package (native addon + TypeScript) and runs its tests.
# Non-interactive and idempotent: `bash bindings-node/test.sh` from anywhere.
set -euo pipefail
cd "$(dirname "$0")"
# The caller's CI decides whether PostgreSQL variants without a server fail or are left out.
caller_ci="${CI:-}"
export CI="${CI:-true}" npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

command -v node >/dev/null || { echo "node (>= 20.17) is required" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo is required" >&2; exit 1; }

# npm ci only when node_modules does not match the lockfile.
if ! cmp -s package-lock.json node_modules/.tidelog-installed-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.tidelog-installed-lock
fi

npm run --silent build:native
npm run --silent build:ts
npx --no-install tsc -p test/tsconfig.json
# The README's examples (examples/*.mjs, kept equal to the README) pass tsc --strict.
npx --no-install tsc -p examples/tsconfig.json
# TIDELOG_TEST_POSTGRES (set by tests/postgres.sh run, e.g. in ./dev test) adds PostgreSQL
# to the backends the tests run on.
CI="$caller_ci" node --test test/
