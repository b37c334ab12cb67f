"""The grader end to end: the reference scores full marks, the stubs zero, and every way of
handing in the same work gets the same scores. Bad input gets a clear message, never a crash."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import runner, submission
from grader.results import Results
from grader.rubric import TASKS, TOTAL_POINTS

ROOT = Path(__file__).resolve().parents[1]
FAST = ["losses", "chain_rule", "gradcheck"]


def copy_solutions(dest: Path, skip: tuple[str, ...] = ()) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py" and path.name not in skip:
            shutil.copyfile(path, dest / path.name)
    return dest


def grade_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


@pytest.fixture(scope="module")
def reference_results(tmp_path_factory) -> Results:
    return runner.grade(copy_solutions(tmp_path_factory.mktemp("ref")))


@pytest.mark.slow
def test_reference_scores_full_marks(reference_results):
    failed = [f"{t.task}/{t.name}: {t.output[:300]}" for t in reference_results.tests if not t.passed]
    assert failed == []
    assert reference_results.score == reference_results.max_score == TOTAL_POINTS
    assert {t.task for t in reference_results.tests} == {t.name for t in TASKS}
    for task in TASKS:  # the points awarded per task are the rubric's (declared next to the checks)
        assert reference_results.by_task()[task.name]["max_score"] == task.points, task.name


def test_stubs_score_zero_without_crashing(tmp_path):
    out = tmp_path / "stubs.json"
    proc = grade_cli(str(ROOT / "assignments"), "--json", str(out), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["score"] == 0 and data["max_score"] == TOTAL_POINTS
    assert data["extra_data"]["grader_errors"] == []
    assert all(t["output"] for t in data["tests"]), "every failed check says why"
    assert any("not implemented yet" in t["output"] and "Task " in t["output"] for t in data["tests"])
    assert {"name", "score", "max_score", "output", "visibility", "status", "task", "file"} <= set(data["tests"][0])


@pytest.mark.slow
def test_missing_file_loses_exactly_that_task(tmp_path, reference_results):
    sub = copy_solutions(tmp_path / "sub", skip=("backprop.py",))
    res = runner.grade(sub)
    per_task, ref = res.by_task(), reference_results.by_task()
    assert per_task["backprop"]["score"] == 0
    assert per_task["backprop"]["max_score"] == ref["backprop"]["max_score"]
    assert "backprop.py not found: expected the files of assignments/" in per_task["backprop"]["first_failure"]
    for task in TASKS:
        if task.name != "backprop":
            assert per_task[task.name]["score"] == ref[task.name]["score"], task.name


def test_syntax_error_names_file_and_line_and_fails_once(tmp_path):
    sub = copy_solutions(tmp_path / "sub")
    (sub / "losses.py").write_text("import numpy as np\n\ndef mse(a, b)\n    return 0\n")
    res = runner.grade(sub, runner.GradeOptions(tasks=("losses", "chain_rule")))
    losses = [t for t in res.tests if t.task == "losses"]
    assert len(losses) == 2 and all(t.score == 0 for t in losses)  # once per visibility (public, hidden)
    assert all("SyntaxError" in t.output and "line 3" in t.output for t in losses)
    assert sum(t.max_score for t in losses) == 14
    assert res.by_task()["chain_rule"]["score"] == 8


def test_same_seed_same_results_byte_for_byte(tmp_path):
    sub = copy_solutions(tmp_path / "sub")
    (sub / "chain_rule.py").write_text((sub / "chain_rule.py").read_text().replace("df_du = 2.0 * u", "df_du = u"))
    first, second = (runner.grade(sub, runner.GradeOptions(tasks=tuple(FAST))).to_json() for _ in range(2))
    for doc in (first, second):
        doc.pop("execution_time")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["score"] < first["max_score"]


def test_public_only_runs_only_visible_checks(tmp_path):
    res = runner.grade(copy_solutions(tmp_path / "sub"), runner.GradeOptions(tasks=tuple(FAST), public_only=True))
    assert res.tests and all(t.visibility == "visible" for t in res.tests)
    assert res.score == res.max_score < sum(t.points for t in TASKS if t.name in FAST)


def test_progress_counts_every_check_of_every_task(tmp_path):
    seen: list[dict] = []
    res = runner.grade(
        copy_solutions(tmp_path / "sub"),
        runner.GradeOptions(tasks=tuple(FAST)),
        progress=lambda counts: seen.append(dict(counts)),
    )
    per_task = {name: sum(1 for t in res.tests if t.task == name) for name in FAST}
    assert seen and seen[-1] == {name: (n, n) for name, n in per_task.items()}, seen[-1]
    for before, after in zip(seen, seen[1:]):  # counts only grow
        assert all(after[k][0] >= v[0] for k, v in before.items())


def test_a_single_grade_on_a_terminal_shows_progress_per_task(tmp_path):
    """On a terminal, ``grade`` shows "done/collected checks" per task while it runs (a single grade
    of all tasks takes 10-40 s); the table comes after."""
    import os
    import pty
    import re

    sub = copy_solutions(tmp_path / "sub")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", str(sub), "--task", "losses", "--task", "chain_rule"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=tmp_path,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "100"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))  # no colours
    assert re.search(r"1\. losses\.py.*?\d+/\d+ checks", text), text[-3000:]
    assert re.search(r"2\. chain_rule\.py.*?\d+/\d+ checks", text), text[-3000:]
    assert "Score: 22 / 22" in text


def test_zip_nested_and_notebooks_grade_like_the_folder(tmp_path):
    flat = runner.grade(copy_solutions(tmp_path / "flat"), runner.GradeOptions(tasks=tuple(FAST))).by_task()
    nested = copy_solutions(tmp_path / "download" / "alice_hw")
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in nested.glob("*.py"):
            zf.write(path, f"alice_hw/{path.name}")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for task in FAST:
        code = (ROOT / "solutions" / f"{task}.py").read_text()
        nb = {
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": "# task"},
                {"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None},
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (notebooks / f"{task}.ipynb").write_text(json.dumps(nb))
    for path in (tmp_path / "download", archive, notebooks):
        with submission.load(path) as sub:
            assert runner.grade(sub.folder, runner.GradeOptions(tasks=tuple(FAST))).by_task() == flat, path.name


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p / "missing", "no such file or folder"),
        (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "not a submission"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no assignment files found"),
        (lambda p: (p / "bad.zip").write_bytes(b"PK nonsense") and p / "bad.zip", "not a valid zip file"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, make, reason):
    proc = grade_cli(str(make(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 2
    assert reason in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_zip_escaping_its_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../losses.py", "x = 1\n")
    with pytest.raises(submission.SubmissionError, match="escapes"):
        submission.load(archive)


def test_symlinks_are_not_followed(tmp_path):
    sub = copy_solutions(tmp_path / "sub")
    (sub / "losses.py").unlink()
    (sub / "losses.py").symlink_to(ROOT / "solutions" / "losses.py")
    with submission.load(sub) as clean:
        assert not (clean.folder / "losses.py").exists()
        assert any("symbolic link" in n for n in clean.notes)


def test_an_import_failure_keeps_the_public_and_hidden_shares(tmp_path):
    """A module that cannot be imported loses its task once per visibility, so the public share
    shown to students (Gradescope, nbgrader) stays the public checks' points."""
    from grader import runner
    from grader.rubric import BY_NAME, CHECKS

    (tmp_path / "chain_rule.py").write_text("def broken(:\n")
    res = runner.grade(tmp_path, runner.GradeOptions(tasks=("chain_rule",)))
    rows = {t.visibility: t for t in res.tests}
    assert set(rows) == {"visible", "after_published"} and all(t.score == 0 for t in res.tests)
    assert "SyntaxError" in rows["visible"].output
    import re

    public = sum(
        float(p) for p in re.findall(r"points\(([\d.]+)\)", (CHECKS / "public" / "test_chain_rule.py").read_text())
    )
    assert rows["visible"].max_score == public
    assert rows["visible"].max_score + rows["after_published"].max_score == BY_NAME["chain_rule"].points


def test_a_limit_hit_while_importing_reaches_the_rows_and_the_gradebook(tmp_path):
    """An import that hangs costs the task; each of its rows says which limit, as the trusted side saw it."""
    from grader import batch

    (tmp_path / "chain_rule.py").write_text("while True:\n    pass\n")
    res = runner.grade(tmp_path, runner.GradeOptions(tasks=("chain_rule",), timeout_scale=0.05))
    assert res.tests and {t.limit for t in res.tests} == {"timed out"} and all(t.score == 0 for t in res.tests)
    assert batch.status_of(res.to_json()) == "graded; limit hit: chain_rule: timed out"


def test_the_limit_of_a_failure_is_read_from_trusted_exceptions_only():
    from grader.plugin import _limit_of
    from grader.sandbox import StudentError, WorkerDied

    died = WorkerDied("f: the worker was killed (SIGKILL)", limit="killed")
    assert _limit_of(died) == "killed"
    try:
        try:
            raise died
        except WorkerDied:
            raise AssertionError("the check could not finish") from None  # suppressed, still its context
    except AssertionError as exc:
        assert _limit_of(exc) == "killed"
    assert _limit_of(ExceptionGroup("hypothesis", [died])) == "killed"
    with pytest.raises(ValueError, match="unknown limit"):
        WorkerDied("f: killed", limit="out of memory")  # a label results.json would drop: refused here
    lie = StudentError("f", {"type": "WorkerDied", "message": "timed out after 1 s (killed)"})
    assert _limit_of(lie) == "" and _limit_of(ValueError("memory limit of 2 GiB exceeded")) == ""


@pytest.mark.parametrize(
    "body, named",
    [
        (
            'raise RuntimeError("a broken check module")\n',
            ["test_chain_rule.py:1", "RuntimeError: a broken check module"],
        ),
        ('import json\n\njson.loads("{")\n', ["test_chain_rule.py:3", "JSONDecodeError"]),  # raised in a library
        ("import no_such_module_of_bplab\n", ["ModuleNotFoundError: No module named 'no_such_module_of_bplab'"]),
    ],
    ids=["raises", "library-raises", "import-error"],
)
def test_a_check_module_that_cannot_be_collected_is_named_first_in_the_task_row(tmp_path, monkeypatch, body, named):
    """A check module that fails when imported (the grader's own error) ends its lane; the task's row
    starts with the module's own frame (file:line, where the traceback shows one) and the error,
    whatever traceback style pytest printed."""
    broken = tmp_path / "test_chain_rule.py"
    broken.write_text(body)
    task_class = type(TASKS[0])
    real = task_class.check_files
    monkeypatch.setattr(
        task_class, "check_files", lambda self, public_only=False: [broken] if self.name == "chain_rule" else real(self)
    )
    options = runner.GradeOptions(tasks=("chain_rule",), allow_unsandboxed=True, sandbox=False)
    res = runner.grade(copy_solutions(tmp_path / "sub"), options, lanes=1, in_process=True)
    (row,) = [t for t in res.tests if t.task == "chain_rule"]
    assert row.name == "chain_rule: grading did not finish" and row.score == 0
    head = row.output.split("; ")[0]
    assert all(part in head for part in named) and ": E " not in head, row.output
    assert res.grader_errors
