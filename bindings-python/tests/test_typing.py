"""The stubs and the package type-check under mypy --strict, together with typical application code."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_package_and_example_type_check_strictly():
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(ROOT / "python" / "tidelog"), str(ROOT / "tests" / "typing_example.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_typing_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "typing_example.py")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
