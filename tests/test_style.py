"""The code is formatted and linted by ruff (the configuration in pyproject.toml, the version pinned
in .ci/constraints.txt): `ruff format` and `ruff check --fix` leave nothing to change."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
PATHS = ["grader", "solutions", "tests"]


def test_ruff_format_leaves_nothing_to_change():
    assert RUFF, "ruff is a dev dependency: pip install -e '.[dev]'"
    proc = subprocess.run([RUFF, "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, "run `ruff format grader solutions tests`:\n" + proc.stdout[-3000:]


def test_ruff_check_finds_nothing():
    assert RUFF, "ruff is a dev dependency: pip install -e '.[dev]'"
    proc = subprocess.run([RUFF, "check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
