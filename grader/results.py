"""The results model and its writers: Gradescope results.json, terminal table, feedback.md, gradebook row.

One format: ``Results.to_json()`` is Gradescope's ``results.json`` schema (score, max_score,
execution_time, output, tests[name, score, max_score, output, visibility, status]) where each
test also carries ``task`` and ``file``; ``Results.from_json`` reads it back (batch mode and the
nbgrader step use that).
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from grader.rubric import BY_NAME, TASKS

GRADER_VERSION = "0.1.0"


@dataclasses.dataclass
class TestResult:
    task: str
    name: str
    max_score: float
    score: float = 0.0
    status: str = "failed"
    output: str = ""
    visibility: str = "visible"
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclasses.dataclass
class Results:
    seed: int
    public_only: bool = False
    tasks: list[str] = dataclasses.field(default_factory=list)
    tests: list[TestResult] = dataclasses.field(default_factory=list)
    execution_time: float = 0.0
    isolation: str = ""
    grader_errors: list[str] = dataclasses.field(default_factory=list)
    hidden_visibility: str = "after_published"

    # -- summaries -----------------------------------------------------------------------------
    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)

    def by_task(self) -> dict[str, dict[str, Any]]:
        """Per task: score, max_score, passed/total tests, first failure message."""
        table: dict[str, dict[str, Any]] = {}
        for name in self.tasks:
            rows = [t for t in self.tests if t.task == name]
            first = next((t.output for t in rows if not t.passed and t.output), "")
            table[name] = {"score": round(sum(t.score for t in rows), 4),
                           "max_score": round(sum(t.max_score for t in rows), 4),
                           "passed": sum(t.passed for t in rows), "total": len(rows),
                           "first_failure": first.splitlines()[0] if first else ""}
        return table

    def summary_line(self) -> str:
        kind = "public checks" if self.public_only else "all checks"
        return f"Score: {self.score:g} / {self.max_score:g} ({kind}, seed {self.seed})"

    # -- results.json ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        tests = []
        for t in self.tests:
            visibility = t.visibility if t.visibility == "visible" else self.hidden_visibility
            tests.append({"name": t.name, "score": t.score, "max_score": t.max_score, "output": t.output,
                          "visibility": visibility, "status": "passed" if t.passed else "failed",
                          "task": t.task, "file": BY_NAME[t.task].file})
        lines = [self.summary_line()]
        for name, row in self.by_task().items():
            lines.append(f"  {BY_NAME[name].number}. {name}: {row['score']:g}/{row['max_score']:g}")
        lines.append(f"Isolation: {self.isolation}")
        lines += [f"Grader error: {e[:300]}" for e in self.grader_errors]
        return {"score": self.score, "max_score": self.max_score, "execution_time": self.execution_time,
                "output": "\n".join(lines), "visibility": "visible", "stdout_visibility": "hidden",
                "tests": tests,
                "extra_data": {"seed": self.seed, "public_only": self.public_only, "tasks": self.tasks,
                               "isolation": self.isolation, "grader_version": GRADER_VERSION,
                               "grader_errors": self.grader_errors}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Results":
        extra = data.get("extra_data", {})
        res = cls(seed=extra.get("seed", 0), public_only=extra.get("public_only", False),
                  tasks=extra.get("tasks", []), execution_time=data.get("execution_time", 0.0),
                  isolation=extra.get("isolation", ""), grader_errors=extra.get("grader_errors", []))
        for t in data.get("tests", []):
            res.tests.append(TestResult(task=t["task"], name=t["name"], max_score=t["max_score"],
                                        score=t["score"], status=t["status"], output=t.get("output", ""),
                                        visibility=t.get("visibility", "visible")))
        return res

    def write_json(self, path: Path) -> None:
        write_atomic(Path(path), json.dumps(self.to_json(), indent=2) + "\n")

    # -- student-facing report ---------------------------------------------------------------------
    def feedback_markdown(self, student: str | None = None) -> str:
        title = f"# Feedback{' for ' + student if student else ''}\n"
        out = [title, f"**{self.summary_line()}**\n"]
        for name, row in self.by_task().items():
            task = BY_NAME[name]
            out.append(f"## Task {task.number}: {task.title} (`{task.file}`): {row['score']:g} / {row['max_score']:g}\n")
            for t in (t for t in self.tests if t.task == name):
                mark = "PASS" if t.passed else "FAIL"
                where = "" if t.visibility == "visible" else " (hidden check)"
                out.append(f"- **{mark}** {t.name}{where}: {t.score:g}/{t.max_score:g}")
                if t.output and not t.passed:
                    out.append("  ```text\n  " + t.output.replace("\n", "\n  ") + "\n  ```")
            out.append("")
        out.append(f"_Isolation: {self.isolation}_\n")
        return "\n".join(out)

    def print_table(self, console=None) -> None:
        from rich.console import Console
        from rich.markup import escape  # messages quote student text: never read it as markup
        from rich.table import Table
        console = console or Console()
        table = Table(title="backprop-lab grade", show_lines=False)
        for col in ("Task", "Tests", "Points", "Status"):
            table.add_column(col, no_wrap=True)
        table.add_column("First failure", overflow="ellipsis", no_wrap=True, max_width=90)
        for name, row in self.by_task().items():
            task = BY_NAME[name]
            ok = row["score"] == row["max_score"] and row["total"] > 0
            status = "[green]ok[/green]" if ok else ("[red]failed[/red]" if row["score"] == 0 else "[yellow]partial[/yellow]")
            table.add_row(f"{task.number}. {task.file}", f"{row['passed']}/{row['total']}",
                          f"{row['score']:g}/{row['max_score']:g}", status, escape(row["first_failure"][:160]))
        console.print(table)
        console.print(f"[bold]{self.summary_line()}[/bold]  ({self.execution_time:.1f} s)")
        console.print(f"Isolation: {escape(self.isolation)}")
        for error in self.grader_errors:
            console.print(f"[red]Grader error:[/red] {escape(error[:300])}")


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old content or the new, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be read by the course staff
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def gradebook_row(student: str, results: Results) -> dict[str, Any]:
    row: dict[str, Any] = {"student": student}
    per_task = results.by_task()
    for task in TASKS:
        row[task.name] = per_task.get(task.name, {}).get("score", "")
    row["total"] = results.score
    row["max"] = results.max_score
    return row
