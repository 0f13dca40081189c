#!/usr/bin/env bash
# Builds the `tidelog` Python package into a local venv and runs its pytest suite.
#   bash bindings-python/test.sh [pytest args...]
# Non-interactive and idempotent: the venv (bindings-python/.venv, git-ignored)
# and its tools are reused when present.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=.venv

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    # Debian's system Python ships venv separately.
    rm -rf "$VENV"
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    "$PYTHON" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"

if ! "$PY" -c 'import pytest, mypy' 2>/dev/null || [ ! -x "$VENV/bin/maturin" ]; then
  "$PY" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2' 'pytest>=7' 'mypy>=1.5'
fi

# Debug build (fast to compile); benchmarks build with --release themselves.
echo "building the tidelog extension (maturin develop)"
VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" "$VENV/bin/maturin" develop --quiet

exec "$PY" -m pytest -q -p no:cacheprovider "$@" tests
