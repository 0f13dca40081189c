"""The README's example runs as written."""

import re
from pathlib import Path


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "1 tagged event(s)" in out


def test_readme_example_passes_mypy_strict(tmp_path):
    """Users copy the example into typed code: it must type-check as written."""
    import subprocess
    import sys

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = tmp_path / "readme_example.py"
    example.write_text(re.findall(r"```python\n(.*?)```", readme, re.S)[0])
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(example)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
