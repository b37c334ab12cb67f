"""Shared fixtures: the grader as users install it (a wheel in a fresh venv outside the source tree)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def installed_grade(tmp_path_factory) -> Path:
    """``grade`` of a non-editable install: the wheel built from this checkout, installed with its
    dependencies (pinned by .ci/constraints.txt) into a new venv in a temporary folder."""
    base = tmp_path_factory.mktemp("installed")
    dist, venv = base / "dist", base / "venv"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=base,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            str(ROOT / ".ci" / "constraints.txt"),
            *map(str, dist.glob("*.whl")),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=base,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import grader; print(grader.__file__)"],
        capture_output=True,
        text=True,
        cwd=base,
    )
    assert str(venv) in where.stdout and str(ROOT) not in where.stdout, where.stdout  # not the checkout
    return venv / "bin" / "grade"
