"""Apply each planted mistake of a task to a copy of the reference and grade that task.

``python tests/mistakes/run_catalog.py TASK [NAME]`` prints, per mistake, the score and the first
failure messages. The test ``tests/test_mistakes.py`` uses ``grade_mistake`` with assertions.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from grader import runner  # noqa: E402


def catalog(task: str) -> dict:
    spec = importlib.util.spec_from_file_location(f"mistakes_{task}", Path(__file__).parent / f"{task}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MISTAKES


def planted_submission(dest: Path, task: str, mistake: dict) -> Path:
    """A copy of the reference solutions with one mistake planted in ``task``'s module."""
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copyfile(path, dest / path.name)
    target = dest / f"{task}.py"
    source = target.read_text()
    if source.count(mistake["find"]) < 1:
        raise ValueError(f"{task}: text to replace not found: {mistake['find']!r}")
    target.write_text(source.replace(mistake["find"], mistake["replace"], mistake.get("count", 1)))
    return dest


def grade_mistake(task: str, mistake: dict, tasks: list[str] | None = None):
    with tempfile.TemporaryDirectory() as tmp:
        sub = planted_submission(Path(tmp), task, mistake)
        return runner.grade(sub, runner.GradeOptions(tasks=tuple(tasks or [task])))


def grade_catalog(task: str, names: list[str] | None = None, workers: int | None = None) -> dict:
    """``{entry name: Results}`` for the entries of ``task``'s catalog (all, or ``names``), graded as
    one class with ``grade --batch`` (its grading processes import the checks once, not per entry)."""
    from grader import batch
    from grader.results import Results

    entries = {n: m for n, m in catalog(task).items() if names is None or n in names}
    with tempfile.TemporaryDirectory() as tmp:
        cls, out = Path(tmp) / "class", Path(tmp) / "out"
        for name, mistake in entries.items():
            (cls / name).mkdir(parents=True)
            planted_submission(cls / name, task, mistake)
        code = batch.run([cls], out, runner.GradeOptions(tasks=(task,)), quiet=True, workers=workers, report=False)
        if code != 0:
            raise RuntimeError(f"grading the {task} catalog failed (exit {code})")
        return {name: Results.from_json(json.loads((out / name / "results.json").read_text())) for name in entries}


def main() -> None:
    task = sys.argv[1]
    only = sys.argv[2:] or None
    for name, mistake in catalog(task).items():
        if only and name not in only:
            continue
        res = grade_mistake(task, mistake)
        fails = [t.output for t in res.tests if not t.passed]
        found = mistake.get("expect") is None or any(mistake["expect"] in f for f in fails)
        print(f"== {name}: {res.score:g}/{res.max_score:g}  expect-found={found}")
        for f in fails[:3]:
            print("   -", f.splitlines()[0][:300])


if __name__ == "__main__":
    main()
