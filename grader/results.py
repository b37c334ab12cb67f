"""The results model and its writers: Gradescope results.json, terminal table, feedback.md, gradebook row.

One format: ``Results.to_json()`` is Gradescope's ``results.json`` schema (score, max_score,
execution_time, output, tests[name, score, max_score, output, visibility, status]) where each
test also carries ``task``, ``file`` and ``mistakes`` (the named mistakes its failure recognised:
``[{"id": "<task>.<slug>", "message"}]``, see ``grader.gradients``); ``extra_data.variant`` says
which per-student variant was graded (``grade --variants``); ``Results.from_json`` reads it back
(batch mode and the nbgrader step use that).

Every text in here may hold student text (messages quote their values, type names and output):
it is normalised where it enters (``TestResult``, ``Results.from_json``: ``grader.text.clean``,
each message bounded, all of one student's messages bounded together) and each writer makes it
safe for its reader (a Markdown fence nothing can close, rich ``Text`` that is never read as
markup). No writer fails on content.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from grader import text as _text
from grader.rubric import BY_NAME, TASKS
from grader.sandbox.process import LIMITS

GRADER_VERSION = "0.1.0"
TEST_NAME_LIMIT = 500
MISTAKE_ID_LIMIT, MISTAKE_MESSAGE_LIMIT, MISTAKES_PER_TEST = 120, 500, 10


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
    mistakes: list[dict[str, str]] = dataclasses.field(default_factory=list)  # named mistakes: id, message
    limit: str = ""  # the limit that stopped the student's code in this check (one of process.LIMITS), or ""
    retried: bool = False  # a start-up crash of the worker was retried during this check (not the student's)

    def __post_init__(self) -> None:
        self.name = _text.clean_line(self.name, TEST_NAME_LIMIT)
        self.output = _text.clean(self.output, _text.MESSAGE_LIMIT)
        self.status = _text.clean_line(self.status, 40)
        self.visibility = _text.clean_line(self.visibility, 40)
        self.limit = self.limit if self.limit in LIMITS else ""
        self.retried = self.retried is True
        self.mistakes = _clean_mistakes(self.mistakes)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _clean_mistakes(items: Any) -> list[dict[str, str]]:
    """Named mistakes as results.json holds them: ``{"id": "<task>.<slug>", "message": ...}``, the id
    of ``[a-z0-9_.]`` only, each text bounded (idempotent)."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            ident = re.sub(r"[^a-z0-9_.]", "_", _text.clean_line(item.get("id"), MISTAKE_ID_LIMIT).lower())
            if ident:
                out.append({"id": ident, "message": _text.clean_line(item.get("message"), MISTAKE_MESSAGE_LIMIT)})
    return out[:MISTAKES_PER_TEST]


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
    variant: dict[str, Any] | None = None  # per-student hidden inputs (grader.runner.Variant.record), else None
    notes: list[str] = dataclasses.field(default_factory=list)  # what intake did (a renamed file...), one line each
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # grader.options.GradeOptions.record()

    # -- normalising ---------------------------------------------------------------------------
    def normalise(self) -> Results:
        """Every text clean and bounded: each message, and all messages together (``STUDENT_LIMIT``).
        Idempotent; the writers call it, so results built or edited anywhere are written safely."""
        for t in self.tests:
            t.__post_init__()
        self.grader_errors = [_text.clean(e) for e in self.grader_errors]
        self.isolation = _text.clean_line(self.isolation, 1000)
        self.notes = [_text.clean_line(n, 1000) for n in self.notes][:20]  # notes name the student's files
        texts = _text.bound_total([t.output for t in self.tests] + self.grader_errors, _text.STUDENT_LIMIT)
        for t, out in zip(self.tests, texts):
            t.output = out
        self.grader_errors = texts[len(self.tests) :]
        return self

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
            table[name] = {
                "score": round(sum(t.score for t in rows), 4),
                "max_score": round(sum(t.max_score for t in rows), 4),
                "passed": sum(t.passed for t in rows),
                "total": len(rows),
                "first_failure": first.splitlines()[0] if first else "",
            }
        return table

    def summary_line(self) -> str:
        kind = "public checks" if self.public_only else "all checks"
        return f"Score: {self.score:g} / {self.max_score:g} ({kind}, seed {self.seed})"

    # -- results.json ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        self.normalise()
        tests = []
        for t in self.tests:
            visibility = t.visibility if t.visibility == "visible" else self.hidden_visibility
            tests.append(
                {
                    "name": t.name,
                    "score": t.score,
                    "max_score": t.max_score,
                    "output": t.output,
                    "visibility": visibility,
                    "status": "passed" if t.passed else "failed",
                    "task": t.task,
                    "file": BY_NAME[t.task].file,
                    "mistakes": [dict(m) for m in t.mistakes],
                    "limit": t.limit,
                    "retried": t.retried,
                }
            )
        lines = [self.summary_line()]
        for name, row in self.by_task().items():
            lines.append(f"  {BY_NAME[name].number}. {name}: {row['score']:g}/{row['max_score']:g}")
        lines += [f"Note: {n}" for n in self.notes]
        lines.append(f"Isolation: {self.isolation}")
        lines += [f"Grader error: {_text.clean(e, 300)}" for e in self.grader_errors]
        extra = {
            "seed": self.seed,
            "public_only": self.public_only,
            "tasks": self.tasks,
            "isolation": self.isolation,
            "grader_version": GRADER_VERSION,
            "grader_errors": self.grader_errors,
            "notes": self.notes,
            "options": dict(self.options),
        }
        if self.variant:
            extra["variant"] = dict(self.variant)
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": self.execution_time,
            "output": "\n".join(lines),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": extra,
        }

    def to_gradescope_json(self) -> dict[str, Any]:
        """Gradescope's results.json: every documented key, nothing else at the test level. Student text
        arrives cleaned and bounded (``Results.to_json``, ``grader.text``); Gradescope shows it as text."""
        data = self.to_json()
        counters: dict[str, int] = {}
        tests = []
        for t in data["tests"]:
            task = BY_NAME[t["task"]]
            counters[task.name] = counters.get(task.name, 0) + 1
            tests.append(
                {
                    "name": t["name"],
                    "number": f"{task.number}.{counters[task.name]}",
                    "score": t["score"],
                    "max_score": t["max_score"],
                    "status": t["status"],
                    "output": t["output"],
                    "visibility": t["visibility"],
                    "extra_data": {"task": t["task"], "file": t["file"]},
                }
            )
        data["tests"] = tests
        data["output"] = self.gradescope_output()
        data["output_format"] = data["test_output_format"] = "text"  # student text is never read as HTML / Markdown
        data["execution_time"] = round(float(data.get("execution_time") or 0.0), 2)
        return data

    def gradescope_output(self) -> str:
        """The top-level text students see: the score, per task; hidden parts only when visible."""
        hidden_shown = self.hidden_visibility == "visible"
        public = [t for t in self.tests if t.visibility == "visible"]
        hidden = [t for t in self.tests if t.visibility != "visible"]
        lines = [f"Score: {self.score:g} / {self.max_score:g}"]
        if hidden and not hidden_shown:
            pub = sum(t.score for t in public), sum(t.max_score for t in public)
            when = {
                "after_published": "after the grades are published",
                "after_due_date": "after the due date",
                "hidden": "to the course staff only",
            }[self.hidden_visibility]
            lines.append(
                f"Public checks: {pub[0]:g} / {pub[1]:g}. Hidden checks "
                f"({sum(t.max_score for t in hidden):g} points) are graded now; their results "
                f"are shown {when}."
            )
        for name, row in self.by_task().items():
            task = BY_NAME[name]
            if hidden_shown or not hidden:
                lines.append(f"  Task {task.number} ({task.file}): {row['score']:g} / {row['max_score']:g}")
            else:
                rows = [t for t in public if t.task == name]
                lines.append(
                    f"  Task {task.number} ({task.file}): public checks "
                    f"{sum(t.score for t in rows):g} / {sum(t.max_score for t in rows):g}"
                )
        lines += [f"Note: {n}" for n in self.notes]  # cleaned by Results: they name the upload's files
        if self.grader_errors:
            lines.append("The grader hit an internal problem on this submission; the course staff will regrade it.")
        lines.append(f"Isolation: {self.isolation}")
        return "\n".join(lines)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Results:
        extra = data.get("extra_data", {})
        res = cls(
            seed=extra.get("seed", 0),
            public_only=extra.get("public_only", False),
            tasks=list(extra.get("tasks", [])),
            execution_time=data.get("execution_time", 0.0),
            isolation=extra.get("isolation", ""),
            grader_errors=list(extra.get("grader_errors") or []),
            variant=extra.get("variant") if isinstance(extra.get("variant"), dict) else None,
            notes=[str(n) for n in (extra.get("notes") or []) if isinstance(n, str)],
            options=extra.get("options") if isinstance(extra.get("options"), dict) else {},
        )
        for t in data.get("tests", []):
            res.tests.append(
                TestResult(
                    task=t["task"],
                    name=t["name"],
                    max_score=t["max_score"],
                    score=t["score"],
                    status=t["status"],
                    output=t.get("output") or "",
                    visibility=t.get("visibility", "visible"),
                    mistakes=t.get("mistakes") or [],
                    limit=t.get("limit") or "",
                    retried=t.get("retried") is True,
                )
            )
        return res.normalise()

    def write_json(self, path: Path) -> None:
        write_atomic(Path(path), json.dumps(self.to_json(), indent=2) + "\n")

    # -- student-facing report ---------------------------------------------------------------------
    def feedback_markdown(self, student: str | None = None) -> str:
        self.normalise()
        title = f"# Feedback{' for ' + _text.md_inline(student) if student else ''}\n"
        out = [title, f"**{self.summary_line()}**\n"]
        for name, row in self.by_task().items():
            task = BY_NAME[name]
            out.append(
                f"## Task {task.number}: {task.title} (`{task.file}`): {row['score']:g} / {row['max_score']:g}\n"
            )
            for t in (t for t in self.tests if t.task == name):
                mark = "PASS" if t.passed else "FAIL"
                where = "" if t.visibility == "visible" else " (hidden check)"
                out.append(f"- **{mark}** {t.name}{where}: {t.score:g}/{t.max_score:g}")
                if t.output and not t.passed:  # student text: in a fence it cannot close
                    out.append("  " + _text.fence(t.output).replace("\n", "\n  "))
            out.append("")
        out += [f"_Note: {_text.md_escape(n, 1000)}_" for n in self.notes]
        out.append(f"_Isolation: {self.isolation}_\n")
        return "\n".join(out)

    def print_table(self, console=None) -> None:
        """The terminal table: Task, Tests, Points and Status always shown whole (only a long task
        label gives way on a narrow terminal); a failing task's first failure on its own line under
        its row, over the full width. Student text is printed as rich ``Text`` (never read as
        markup) and holds no control characters."""
        from rich.console import Console
        from rich.text import Text

        self.normalise()
        console = console or Console()
        width = max(console.width, 40)
        rows = []
        for name, row in self.by_task().items():
            task = BY_NAME[name]
            ok = row["score"] == row["max_score"] and row["total"] > 0
            status, style = ("ok", "green") if ok else ("failed", "red") if row["score"] == 0 else ("partial", "yellow")
            rows.append(
                (
                    f"{task.number}. {task.file}",
                    f"{row['passed']}/{row['total']}",
                    f"{row['score']:g}/{row['max_score']:g}",
                    status,
                    style,
                    row["first_failure"],
                )
            )
        head = ("Task", "Tests", "Points", "Status")
        w = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
        w[0] = max(4, min(w[0], width - (w[1] + w[2] + w[3] + 6)))

        def line(cells, status_style=None) -> Text:
            task = cells[0] if len(cells[0]) <= w[0] else cells[0][: w[0] - 1] + "…"
            out = Text(f"{task:<{w[0]}}  {cells[1]:>{w[1]}}  {cells[2]:>{w[2]}}  ")
            out.append(f"{cells[3]:<{w[3]}}", style=status_style)
            return out

        console.print(Text("backprop-lab grade", style="italic"), no_wrap=True, overflow="ellipsis")
        console.print(line(head), style="bold", no_wrap=True, overflow="crop")
        console.print(Text("─" * min(width, sum(w) + 6)), no_wrap=True, overflow="crop")
        for label, tests, points, status, style, failure in rows:
            console.print(line((label, tests, points, status), style), no_wrap=True, overflow="crop")
            if failure:
                console.print(
                    Text("    " + _text.clean_line(failure, 1000), style="dim"), no_wrap=True, overflow="ellipsis"
                )
        console.print(Text(f"{self.summary_line()}  ({self.execution_time:.1f} s)", style="bold"))
        for note in self.notes:
            console.print(Text(f"Note: {note}"))
        console.print(Text(f"Isolation: {self.isolation}"))
        for error in self.grader_errors:
            console.print(Text.assemble(("Grader error:", "red"), " " + _text.clean_line(error, 300)))


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old content or the new, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # utf-8 whatever the locale; a character it cannot encode is written as \uXXXX, never an error
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
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
    row: dict[str, Any] = {"student": _text.clean_line(student)}
    per_task = results.by_task()
    for task in TASKS:
        row[task.name] = per_task.get(task.name, {}).get("score", "")
    row["total"] = results.score
    row["max"] = results.max_score
    return row
