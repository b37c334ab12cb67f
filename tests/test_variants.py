"""Per-student variants: ``--variants KEYFILE`` seeds each student's hidden inputs with
HMAC-SHA256(key, assignment, student); the results record the variant, never the key. Fairness:
the reference scores full marks on every variant and each planted mistake loses points (and is
named alike) on every variant; two students with the same buggy code see different expected values;
regrading a student gives identical results. CI grades a few variants of the fast tasks in one
batch; for more, e.g. ``BPLAB_FAIRNESS_VARIANTS=50 .venv/bin/python -m pytest tests/test_variants.py``
(50 reference variants and 50 // 4 per planted mistake)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cli, runner
from grader.rubric import BY_NAME

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent / "mistakes"))
from run_catalog import catalog  # noqa: E402

TASKS = ["losses", "chain_rule"]
REFERENCES = int(os.environ.get("BPLAB_FAIRNESS_VARIANTS", "10"))
PER_MISTAKE = max(3, REFERENCES // 4)
PLANTED = {"sigma_a": ("chain_rule", "neuron_sigma_prime_of_a"), "mean": ("losses", "mse_grad_forgot_mean")}
KEY = b"a test key, not a secret: 5d41402abc4b2a76b9719d911017c592"


# -- the seed -------------------------------------------------------------------------------------
def test_variant_is_a_keyed_hash_of_key_assignment_and_student():
    a = runner.variant_for(KEY, "alice")
    assert a == runner.variant_for(KEY, "alice")  # a regrade: the same variant
    assert 0 <= a.seed < 2**31 and re.fullmatch(r"[0-9a-f]{12}", a.id)
    seeds = {runner.variant_for(KEY, f"student{i}").seed for i in range(200)}
    assert len(seeds) == 200 and runner.DEFAULT_SEED not in seeds
    assert runner.variant_for(KEY + b"!", "alice").seed != a.seed  # next term's key
    assert runner.variant_for(KEY, "alice", "another-assignment").seed != a.seed
    assert runner.variant_for(KEY, "Alice").seed != a.seed
    record = a.record()
    assert record == {"id": a.id, "seed": a.seed, "student": "alice", "assignment": runner.VARIANT_ASSIGNMENT}
    assert KEY.decode() not in json.dumps(record)


def test_key_file_and_flags(tmp_path, capsys):
    key = tmp_path / "course.key"
    key.write_bytes(b"  " + KEY + b"\n")
    assert runner.read_variant_key(key) == KEY
    (tmp_path / "short.key").write_text("short\n")
    for path in (tmp_path / "short.key", tmp_path / "missing.key"):
        with pytest.raises(runner.VariantKeyError):
            runner.read_variant_key(path)
    sub = str(ROOT / "solutions")
    cases = [
        ([sub, "--variants", str(key)], "needs --student"),
        ([sub, "--student", "alice"], "use it with --variants"),
        ([sub, "--variants", str(key), "--student", "a", "--seed", "3"], "exclude each other"),
        (
            [sub, "--batch", "--out", str(tmp_path / "o"), "--variants", str(key), "--student", "a"],
            "each student's name",
        ),
        ([sub, "--variants", str(tmp_path / "short.key"), "--student", "a"], "at least 16"),
    ]
    for argv, said in cases:
        assert cli.main(argv) == cli.USAGE_ERROR, argv
        assert said in capsys.readouterr().err, argv
    assert not (tmp_path / "o").exists()


# -- fairness over many variants: one batch of the fast tasks --------------------------------------
def _reference(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copyfile(path, dest / path.name)
    return dest


def _grade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args, *[a for t in TASKS for a in ("--task", t)]],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def keyed_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("variants")
    key = base / "course.key"
    key.write_bytes(KEY + b"\n")
    cls = base / "class"
    cls.mkdir()
    for i in range(REFERENCES):
        _reference(cls / f"ref{i:02d}")
    for label, (task, name) in PLANTED.items():
        mistake = catalog(task)[name]
        for i in range(PER_MISTAKE):
            path = _reference(cls / f"{label}{i:02d}") / f"{task}.py"
            path.write_text(path.read_text().replace(mistake["find"], mistake["replace"], 1))
    out = base / "out"
    proc = _grade(str(cls), "--batch", "--out", str(out), "--workers", "2", "--quiet", "--variants", str(key), cwd=base)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/results.json")}
    assert len(results) == REFERENCES + len(PLANTED) * PER_MISTAKE
    return {"base": base, "key": key, "cls": cls, "out": out, "results": results}


def test_reference_full_marks_on_every_variant(keyed_class):
    refs = {s: d for s, d in keyed_class["results"].items() if s.startswith("ref")}
    seeds = set()
    for student, data in refs.items():
        full = sum(BY_NAME[t].points for t in TASKS)
        assert data["score"] == data["max_score"] == full, (
            student,
            [t["output"] for t in data["tests"] if t["output"]][:2],
        )
        variant = data["extra_data"]["variant"]
        assert variant == runner.variant_for(KEY, student).record() and data["extra_data"]["seed"] == variant["seed"]
        assert data["extra_data"]["batch"]["variant"] == variant["id"]
        seeds.add(variant["seed"])
    assert len(seeds) == REFERENCES
    text = json.dumps(keyed_class["results"])
    assert KEY.decode() not in text and KEY.decode() not in (keyed_class["out"] / "summary.json").read_text()


def test_planted_mistakes_lose_points_and_are_named_alike_on_every_variant(keyed_class):
    for label, (task, name) in PLANTED.items():
        mistake = catalog(task)[name]
        named = []
        for student, data in sorted(keyed_class["results"].items()):
            if not student.startswith(label):
                continue
            rows = [t for t in data["tests"] if t["task"] == task]
            assert sum(t["score"] for t in rows) < sum(t["max_score"] for t in rows), student
            assert any(mistake["expect"] in t["output"] for t in rows if t["status"] != "passed"), student
            named.append(sorted({m["id"] for t in rows for m in t["mistakes"]}))
        assert len(named) == PER_MISTAKE and named[0] and all(n == named[0] for n in named), named


def test_same_buggy_code_shows_different_expected_values(keyed_class):
    """Two students with the same mistake: the hidden checks name other expected values for each."""

    def expected_values(student):
        data = keyed_class["results"][student]
        return {
            t["name"]: re.findall(r"expected (-?[\d.]+(?:e[-+]?\d+)?)", t["output"])
            for t in data["tests"]
            if t["status"] != "passed" and t["visibility"] != "visible" and "seeded" in t["name"]
        }

    for label in PLANTED:
        first, second = expected_values(f"{label}00"), expected_values(f"{label}01")
        assert first.keys() == second.keys() and first, (first, second)
        for name in first:  # every seeded hidden check that fails names its own values to each student
            assert first[name] and second[name] and first[name] != second[name], (name, first[name], second[name])


def test_regrading_a_student_gives_identical_results(keyed_class):
    """``grade --variants KEY --student NAME`` on one submission reproduces the batch's grade, and a
    rerun of the batch finds every student already graded against the same key."""
    base, student = keyed_class["base"], "sigma_a01"
    again = base / "again.json"
    proc = _grade(
        str(keyed_class["cls"] / student),
        "--variants",
        str(keyed_class["key"]),
        "--student",
        student,
        "--json",
        str(again),
        "--quiet",
        cwd=base,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    single, batch = json.loads(again.read_text()), keyed_class["results"][student]
    assert single["tests"] == batch["tests"] and single["score"] == batch["score"]
    assert single["extra_data"]["variant"] == batch["extra_data"]["variant"]
    rerun = _grade(
        str(keyed_class["cls"]),
        "--batch",
        "--out",
        str(keyed_class["out"]),
        "--workers",
        "2",
        "--variants",
        str(keyed_class["key"]),
        cwd=base,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads((keyed_class["out"] / "summary.json").read_text())
    assert summary["graded_now"] == 0 and summary["already_graded"] == len(keyed_class["results"]), summary
    assert summary["variants"] == {"assignment": runner.VARIANT_ASSIGNMENT}


def test_the_nbgrader_step_uses_the_same_variant_as_grade(tmp_path):
    """``c.IsolatedGrade.variants_key_file``: a student's notebooks are graded on the seed that
    ``grade --variants KEY --student ID`` uses for them."""
    from grader import runner
    from grader.course.nbgrader_preprocessors import IsolatedGrade

    key = tmp_path / "variants.key"
    key.write_text("0123456789abcdef0123456789abcdef")
    step = IsolatedGrade()
    assert step.seed_for("alice") == (None, None)  # no key: the course's seed, as before
    step.variants_key_file = str(key)
    seed, record = step.seed_for("alice")
    want = runner.variant_for(runner.read_variant_key(key), "alice")
    assert seed == want.seed and record == want.record()
    assert step.seed_for("bob")[0] != seed
