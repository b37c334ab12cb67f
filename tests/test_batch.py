"""Batch grading end to end (real processes, no mocks): a class graded in parallel, every gradebook
row checked against the reference's own per-task scores; bad entries cost only themselves; a
SIGKILL part way loses only what was in flight; reruns skip what is already graded."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from grader.rubric import BY_NAME, TASKS

ROOT = Path(__file__).resolve().parents[1]
# fast numpy tasks only (whichever have checks by now), to keep the suite quick
FAST = os.environ.get("BPLAB_TEST_TASKS", "losses,chain_rule,gradcheck").split(",")
GRADED = [t for t in FAST if t in BY_NAME and BY_NAME[t].check_files()]
pytestmark = pytest.mark.skipif(not GRADED, reason="no checks for the fast tasks yet")
TASK_ARGS = [a for t in GRADED for a in ("--task", t)]


# -- building submissions -------------------------------------------------------------------------
def reference(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copyfile(path, dest / path.name)
    return dest


def stubs(dest: Path) -> Path:
    shutil.copytree(ROOT / "assignments", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def as_notebooks(src: Path, dest: Path) -> Path:
    """Every task module of ``src`` as ``<task>.ipynb``: a markdown cell and the code in one code cell."""
    dest.mkdir(parents=True, exist_ok=True)
    for task in TASKS:
        code = (src / task.file).read_text()
        nb = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": [f"# Task {task.number}\n"], "id": "m"},
                {
                    "cell_type": "code",
                    "metadata": {},
                    "execution_count": None,
                    "outputs": [],
                    "id": "c",
                    "source": code.splitlines(keepends=True),
                },
            ],
        }
        (dest / f"{task.name}.ipynb").write_text(json.dumps(nb))
    return dest


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, prefix + path.name)
    return archive


BREAKAGES = {
    "stub": lambda ref, t: shutil.copyfile(ROOT / "assignments" / t.file, ref / t.file),
    "syntax": lambda ref, t: (ref / t.file).write_text((ref / t.file).read_text() + "\ndef broken(:\n"),
    "missing": lambda ref, t: (ref / t.file).unlink(),
    "raises": lambda ref, t: (ref / t.file).write_text((ref / t.file).read_text() + "\nraise RuntimeError('boom')\n"),
    "exits": lambda ref, t: (ref / t.file).write_text((ref / t.file).read_text() + "\nimport os\nos._exit(3)\n"),
    "empty": lambda ref, t: (ref / t.file).write_text("x = 1\n"),
}


def grade(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=dict(os.environ),
    )


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def stored(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def leftovers(out: Path) -> list[str]:
    """Anything that is not a finished result: temp files, partial files."""
    bad = []
    for path in out.rglob("*"):
        if path.is_file() and (
            path.name.endswith(".tmp") or (path.name.startswith(".") and path.name != ".batch.lock")
        ):
            bad.append(str(path.relative_to(out)))
    return bad


@pytest.fixture(scope="module")
def ref_scores(tmp_path_factory) -> dict[str, float]:
    """The reference's own per-task scores (graded once): the expectations of every other row."""
    tmp = tmp_path_factory.mktemp("refgrade")
    proc = grade(str(reference(tmp / "ref")), *TASK_ARGS, "--json", str(tmp / "ref.json"), "--quiet", cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp / "ref.json").read_text())
    scores = {t: sum(x["score"] for x in data["tests"] if x["task"] == t) for t in GRADED}
    scores["max"] = data["max_score"]
    return scores


def check_row(row: dict, expected: dict[str, float], max_score: float) -> None:
    for task in GRADED:
        assert float(row[task]) == pytest.approx(expected[task]), (row["student"], task, row)
    assert float(row["total"]) == pytest.approx(sum(expected[t] for t in GRADED)), row
    assert float(row["max"]) == pytest.approx(max_score), row


# -- the class ------------------------------------------------------------------------------------
@pytest.mark.slow  # the hostile submission costs the import time-out of its task (scaled down here)
def test_class_of_twelve(tmp_path, ref_scores):
    cls = tmp_path / "class"
    cls.mkdir()
    expected: dict[str, dict[str, float]] = {}
    full = {t: ref_scores[t] for t in GRADED}
    reference(cls / "ref")
    expected["ref"] = full
    stubs(cls / "stubs")
    expected["stubs"] = {t: 0.0 for t in GRADED}
    zip_folder(reference(tmp_path / "zipsrc"), cls / "zoe.zip", prefix="zoe_submission/")
    expected["zoe"] = full
    reference(cls / "nick" / "hw3_backprop")  # a nested folder, as LMS downloads come
    expected["nick"] = full
    as_notebooks(reference(tmp_path / "nbsrc"), cls / "nora")
    expected["nora"] = full
    hostile_task = BY_NAME[GRADED[0]]
    hostile = reference(cls / "hostile")
    (hostile / hostile_task.file).write_text((hostile / hostile_task.file).read_text() + "\nwhile True:\n    pass\n")
    expected["hostile"] = {**full, hostile_task.name: 0.0}
    for i, (kind, breakage) in enumerate(BREAKAGES.items()):
        task = BY_NAME[GRADED[i % len(GRADED)]]
        name = f"broken_{kind}_{task.name}"
        breakage(reference(cls / name), task)
        expected[name] = {**full, task.name: 0.0}
    assert len(expected) == 12

    out = tmp_path / "results"
    start = time.monotonic()
    proc = grade(
        str(cls), "--batch", "--out", str(out), "--workers", "2", *TASK_ARGS, "--timeout-scale", "0.25", cwd=tmp_path
    )  # the hang at import costs 15 s, not 60 s
    seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    book = gradebook(out)
    assert set(book) == set(expected)
    for student, scores in expected.items():
        row = book[student]
        check_row(row, scores, ref_scores["max"])
        assert row["status"].startswith("graded"), row
        data = stored(out, student)
        assert data["score"] == pytest.approx(sum(scores.values()))
        assert (out / student / "feedback.md").read_text().startswith(f"# Feedback for {student}")
    assert "limit hit" in book["hostile"]["status"] and "timed out" in book["hostile"]["status"]
    assert all("limit" not in book[s]["status"] for s in expected if s != "hostile")
    assert "not implemented yet" in (out / "stubs" / "feedback.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["graded"] == 12 and summary["errors"] == {}
    assert list(summary["limits"]) == ["hostile"]
    assert summary["failures_by_task"][hostile_task.name]["failed"] >= 3  # stubs, hostile, its breakages
    assert "Hit a limit: hostile" in proc.stdout and "Failures by task" in proc.stdout
    # the rate of a long batch: each grading process's grades after its first, the two processes at once
    batch_info = [stored(out, student)["extra_data"]["batch"] for student in expected]
    warm = [b["seconds"] for b in batch_info if b["warm"]]
    assert len(warm) == 12 - 2
    assert summary["steady_seconds_per_student"] == pytest.approx(statistics.fmean(warm) / 2, abs=0.01)
    assert "Rate once the grading processes were warm" in proc.stdout
    assert leftovers(out) == []
    # the hostile one ran beside the others: the batch took about its time-out, not the sum
    assert seconds < 60 + 12 * 15, seconds
    hostile_tests = [t for t in stored(out, "hostile")["tests"] if t["task"] == hostile_task.name]
    assert {t["limit"] for t in hostile_tests} == {"timed out"}  # set by the trusted side, per test


def test_a_students_own_text_makes_no_limit_and_no_retry_in_the_gradebook(tmp_path):
    """The status comes from what the trusted side saw, not from words in a check's output."""
    liar = reference(tmp_path / "class" / "liar")
    lie = (
        "the worker was killed (SIGKILL); timed out after 3 s (killed); memory limit of 1 GiB; it was started once more"
    )
    task = BY_NAME["losses"]
    (liar / task.file).write_text(
        (liar / task.file).read_text() + f"\n\ndef mse(a, b):\n    print({lie!r})\n    raise ValueError({lie!r})\n"
    )
    out = tmp_path / "results"
    proc = grade(str(tmp_path / "class"), "--batch", "--out", str(out), "--task", "losses", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = stored(out, "liar")
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and any(lie in t["output"] for t in failed)  # the student's words reach the feedback
    assert all(t["limit"] == "" and t["retried"] is False for t in data["tests"])
    assert gradebook(out)["liar"]["status"] == "graded"
    assert json.loads((out / "summary.json").read_text())["limits"] == {}


# -- bad entries ----------------------------------------------------------------------------------
def test_bad_entries_cost_only_themselves(tmp_path, ref_scores):
    cls = tmp_path / "class"
    cls.mkdir()
    reference(cls / "good")
    (cls / "empty").mkdir()
    (cls / "readme.txt").write_text("not a submission")
    reference(cls / "alice")
    zip_folder(reference(tmp_path / "alice_zip"), cls / "alice.zip")
    with zipfile.ZipFile(cls / "evil.zip", "w") as zf:
        zf.writestr("../escape.py", "print('outside')\n")
        zf.writestr("chain_rule.py", "x = 1\n")
    with zipfile.ZipFile(cls / "huge.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("chain_rule.py", b"#" * (9 * 1024**2))  # 9 MiB unpacked, a few KiB packed
    (cls / "garbage.zip").write_bytes(b"this is not a zip file")
    os.symlink(cls / "good", cls / "sneaky")
    (cls / ".DS_Store").write_bytes(b"\0")
    out = cls / "results"  # inside the class folder: must not be taken for a student
    proc = grade(str(cls), "--batch", "--out", str(out), "--quiet", *TASK_ARGS, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == ""  # quiet
    book = gradebook(out)
    assert set(book) == {"good", "empty", "readme.txt", "alice", "evil", "huge", "garbage", "sneaky"}
    check_row(book["good"], ref_scores, ref_scores["max"])
    assert book["good"]["status"] == "graded"
    reasons = {
        "empty": "no assignment files found",
        "readme.txt": "not a submission",
        "alice": "2 entries map to this student (alice/, alice.zip)",
        "evil": "escapes the archive's folder",
        "huge": "too large",
        "garbage": "not a valid zip file",
        "sneaky": "symbolic link",
    }
    for student, reason in reasons.items():
        row = book[student]
        assert row["status"].startswith("error: ") and reason in row["status"], row
        assert row["total"] == "" and not (out / student).exists()
    assert not (tmp_path / "escape.py").exists() and not (cls / "escape.py").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["graded"] == 1 and set(summary["errors"]) == set(reasons)


def test_several_paths_and_nbgrader_tree(tmp_path, ref_scores):
    # grade a/ b.zip --out R: each path is one student
    reference(tmp_path / "amir")
    zip_folder(stubs(tmp_path / "bea_src"), tmp_path / "bea.zip")
    out = tmp_path / "r1"
    proc = grade(
        str(tmp_path / "amir"), str(tmp_path / "bea.zip"), "--out", str(out), "--quiet", *TASK_ARGS, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    book = gradebook(out)
    assert set(book) == {"amir", "bea"}
    check_row(book["amir"], ref_scores, ref_scores["max"])
    check_row(book["bea"], {t: 0.0 for t in GRADED}, ref_scores["max"])

    # an nbgrader course folder: submitted/<student>/<assignment>/*.ipynb (+ nbgrader's timestamp.txt)
    course = tmp_path / "course"
    for student, make in (("amy", reference), ("ben", stubs)):
        folder = as_notebooks(make(tmp_path / f"{student}_src"), course / "submitted" / student / "backprop")
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    (course / "source" / "backprop").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")  # what makes it a course
    out = tmp_path / "r2"
    proc = grade(str(course), "--batch", "--out", str(out), *TASK_ARGS, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "nbgrader course folder" in proc.stdout
    book = gradebook(out)
    assert set(book) == {"amy", "ben"}
    check_row(book["amy"], ref_scores, ref_scores["max"])
    check_row(book["ben"], {t: 0.0 for t in GRADED}, ref_scores["max"])
    assert any(".ipynb ->" in n for n in stored(out, "amy")["extra_data"]["notes"])


# -- resuming -------------------------------------------------------------------------------------
def _marks(out: Path, students) -> dict[str, tuple]:
    return {
        s: (stored(out, s)["extra_data"]["batch"]["run_id"], (out / s / "results.json").stat().st_mtime_ns)
        for s in students
    }


def test_rerun_skips_graded_and_regrades_what_changed(tmp_path):
    cls = tmp_path / "class"
    for name in ("a", "b", "c"):
        reference(cls / name)
    out = tmp_path / "out"
    args = [str(cls), "--batch", "--out", str(out), "--quiet", "--task", GRADED[0]]
    assert grade(*args, cwd=tmp_path).returncode == 0
    first = _marks(out, "abc")
    assert grade(*args, cwd=tmp_path).returncode == 0
    assert _marks(out, "abc") == first
    summary = json.loads((out / "summary.json").read_text())
    assert summary["already_graded"] == 3 and summary["graded_now"] == 0
    # change one submission: only that one is regraded
    f = cls / "b" / BY_NAME[GRADED[0]].file
    f.write_text(f.read_text() + "\n# resubmitted\n")
    (out / "c" / "feedback.md").unlink()  # derived file lost: rebuilt without regrading
    assert grade(*args, cwd=tmp_path).returncode == 0
    now = _marks(out, "abc")
    assert now["a"] == first["a"] and now["c"] == first["c"] and now["b"] != first["b"]
    assert (out / "c" / "feedback.md").exists()
    # other options, --force: everything regraded
    assert grade(*args, "--seed", "7", cwd=tmp_path).returncode == 0
    seeded = _marks(out, "abc")
    assert all(seeded[s][0] != now[s][0] for s in "abc")
    assert grade(*args, "--seed", "7", "--force", cwd=tmp_path).returncode == 0
    forced = _marks(out, "abc")
    assert all(forced[s][0] != seeded[s][0] for s in "abc")
    assert stored(out, "a")["extra_data"]["seed"] == 7


def test_sigkill_part_way_then_rerun(tmp_path):
    cls = tmp_path / "class"
    students = [f"s{i:02d}" for i in range(12)]
    for name in students:
        reference(cls / name)
    out = tmp_path / "out"
    args = [
        sys.executable,
        "-m",
        "grader.cli",
        str(cls),
        "--batch",
        "--out",
        str(out),
        "--quiet",
        "--workers",
        "2",
        "--task",
        GRADED[0],
    ]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            tree |= {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            break
        if len(list(out.glob("*/results.json"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the batch finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # everything the batch started dies with it (grading processes, lanes, sandboxed workers)
    gone, alive = psutil.wait_procs([p for p in map(_proc, tree) if p], timeout=20)
    assert alive == [], [p.cmdline() for p in alive]
    finished = [s for s in students if (out / s / "results.json").exists()]
    assert 3 <= len(finished) < len(students)
    for s in finished:  # never a half-written file where a result should be
        assert stored(out, s)["extra_data"]["batch"]["student"] == s
    before = _marks(out, finished)
    # simulate a kill in the middle of a write: a temp file left next to a result
    (out / students[-1]).mkdir(exist_ok=True)
    (out / students[-1] / ".results.json.abc123.tmp").write_text('{"score": 1')

    rerun = grade(*args[3:], cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    book = gradebook(out)
    assert set(book) == set(students) and all(r["status"] == "graded" for r in book.values())
    assert _marks(out, finished) == before  # graded once: the rerun kept them untouched
    run_ids = {stored(out, s)["extra_data"]["batch"]["run_id"] for s in students if s not in finished}
    assert len(run_ids) == 1 and not run_ids & {r for r, _ in before.values()}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["already_graded"] == len(finished) and summary["graded_now"] == len(students) - len(finished)
    assert leftovers(out) == []

    # a --force rerun killed part way: the gradebook still lists everyone's earlier result, marked
    graded_by = {s: stored(out, s)["extra_data"]["batch"]["run_id"] for s in students}
    proc = subprocess.Popen(args + ["--force"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(
            stored(out, s)["extra_data"]["batch"]["run_id"] != graded_by[s]
            for s in students
            if (out / s / "results.json").exists()
        ):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the forced rerun finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    book = gradebook(out)
    assert set(book) == set(students)
    assert all(r["total"] not in ("", None) for r in book.values()), book
    earlier = [s for s, r in book.items() if r["status"].startswith("from the previous run")]
    assert earlier and all(
        r["status"] in ("graded",) or r["status"].startswith("from the previous run") for r in book.values()
    ), book


def _proc(pid: int):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


# -- how many grading processes ------------------------------------------------------------------
@pytest.mark.parametrize(
    "cores, requested, jobs, want",
    [
        (2, None, 300, (3, 1)),  # one more than the cores, one lane each: the gaps of one are filled by another
        (2, None, 16, (3, 1)),
        (2, None, 15, (2, 1)),  # a small class: the extra process's start would cost more than it saves
        (2, None, 1, (1, 2)),  # never more processes than students; one student's tasks over both cores
        (2, 1, 300, (1, 2)),  # --workers 1
        (2, 5, 3, (3, 1)),  # --workers 5 for 3 students
        (2, None, 0, (1, 2)),  # nothing left to grade
        (8, None, 300, (9, 1)),
        (8, None, 40, (8, 1)),
        (1, None, 300, (2, 1)),
    ],
)
def test_default_workers_one_per_core_and_one_more_for_a_large_class(monkeypatch, cores, requested, jobs, want):
    from grader.batch import driver

    monkeypatch.setattr(driver.os, "cpu_count", lambda: cores)
    assert driver._choose_workers(requested, jobs) == want


def test_a_class_of_16_runs_the_default_number_of_grading_processes(tmp_path):
    """The shipped default end to end: the CLI chooses default_workers(16) grading processes (on 2
    cores, 3: one more than the cores), every student is graded in full, and the warm rate is the
    mean warm grade over that many processes."""
    from grader.batch.driver import default_workers

    cls = tmp_path / "class"
    for i in range(16):
        reference(cls / f"s{i:02d}")
    out = tmp_path / "out"
    proc = grade(str(cls), "--batch", "--out", str(out), "--quiet", "--task", GRADED[0], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    workers = min(default_workers(16), 16)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["workers"] == workers and summary["graded"] == 16, summary
    book = gradebook(out)
    assert all(float(row["total"]) == float(row["max"]) > 0 for row in book.values()), book
    batch_info = [stored(out, f"s{i:02d}")["extra_data"]["batch"] for i in range(16)]
    warm = [b["seconds"] for b in batch_info if b["warm"]]
    assert len(warm) >= 16 - workers  # each process's first student is its cold one
    assert summary["steady_seconds_per_student"] == pytest.approx(statistics.fmean(warm) / workers, abs=0.01)


# -- all tasks once -------------------------------------------------------------------------------
@pytest.mark.slow
def test_full_task_batch(tmp_path):
    cls = tmp_path / "class"
    reference(cls / "ref")
    stubs(cls / "stubs")
    out = tmp_path / "out"
    proc = grade(str(cls), "--batch", "--out", str(out), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    book = gradebook(out)
    assert float(book["ref"]["total"]) == float(book["ref"]["max"]) > 0
    assert float(book["stubs"]["total"]) == 0
    assert all(book["ref"][t.name] != "" for t in TASKS)


# -- student text and hostile entries --------------------------------------------------
HOSTILE_MESSAGE = """

_Huge = type("E" * 200_000, (ValueError,), {})


def _evil(*args, **kwargs):
    raise _Huge("bad \\ud800 value \\x1b]0;pwned\\x07\\x1b[31m red\\n```\\n# All checks passed: 100/100\\n"
                "<img src=x onerror=alert(1)>\\n[claim](http://phish.example)")


for _name in [n for n, v in list(globals().items()) if callable(v) and not n.startswith("_")
              and getattr(v, "__module__", None) == __name__]:
    globals()[_name] = _evil
"""
FORMULA_NAMES = ('=HYPERLINK("evil",1)', "@SUM(A1)")


def test_hostile_class_names_messages_and_a_submitted_folder(tmp_path):
    """A lone surrogate, terminal escapes and a fence-closing message (bob), spreadsheet formulas as
    names, and an entry named submitted/ next to alice, bob and carol: every entry gets its row,
    the files are safe for their readers, and the rerun works."""
    from markdown_it import MarkdownIt

    task = BY_NAME["chain_rule"]
    cls = tmp_path / "class"
    for name in ("alice", "carol", *FORMULA_NAMES):
        reference(cls / name)
    bob = reference(cls / "bob")
    (bob / task.file).write_text((bob / task.file).read_text() + HOSTILE_MESSAGE)
    for name in ("x", "y"):  # what an nbgrader course's submitted/ would hold, but there is no course
        reference(cls / "submitted" / name / "backprop")
    out = tmp_path / "out"
    args = [str(cls), "--batch", "--out", str(out), "--task", task.name, "--workers", "2"]
    proc = grade(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "\x1b" not in proc.stdout + proc.stderr and "pwned" not in proc.stdout + proc.stderr
    assert "'submitted' is graded as a student" in proc.stdout

    raw = (out / "gradebook.csv").read_bytes().decode("utf-8")  # strict
    book = gradebook(out)
    assert set(book) == {"alice", "bob", "carol", "submitted", *(f"'{n}" for n in FORMULA_NAMES)}
    for line in raw.splitlines()[1:]:
        assert not line.lstrip('"').startswith(("=", "@", "+", "-")), line
    for name in ("alice", "carol", *(f"'{n}" for n in FORMULA_NAMES)):
        assert book[name]["status"] == "graded" and float(book[name]["total"]) == task.points, book[name]
    assert book["bob"]["status"] == "graded" and float(book["bob"]["total"]) < task.points
    assert book["submitted"]["status"]  # graded or an error: never silence

    results_json = (out / "bob" / "results.json").read_bytes()
    assert len(results_json) < 300_000, len(results_json)
    data = json.loads(results_json.decode("utf-8"))
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
    feedback = (out / "bob" / "feedback.md").read_bytes().decode("utf-8")
    assert "\x1b" not in feedback and "\x07" not in feedback
    assert "bad \\ud800 value" in feedback or "bad \\\\ud800 value" in feedback
    tokens = MarkdownIt("commonmark").parse(feedback)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert not any("All checks passed" in h for h in headings), headings
    assert "<img" not in MarkdownIt("commonmark").render(feedback)
    formula_feedback = (out / FORMULA_NAMES[0] / "feedback.md").read_text()
    assert formula_feedback.startswith('# Feedback for ` =HYPERLINK("evil",1) `')
    summary = json.loads((out / "summary.json").read_bytes().decode("utf-8"))
    json.dumps(summary, ensure_ascii=False).encode("utf-8")

    again = grade(*args, cwd=tmp_path)  # reruns keep working
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["graded_now"] == 0 and summary["already_graded"] == summary["graded"] >= 5


def test_intake_recognises_nbgrader_only_from_evidence(tmp_path):
    from grader import batch

    cls = tmp_path / "class"
    for name in ("alice", "bob", "carol"):
        (cls / name).mkdir(parents=True)
    for name in ("alice", "bob"):
        (cls / "submitted" / name / "backprop").mkdir(parents=True)
    out = tmp_path / "out"

    entries, notes = batch.discover([cls], True, out)
    assert [(e.student, e.path) for e in entries] == [(s, cls / s) for s in ("alice", "bob", "carol", "submitted")]
    assert any("'submitted' is graded as a student" in n and "--nbgrader" in n for n in notes)
    entries, _ = batch.discover([cls / "submitted"], True, out)  # no course around it either
    assert [e.student for e in entries] == ["alice", "bob"]

    inner = [("alice", cls / "submitted" / "alice"), ("bob", cls / "submitted" / "bob")]
    entries, notes = batch.discover([cls], True, out, nbgrader=True)  # asked for
    assert [(e.student, e.path) for e in entries] == inner
    for evidence in batch.NBGRADER_EVIDENCE:  # or recognised from the course's own files
        (cls / evidence).write_text("")
        for path in (cls, cls / "submitted"):
            entries, notes = batch.discover([path], True, out)
            assert [(e.student, e.path) for e in entries] == inner, (evidence, path)
            assert any("nbgrader course folder" in n for n in notes)
        (cls / evidence).unlink()
    (cls / "gradebook.db").mkdir()  # a folder by that name is no evidence
    assert "submitted" in [e.student for e in batch.discover([cls], True, out)[0]]


def test_resume_key_follows_every_reference_import(tmp_path):
    """The reference modules a task depends on come from its checks' imports, in every form, not
    from a pattern over the source (e.g. a second ``from solutions import`` line)."""
    from grader import batch

    root = tmp_path / "project"
    (root / "solutions").mkdir(parents=True)
    (root / "grader" / "checks").mkdir(parents=True)
    for name in ("__init__", "a", "b", "c", "d", "e", "f", "g", "h", "i", "unused"):
        (root / "solutions" / f"{name}.py").write_text("X = 1\n")
    (root / "solutions" / "e.py").write_text("from solutions import f  # a reference module using another\n")
    (root / "grader" / "__init__.py").write_text("")
    (root / "grader" / "checks" / "__init__.py").write_text("")
    (root / "grader" / "checks" / "helper.py").write_text("from solutions.g import X\n")
    check = root / "grader" / "checks" / "test_t.py"
    check.write_text(
        "import importlib\n"
        "import numpy as np\n"
        "from solutions import a as ref\n"
        "from solutions import b as ref_models\n"
        "from solutions.c import X\n"
        "import solutions.d\n"
        "from solutions import (\n"
        "    e,\n"
        ")\n"
        "from . import helper\n"
        "ref_h = importlib.import_module('solutions.h')\n"
        "def test_x():\n"
        "    import solutions.i as late\n"
    )
    found = {p.stem for p in batch.reference_files([check], root)}
    assert found == {"__init__", "a", "b", "c", "d", "e", "f", "g", "h", "i"}
    aliased = root / "grader" / "checks" / "test_u.py"
    aliased.write_text("import solutions as S\n\ndef test_y():\n    assert S.a.X and S.b.X\n")
    assert {p.stem for p in batch.reference_files([aliased], root)} == {"__init__", "a", "b"}
    aliased.write_text("import solutions\n\ndef test_y(name):\n    getattr(solutions, name)\n")
    assert {p.stem for p in batch.reference_files([aliased], root)} >= {"a", "b", "unused"}  # dynamic: all
    # the real checks: gradcheck's second reference module is part of its key
    files = batch.fingerprint_files(["gradcheck"])
    assert ROOT / "solutions" / "minibatch.py" in files and ROOT / "solutions" / "gradcheck.py" in files
    assert ROOT / "solutions" / "backprop.py" not in batch.fingerprint_files(["chain_rule"])


def test_a_report_that_cannot_be_written_costs_only_its_student(tmp_path, monkeypatch):
    """Writing one student's report fails: that student gets an error row and is graded again
    next run (no results.json left behind); the others are untouched."""
    from grader import batch, runner
    from grader.results import Results
    from grader.results import TestResult as Check

    fake = Results(seed=1, tasks=["chain_rule"], isolation="test")
    fake.tests.append(Check("chain_rule", "test_x", 8.0, output="bad \ud800 value"))
    from grader.batch import driver, grading
    from grader.options import GradeOptions

    monkeypatch.setattr(runner, "grade", lambda *a, **k: fake)
    real_write = grading.write_atomic

    def flaky(path, text):
        if path.name == "feedback.md" and path.parent.name == "bob":
            raise OSError("No space left on device")
        real_write(path, text)

    monkeypatch.setattr(grading, "write_atomic", flaky)
    out = tmp_path / "out"
    states = {}
    for name in ("alice", "bob"):
        job = {
            "student": name,
            "path": str(reference(tmp_path / "class" / name)),
            "out": str(out),
            "lanes": 1,
            "options": GradeOptions(seed=1, tasks=("chain_rule",)).record(),
            "fingerprint": "f",
            "run_id": "r",
        }
        states[name] = batch.grade_one(job)
    assert states["alice"]["state"] == "graded" and (out / "alice" / "feedback.md").exists()
    assert states["bob"]["state"] == "grader_error" and "No space left" in states["bob"]["error"]
    assert not (out / "bob" / "results.json").exists()  # not final: graded again on the next run
    entry = batch.Entry("bob", tmp_path / "class" / "bob")
    assert batch.row_for(entry, states["bob"], ["chain_rule"])["status"].startswith("grader error (rerun to retry)")
    assert driver._existing(out, entry, "any key") is None
    # a stored result whose feedback cannot be rebuilt is graded again, never an exception
    key = states["alice"]["data"]["extra_data"]["batch"]["key"]
    (out / "alice" / "feedback.md").unlink()
    monkeypatch.setattr(driver, "write_atomic", lambda path, text: (_ for _ in ()).throw(OSError("read-only")))
    assert driver._existing(out, batch.Entry("alice", tmp_path / "class" / "alice"), key) is None
    monkeypatch.setattr(driver, "write_atomic", real_write)
    assert driver._existing(out, batch.Entry("alice", tmp_path / "class" / "alice"), key) is not None
    assert "bad \\ud800 value" in (out / "alice" / "feedback.md").read_text(encoding="utf-8")
