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


def test_handout_numbers_are_fresh():
    assert handout.stale_notes() == [], "run `course handout`"


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


@pytest.mark.parametrize("task", [t for t in TASKS if t.number <= 6], ids=lambda t: t.name)
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
        args = [None] * sum(p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD
                            for p in params.values())
        with pytest.raises((NotImplementedError, TypeError, ValueError, AttributeError)) as info:
            fn(*args)
        if info.type is NotImplementedError:
            assert f"Task {task.number}." in str(info.value)


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
    for name in ("worker.py", "protocol.py"):
        used = _imports(folder / name)
        assert not used & {"grader", "solutions"}, (name, used)
        assert used <= {"__future__", "importlib", "itertools", "os", "sys", "traceback", "numpy", "protocol",
                        "io", "json", "struct", "typing", "ctypes", "inspect", "errno", "resource", "dataclasses"}, (name, used)


def test_nothing_imports_course_tooling():
    for path in (ROOT / "grader").rglob("*.py"):
        if "course" in path.parts:
            continue
        assert "course" not in {n for n in _imports(path)}, path
        assert "grader.course" not in path.read_text().replace("grader.course.cli", ""), path
