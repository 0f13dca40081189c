#!/usr/bin/env bash
# Builds a release wheel of the `tidelog` Python package into its own venv
# (bench/python/.venv, with the `lmdb` package from PyPI for comparison) and
# runs the benchmarks. Arguments go to bench.py (e.g. --write to update RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import lmdb' 2>/dev/null || [ ! -x "$VENV/bin/maturin" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2' 'lmdb>=3,<4'
fi
rm -rf .dist
(cd ../../bindings-python && ${BUILD:-} "../bench/python/$VENV/bin/maturin" build --release --quiet -o ../bench/python/.dist -i "../bench/python/$VENV/bin/python")
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps .dist/tidelog-*.whl
exec "$VENV/bin/python" bench.py "$@"
