"""The student bundle runs the public checks without the reference, and leaks nothing."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import expected
from grader.course import release, stubs
from grader.rubric import TASKS

ROOT = Path(__file__).resolve().parents[1]
NUMPY_TASKS = [t.name for t in TASKS if t.number <= 6]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return release.build(tmp_path_factory.mktemp("release") / "bundle")


def test_bundle_leaks_no_solution_and_no_hidden_check(bundle):
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert not (bundle / "solutions").exists()
    assert not (bundle / "grader" / "checks" / "hidden").exists()
    assert not (bundle / "grader" / "course").exists()
    for path in files:
        if path.suffix in (".py", ".md", ".json", ".toml"):
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
    for path in (bundle / "grader").rglob("*.py"):
        assert "from solutions" not in path.read_text() and "import solutions" not in path.read_text(), path


def public_grade(bundle: Path, out: Path) -> dict:
    env = {**os.environ, "BPLAB_EXPECTED": "replay"}  # the reference is not consulted, as at a student's
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "assignments", "--public", "--quiet",
                           "--json", str(out), *sum((["--task", t] for t in NUMPY_TASKS), [])],
                          cwd=bundle, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_public_checks_run_from_the_bundle(bundle, tmp_path):
    blank = public_grade(bundle, tmp_path / "blank.json")
    assert blank["score"] == 0 and blank["max_score"] > 0
    assert all(t["visibility"] == "visible" for t in blank["tests"])
    for name in NUMPY_TASKS:
        shutil.copyfile(ROOT / "solutions" / f"{name}.py", bundle / "assignments" / f"{name}.py")
    done = public_grade(bundle, tmp_path / "done.json")
    failed = [f"{t['task']}: {t['output'][:200]}" for t in done["tests"] if t["status"] != "passed"]
    assert failed == [] and done["score"] == blank["max_score"]


@pytest.mark.slow
def test_recorded_public_values_are_fresh(tmp_path):
    """What `course stubs` would record equals what is committed (and the reference passes with it)."""
    written = stubs.record_public_expected(tmp_path)
    committed = sorted(expected.DEFAULT_DIR.glob("*.json"))
    assert [p.name for p in written] == [p.name for p in committed]
    for new, old in zip(written, committed):
        assert new.read_text() == old.read_text(), f"{old.name} is stale: run `course stubs`"


def test_release_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not a bundle"):
        release.build(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    again = release.build(tmp_path / "bundle")
    assert release.build(again) == again  # its own bundle is replaced
