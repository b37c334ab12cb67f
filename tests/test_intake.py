"""Intake: near-miss file names, nested folders and single files are graded, with a note saying how.

Unambiguous near-misses of a task file (case, a copy suffix, a version suffix) are graded as that
file; two candidates for one task are not chosen ("did you mean"); the folder that holds the files
is found up to ``submission.MAX_DEPTH`` levels down; a single ``.py`` is a folder holding it.
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import submission
from grader.rubric import BY_NAME

ROOT = Path(__file__).resolve().parents[1]


def make(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def graded(sub: submission.Submission) -> dict[str, str]:
    return {p.name: p.read_text() for p in sub.folder.iterdir()}


@pytest.mark.parametrize(
    "name, task",
    [
        ("Losses.py", "losses"),
        ("losses (1).py", "losses"),
        ("losses-2.py", "losses"),
        ("losses_v2.py", "losses"),
        ("backprop_final.py", "backprop"),
        ("losses copy.py", "losses"),
        ("losses - Copy (2).py", "losses"),
        ("Copy of chain_rule.py", "chain_rule"),
        ("Chain-Rule.py", "chain_rule"),
        ("GRADCHECK.PY", "gradcheck"),
        ("torch_training_FINAL (1).py", "torch_training"),
    ],
)
def test_unambiguous_near_miss_is_graded_with_a_note(tmp_path, name, task):
    folder = make(tmp_path / "sub", {name: "WHO = 'student'\n", "helpers.py": "X = 1\n"})
    with submission.load(folder) as sub:
        files = graded(sub)
        assert files[f"{task}.py"] == "WHO = 'student'\n"
        assert name not in files  # graded once, under the task's name
        assert files["helpers.py"] == "X = 1\n"  # other modules keep their names
        assert [n for n in sub.notes if name in n and f"{task}.py" in n], sub.notes


def test_two_candidates_for_one_task_are_not_chosen(tmp_path):
    folder = make(tmp_path / "sub", {"losses (1).py": "A = 1\n", "losses-2.py": "B = 2\n", "chain_rule.py": "C = 3\n"})
    with submission.load(folder) as sub:
        assert "losses.py" not in graded(sub)
        assert graded(sub)["chain_rule.py"] == "C = 3\n"
        [note] = [n for n in sub.notes if "did you mean" in n]
        assert "losses (1).py" in note and "losses-2.py" in note and "losses.py" in note


def test_the_exact_name_wins_over_a_near_miss(tmp_path):
    folder = make(tmp_path / "sub", {"losses.py": "EXACT = 1\n", "Losses (1).py": "COPY = 1\n"})
    with submission.load(folder) as sub:
        assert graded(sub)["losses.py"] == "EXACT = 1\n"
        assert any("also found Losses (1).py" in n for n in sub.notes), sub.notes


def test_a_name_that_only_resembles_a_task_file_gets_did_you_mean(tmp_path):
    folder = make(tmp_path / "sub", {"lossses.py": "A = 1\n", "chain_rule.py": "C = 3\n"})
    with submission.load(folder) as sub:
        assert "losses.py" not in graded(sub)
        assert any("did you mean lossses.py" in n and "rename it to losses.py" in n for n in sub.notes), sub.notes


def test_a_notebook_near_miss_becomes_the_module(tmp_path):
    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": "Y = 2\n", "outputs": [], "execution_count": None}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    folder = make(tmp_path / "sub", {"Losses (1).ipynb": json.dumps(nb)})
    with submission.load(folder) as sub:
        assert "Y = 2" in graded(sub)["losses.py"]
        assert any("Losses (1).ipynb" in n for n in sub.notes)


def test_apple_double_and_hidden_files_are_not_modules(tmp_path):
    folder = make(tmp_path / "sub", {"._losses.py": "\x00\x05binary", "losses.py": "OK = 1\n", ".hidden.py": "X = 1\n"})
    with submission.load(folder) as sub:
        assert graded(sub) == {"losses.py": "OK = 1\n"}


@pytest.mark.parametrize("nested", ["alice/hw3", "a/b/c", "Downloads/alice/hw3/final"])
def test_files_nested_at_any_reasonable_depth_are_found(tmp_path, nested):
    folder = make(
        tmp_path / "sub",
        {
            f"{nested}/losses.py": "L = 1\n",
            f"{nested}/chain_rule.py": "C = 1\n",
            f"__MACOSX/{nested}/._losses.py": "junk",
            f".git/{nested}/losses.py": "not this one\n",
            "notes.txt": "hi",
        },
    )
    with submission.load(folder) as sub:
        assert graded(sub) == {"losses.py": "L = 1\n", "chain_rule.py": "C = 1\n"}
        assert any(nested in n and "nested folder" in n for n in sub.notes), sub.notes


def test_too_deep_or_empty_says_what_it_found(tmp_path):
    folder = make(tmp_path / "sub", {"a/b/c/d/e/losses.py": "L = 1\n", "a/lossses.py": "x = 1\n"})
    with pytest.raises(submission.SubmissionError, match="no assignment files found") as info:
        submission.load(folder)
    assert "a/lossses.py (did you mean losses.py?)" in str(info.value) and "\n" not in str(info.value)


def test_two_folders_at_the_same_depth_are_refused(tmp_path):
    folder = make(tmp_path / "sub", {"hw/losses.py": "A = 1\n", "hw_old/losses.py": "B = 1\n"})
    with pytest.raises(submission.SubmissionError, match="several folders"):
        submission.load(folder)


def test_the_shallowest_folder_wins(tmp_path):
    folder = make(tmp_path / "sub", {"hw/losses.py": "TOP = 1\n", "hw/old/deeper/losses.py": "OLD = 1\n"})
    with submission.load(folder) as sub:
        assert graded(sub)["losses.py"] == "TOP = 1\n"


def test_a_zip_nested_two_levels_with_macos_junk(tmp_path):
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/hw3/Losses.py", "L = 1\n")
        zf.writestr("__MACOSX/alice/hw3/._Losses.py", "junk")
    with submission.load(archive) as sub:
        assert graded(sub) == {"losses.py": "L = 1\n"}
        assert any("alice/hw3" in n for n in sub.notes) and any("Losses.py" in n for n in sub.notes)


@pytest.mark.parametrize("name", ["losses.py", "losses (1).py"])
def test_a_single_py_file_is_a_folder_holding_it(tmp_path, name):
    single = make(tmp_path, {name: "L = 1\n"}) / name
    with submission.load(single) as sub:
        assert graded(sub) == {"losses.py": "L = 1\n"}
        assert any("single file" in n for n in sub.notes)
    assert single.read_text() == "L = 1\n"  # the original is untouched


def test_a_single_py_file_that_is_no_task_file_is_refused(tmp_path):
    single = make(tmp_path, {"lossses.py": "L = 1\n"}) / "lossses.py"
    with pytest.raises(submission.SubmissionError, match="did you mean losses.py"):
        submission.load(single)


def test_grade_end_to_end_nested_near_miss(tmp_path):
    """`grade DIR` on alice/hw3/Chain_Rule (1).py: full marks for chain_rule, and the notes say why."""
    hw = tmp_path / "download" / "alice" / "hw3"
    hw.mkdir(parents=True)
    (hw / "Chain_Rule (1).py").write_text((ROOT / "solutions" / "chain_rule.py").read_text())
    out = tmp_path / "out.json"
    grade = Path(sys.executable).parent / "grade"
    proc = subprocess.run(
        [str(grade), str(tmp_path / "download"), "--task", "chain_rule", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] == BY_NAME["chain_rule"].points, data["output"]
    assert "alice/hw3" in proc.stdout and "Chain_Rule (1).py" in proc.stdout, proc.stdout[-2000:]
    notes = data["extra_data"]["notes"]  # the --json of one grade says what intake did, as batch does
    assert any("alice/hw3" in n for n in notes) and any("Chain_Rule (1).py" in n for n in notes), notes
    assert any(line.startswith("Note: ") and "Chain_Rule (1).py" in line for line in data["output"].splitlines())


def test_batch_results_carry_the_notes(tmp_path):
    """In a class, the notes land in the student's results.json and feedback.md."""
    hw = tmp_path / "class" / "alice" / "Downloads" / "hw3"
    hw.mkdir(parents=True)
    (hw / "chain_rule_final.py").write_text((ROOT / "solutions" / "chain_rule.py").read_text())
    out = tmp_path / "out"
    grade = Path(sys.executable).parent / "grade"
    proc = subprocess.run(
        [
            str(grade),
            str(tmp_path / "class"),
            "--batch",
            "--out",
            str(out),
            "--quiet",
            "--task",
            "chain_rule",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "alice" / "results.json").read_text())
    assert data["score"] == BY_NAME["chain_rule"].points
    notes = data["extra_data"]["notes"]
    assert any("Downloads/hw3" in n for n in notes) and any("chain_rule_final.py" in n for n in notes), notes
    assert "chain_rule_final.py" in (out / "alice" / "feedback.md").read_text().replace("\\", "")  # markdown escapes


def test_an_error_in_a_notebook_names_the_cell_not_the_generated_module(tmp_path):
    """A failing scratch cell is reported as 'notebook cell N, line k', the cell a student sees."""
    import json
    import subprocess
    import sys

    from grader.sandbox import worker

    assert worker.CELL_MARKER == submission.CELL_MARKER
    code = (ROOT / "solutions" / "chain_rule.py").read_text()
    cells = [
        {"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": "my notes"},
        {
            "cell_type": "code",
            "metadata": {},
            "source": "x = 1\nprint(undefined_name)\n",
            "outputs": [],
            "execution_count": None,
        },
    ]
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "chain_rule.ipynb").write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    out = tmp_path / "out.json"
    subprocess.run(
        [sys.executable, "-m", "grader.cli", str(sub), "--task", "chain_rule", "--json", str(out), "--quiet"],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    message = json.loads(out.read_text())["tests"][0]["output"]
    assert "NameError" in message and "notebook cell 3, line 2: the cell starting 'x = 1'" in message, message
