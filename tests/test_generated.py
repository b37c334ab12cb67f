"""Generated files are fresh, stubs are honest, the rubric adds up, and the house rules hold."""

import ast
import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

from grader.course import handout, rubric_table, stubs
from grader.rubric import TASKS, TOTAL_POINTS

ROOT = Path(__file__).resolve().parents[1]
GRADED = [t.name for t in TASKS]


def test_assignments_are_fresh():
    assert stubs.check() == [], "run `course stubs`"


NOTES = sorted(p.stem for p in (ROOT / "reference").glob("*.md") if "GENERATED" in p.read_text())


@pytest.fixture(scope="module")
def stale_notes() -> list[str]:
    return handout.stale_notes()  # renders every note once


@pytest.mark.parametrize("note", NOTES)
def test_handout_note_is_fresh(note, stale_notes):
    """Each note's generated blocks are what ``course handout`` writes now; each block its topic's
    worked module defines is in the note, and each figure it draws is shown there and exists."""
    import importlib

    path = ROOT / "reference" / f"{note}.md"
    assert f"{note}.md" not in stale_notes, "run `course handout`"
    text = path.read_text()
    worked = importlib.import_module(f"grader.course.worked.{note}")
    for name in worked.BLOCKS:
        assert f"<!-- BEGIN GENERATED: {name} -->" in text, f"block {name} missing from reference/{note}.md"
    for figure in getattr(worked, "FIGURES", {}):
        assert f"(figures/{figure})" in text and (ROOT / "reference" / "figures" / figure).is_file(), figure


def test_every_task_has_a_note_with_generated_numbers():
    assert {t.name for t in TASKS} - {"torch_training", "keras_training"} <= set(NOTES), NOTES


def test_recorded_public_values_are_fresh(tmp_path):
    """The public checks' expected values (grader/checks/public/expected/*.json) are what
    ``course stubs`` records from the reference now."""
    from grader import expected

    stubs.record_public_expected(tmp_path / "expected")
    fresh = {p.name: p.read_text() for p in (tmp_path / "expected").glob("*.json")}
    committed = {p.name: p.read_text() for p in expected.DEFAULT_DIR.glob("*.json")}
    assert sorted(fresh) == sorted(committed), "run `course stubs`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale recorded values {stale}: run `course stubs`"


def test_stubs_contain_no_solution_markers_or_code():
    for name in GRADED:
        text = (ROOT / "assignments" / f"{name}.py").read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"stub_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_every_stub_region_raises_its_task_number(task):
    """Each marker region of the solution is one NotImplementedError("Task N.M: ...") in the stub."""
    solution = (ROOT / "solutions" / task.file).read_text()
    regions = stubs.regions(solution)
    stub_text = (ROOT / "assignments" / task.file).read_text()
    for index, (_, _, function, _) in enumerate(regions, start=1):
        assert f"Task {task.number}.{index}: implement {function}" in stub_text
    module = _load(ROOT / "assignments" / task.file)  # imports cleanly
    for _, _, function, _ in regions:
        fn = getattr(module, function, None)
        if fn is None or not inspect.isfunction(fn):
            continue  # a method: reached through its class in the checks
        params = inspect.signature(fn).parameters
        args = [None] * sum(
            p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD for p in params.values()
        )
        with pytest.raises((NotImplementedError, TypeError, ValueError, AttributeError, IndexError)) as info:
            fn(*args)
        if info.type is NotImplementedError:
            assert f"Task {task.number}." in str(info.value)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch in "([{") - (ch in ")]}")
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_stubs_speak_to_the_student_and_quote_whole_sentences(task):
    """Line 1 says the file is the student's to edit; each message quotes the docstring's first sentence
    whole (or cut at a word outside brackets), never mid-formula."""
    stub = (ROOT / "assignments" / task.file).read_text()
    first = stub.splitlines()[0]
    assert first.startswith(f"# Your work for Task {task.number} ({task.title})") and "do not edit" not in stub
    for index, (_, _, function, doc) in enumerate(stubs.regions((ROOT / "solutions" / task.file).read_text()), 1):
        label = stubs.task_label(task.number, index, function, doc)
        assert repr(label) in stub or repr(label).replace("'", '"') in stub or label in stub
        summary = stubs.first_sentence(doc)
        assert _balanced(summary), summary
        assert not summary.endswith("..."), f"{function}: the first sentence of its docstring is too long"
        assert doc.startswith(summary) or " ".join(doc.split()).startswith(summary)


def test_first_sentence_cuts_at_words_outside_brackets():
    assert (
        stubs.first_sentence("Sum out = sum of x (all axes if None). Second sentence.")
        == "Sum out = sum of x (all axes if None)"
    )
    assert (
        stubs.first_sentence("Forward pass Z_l = A_{l-1} @ W_l.T + b_l for l = 1..L. More.")
        == "Forward pass Z_l = A_{l-1} @ W_l.T + b_l for l = 1..L"
    )
    assert stubs.first_sentence("Uses w . x + b, i.e. the neuron.") == "Uses w . x + b, i.e. the neuron"
    long = "Output error (A_L - onehot(Y))/N for softmax+CE and " + "(a very long formula here) " * 10 + "end."
    cut = stubs.first_sentence(long, limit=80)
    assert cut.endswith(" ...") and len(cut) <= 80 and _balanced(cut), cut


def test_course_rubric_prints_every_check_with_its_points(capsys):
    from grader.course import cli

    assert cli.main(["rubric"]) == 0
    out = capsys.readouterr().out
    rows = rubric_table.collect()
    table = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in out.splitlines() if "| `test_" in ln]
    assert len(table) == len(rows)
    for row in rows:
        task = f"{next(t.number for t in TASKS if t.name == row['task'])}. {row['task']}"
        [cells] = [c for c in table if c[0] == task and c[1].split()[0] == f"`{row['test']}`" and c[2] == row["kind"]]
        assert float(cells[3]) == row["points"], cells
    assert f"**{len(rows)} checks**" in out and "**100 / 100**" in out


def test_rubric_points_add_up_per_task():
    rows = rubric_table.collect()
    assert all(r["points"] is not None for r in rows)
    for task in TASKS:
        mine = [r for r in rows if r["task"] == task.name]
        assert mine, f"{task.name} has no checks"
        assert {r["kind"] for r in mine} == {"public", "hidden"}, task.name
        assert sum(r["points"] for r in mine) == task.points, task.name
    assert TOTAL_POINTS == 100


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_solutions_stand_alone():
    """Each solution module imports no other graded module and nothing of grader/."""
    for task in TASKS:
        used = _imports(ROOT / "solutions" / task.file)
        assert not used & (set(GRADED) | {"grader", "solutions"}), (task.name, used)


def test_worker_and_protocol_import_nothing_of_the_project():
    folder = ROOT / "grader" / "sandbox"
    for name in ("worker.py", "protocol.py", "calls.py", "zygote.py"):
        used = _imports(folder / name)
        assert not used & {"grader", "solutions"}, (name, used)
        assert used <= {
            "__future__",
            "collections",
            "importlib",
            "itertools",
            "os",
            "sys",
            "traceback",
            "numpy",
            "protocol",
            "calls",
            "worker",
            "gc",
            "signal",
            "socket",
            "select",
            "fcntl",
            "re",
            "struct",
            "random",
            "inspect",
            "io",
            "json",
            "struct",
            "typing",
            "ctypes",
            "inspect",
            "errno",
            "resource",
            "dataclasses",
        }, (name, used)


def test_nothing_imports_course_tooling():
    for path in (ROOT / "grader").rglob("*.py"):
        if "course" in path.parts:
            continue
        assert "course" not in {n for n in _imports(path)}, path
        assert "grader.course" not in path.read_text().replace("grader.course.cli", ""), path
