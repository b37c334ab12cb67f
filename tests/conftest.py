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
    from grader.course.gradescope import build_wheel

    base = tmp_path_factory.mktemp("installed")
    venv = base / "venv"
    wheel = build_wheel(base / "build")  # from a clean copy of the tree, never a stale build/ of it
    assert wheel is not None, "pip could not build the wheel"
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
            str(wheel),
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
