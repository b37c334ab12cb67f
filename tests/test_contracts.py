"""The contract inventory: every promise a task's docstrings and signatures make
(tests/contracts/promises.py) is mapped to the checks that exercise it (tests/contracts/<task>.py),
and every check named there exists and is about that function.

An inventory entry is ``{function: {promise: [reference, ...]}}`` where a reference is
``"public:test_name"`` or ``"hidden:test_name"`` (a check in grader/checks/<visibility>/test_<task>.py),
``"mistake:name"`` (a planted mistake of tests/mistakes/<task>.py that breaks the promise and is
caught, see test_mistakes.py) or ``"n/a: <why no check can observe it>"``.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "contracts"))
sys.path.insert(0, str(HERE / "mistakes"))
from promises import task_promises  # noqa: E402
from run_catalog import catalog  # noqa: E402

from grader.rubric import TASKS  # noqa: E402

NAMES = [t.name for t in TASKS]


def inventory(task: str) -> dict[str, dict[str, list[str]]]:
    path = HERE / "contracts" / f"{task}.py"
    spec = importlib.util.spec_from_file_location(f"contracts_{task}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CONTRACTS


def checks_in(task: str, visibility: str) -> dict[str, str]:
    """``{test function name: its source}`` of grader/checks/<visibility>/test_<task>.py."""
    path = ROOT / "grader" / "checks" / visibility / f"test_{task}.py"
    source = path.read_text()
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            found[node.name] = ast.get_source_segment(source, node) or ""
    return found


@pytest.mark.parametrize("task", NAMES)
def test_every_promise_has_a_check(task):
    promised = task_promises(task)
    listed = inventory(task)
    missing = [f"{fn}: {p}" for fn, keys in promised.items() for p in keys if p not in listed.get(fn, {})]
    assert not missing, (
        f"promises of solutions/{task}.py with no entry in tests/contracts/{task}.py:\n  " + "\n  ".join(missing)
    )
    stale = [f"{fn}: {p}" for fn, keys in listed.items() for p in keys if p not in promised.get(fn, [])]
    assert not stale, f"tests/contracts/{task}.py lists promises the docstrings no longer make:\n  " + "\n  ".join(
        stale
    )


@pytest.mark.parametrize("task", NAMES)
def test_every_reference_exists_and_is_about_its_function(task):
    checks = {vis: checks_in(task, vis) for vis in ("public", "hidden")}
    whole = {vis: (ROOT / "grader" / "checks" / vis / f"test_{task}.py").read_text() for vis in checks}
    mistakes = catalog(task)
    problems = []
    for fn, promises in inventory(task).items():
        for promise, refs in promises.items():
            if not refs:
                problems.append(f"{fn}: {promise}: no reference")
            if not any(r.startswith(("public:", "hidden:")) or r.startswith("n/a:") for r in refs):
                problems.append(f"{fn}: {promise}: names no check (only {refs})")
            for ref in refs:
                kind, _, name = ref.partition(":")
                name = name.strip()
                if kind in checks:
                    if name not in checks[kind]:
                        problems.append(f"{fn}: {promise}: {ref} is not a check in {kind}/test_{task}.py")
                    elif fn not in whole[kind]:
                        problems.append(f"{fn}: {promise}: {kind}/test_{task}.py never mentions {fn}")
                elif kind == "mistake":
                    if name not in mistakes:
                        problems.append(f"{fn}: {promise}: {ref} is not in tests/mistakes/{task}.py")
                elif kind == "n/a":
                    if len(name) < 20:
                        problems.append(f"{fn}: {promise}: {ref}: say why no check can observe it")
                else:
                    problems.append(f"{fn}: {promise}: {ref}: unknown reference kind")
    assert not problems, "\n".join(problems)
