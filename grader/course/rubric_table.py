"""The rubric as declared next to the checks: points per test, per task, by visibility.

Read from the check files' source (``@pytest.mark.points(n)`` on each ``test_*`` function, times
the number of cases of a literal ``@pytest.mark.parametrize``), so printing it imports nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.rubric import TASKS


def _marker(dec: ast.expr, name: str) -> ast.Call | None:
    if isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == name:
        return dec
    return None


def _cases(func: ast.FunctionDef) -> int:
    count = 1
    for dec in func.decorator_list:
        call = _marker(dec, "parametrize")
        if call is not None:
            values = call.args[1] if len(call.args) > 1 else None
            if not isinstance(values, (ast.List, ast.Tuple)):
                raise ValueError(f"{func.name}: parametrize with a non-literal list of cases")
            count *= len(values.elts)
    return count


def collect() -> list[dict]:
    """One row per check: task, test, kind (public/hidden), points (None when undeclared; the
    declared points times ``cases``, the number of parametrized cases), title (docstring line)."""
    rows = []
    for task in TASKS:
        for path in task.check_files():
            for node in ast.parse(Path(path).read_text()).body:
                if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                    continue
                points = None
                for dec in node.decorator_list:
                    call = _marker(dec, "points")
                    if call is not None and call.args and isinstance(call.args[0], ast.Constant):
                        points = float(call.args[0].value)
                n = _cases(node)
                rows.append(
                    {
                        "task": task.name,
                        "test": node.name,
                        "kind": Path(path).parent.name,
                        "points": None if points is None else points * n,
                        "cases": n,
                        "title": (ast.get_docstring(node) or "").strip().split("\n")[0],
                    }
                )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| Task | File | Public checks | Hidden checks | Points |", "| --- | --- | --- | --- | --- |"]
    for task in TASKS:
        mine = [r for r in rows if r["task"] == task.name]
        pub = [r for r in mine if r["kind"] == "public"]
        hid = [r for r in mine if r["kind"] == "hidden"]
        lines.append(
            f"| {task.number}. {task.title} | `{task.file}` | {len(pub)} ({sum(r['points'] or 0 for r in pub):g} pts) "
            f"| {len(hid)} ({sum(r['points'] or 0 for r in hid):g} pts) | {task.points} |"
        )
    lines.append(f"| **Total** | | | | **{sum(t.points for t in TASKS)}** |")
    return "\n".join(lines)


def public_checks_markdown(rows: list[dict]) -> str:
    """The public checks by task, with their points: what a student can run at home."""
    lines = ["| Task | Public check | Points |", "| --- | --- | --- |"]
    for row in rows:
        if row["kind"] == "public":
            lines.append(f"| {row['task']} | {row['title'] or row['test']} | {row['points']:g} |")
    return "\n".join(lines)


def checks_markdown(rows: list[dict]) -> str:
    """Every check, public and hidden, with its points: what ``course rubric`` prints after the
    per-task table. A parametrized check's points are for all of its cases."""
    lines = ["| Task | Check | Kind | Points | What it checks |", "| --- | --- | --- | --- | --- |"]
    for task in TASKS:
        mine = [r for r in rows if r["task"] == task.name]
        for kind in ("public", "hidden"):
            for row in (r for r in mine if r["kind"] == kind):
                points = "undeclared" if row["points"] is None else f"{row['points']:g}"
                cases = f" ({row['cases']} cases)" if row.get("cases", 1) > 1 else ""
                title = row["title"].replace("|", "\\|")
                lines.append(f"| {task.number}. {task.name} | `{row['test']}`{cases} | {kind} | {points} | {title} |")
        pub = sum(r["points"] or 0 for r in mine if r["kind"] == "public")
        hid = sum(r["points"] or 0 for r in mine if r["kind"] == "hidden")
        lines.append(
            f"| **{task.number}. {task.name}** | **{len(mine)} checks** | public {pub:g}, hidden {hid:g} "
            f"| **{pub + hid:g} / {task.points}** | |"
        )
    total = sum(r["points"] or 0 for r in rows)
    lines.append(f"| **Total** | **{len(rows)} checks** | | **{total:g} / {sum(t.points for t in TASKS)}** | |")
    return "\n".join(lines)
