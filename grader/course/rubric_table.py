"""The rubric as collected from the checks: points per test, per task, by visibility."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.rubric import BY_NAME, CHECKS, TASKS, VISIBILITY


class _Collector:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): points of this check")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("points")
            self.rows.append({"task": Path(item.path).stem.removeprefix("test_"), "test": item.name,
                              "kind": Path(item.path).parent.name,
                              "points": float(marker.args[0]) if marker else None})


def collect() -> list[dict]:
    """One row per check: task, test, kind (public/hidden), points."""
    collector = _Collector()
    files = [str(p) for t in TASKS for p in t.check_files()]
    pytest.main(["-c", os.devnull, "--rootdir", str(CHECKS), "--import-mode=importlib", "--collect-only",
                 "-q", "-p", "no:cacheprovider", *files], plugins=[collector])
    return collector.rows


def markdown(rows: list[dict]) -> str:
    lines = ["| Task | File | Public checks | Hidden checks | Points (declared) |", "| --- | --- | --- | --- | --- |"]
    for task in TASKS:
        mine = [r for r in rows if r["task"] == task.name]
        pub = sum(r["points"] or 0 for r in mine if r["kind"] == "public")
        hid = sum(r["points"] or 0 for r in mine if r["kind"] == "hidden")
        lines.append(f"| {task.number}. {task.title} | `{task.file}` | {sum(r['kind'] == 'public' for r in mine)} "
                     f"({pub:g} pts) | {sum(r['kind'] == 'hidden' for r in mine)} ({hid:g} pts) | {task.points} |")
    total = sum(r["points"] or 0 for r in rows)
    lines.append(f"| **Total** | | | | **{sum(t.points for t in TASKS)}** (checks: {total:g}) |")
    return "\n".join(lines)
