"""The gradebook, the summary and what the terminal shows at the end of a batch."""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path

from rich.markup import escape

from grader import text as _text
from grader.batch.intake import Entry
from grader.results import Results, gradebook_row
from grader.sandbox.process import LIMITS


# ---------------------------------------------------------------------------------------------
# gradebook and summary
# ---------------------------------------------------------------------------------------------
def limits_hit(data: dict) -> list[str]:
    """'task: what' for every test a limit stopped the student's code in: the test's ``limit``, set
    on the trusted side (never read from its output, which may hold the student's own text)."""
    hits = [f"{t.get('task', '?')}: {t['limit']}" for t in data.get("tests", []) if t.get("limit") in LIMITS]
    return list(dict.fromkeys(hits))


def status_of(data: dict) -> str:
    errors = data.get("extra_data", {}).get("grader_errors") or []
    if errors:
        first = _text.clean(errors[0], 1000).splitlines() or [""]
        return "grader error (rerun to retry): " + _text.clean_line(first[0], 200)
    hits = limits_hit(data)
    status = "graded; limit hit: " + ", ".join(hits) if hits else "graded"
    retried = sorted({str(t.get("task", "?")) for t in data.get("tests", []) if t.get("retried") is True})
    return status + (f"; worker crash at start-up retried: {', '.join(retried)}" if retried else "")


def _one_line(text: str) -> str:
    return " ".join(_text.clean_line(text, 2000).split())[:300]


def gradebook_csv(rows: list[dict], tasks: list[str]) -> str:
    """The gradebook: every text cell one clean line, neutralised for spreadsheets (``csv_cell``:
    a student named ``=HYPERLINK(...)`` stays text); numbers stay numbers."""
    buf = io.StringIO()
    fields = ["student", *tasks, "total", "max", "status"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    safe = [
        {
            k: _text.csv_cell(v if isinstance(v, (int, float)) or v is None else _text.clean_line(v, 1000))
            for k, v in row.items()
        }
        for row in rows
    ]
    for row in sorted(safe, key=lambda r: str(r.get("student", ""))):
        writer.writerow(row)
    return buf.getvalue()


def row_for(entry: Entry, state: dict | None, tasks: list[str]) -> dict:
    if entry.error:
        return {"student": entry.student, "status": "error: " + _one_line(entry.error)}
    if state is None:
        return {"student": entry.student, "status": "not graded (batch interrupted: rerun to continue)"}
    if state["state"] == "error":
        return {"student": entry.student, "status": "error: " + _one_line(state["error"])}
    if state["state"] == "grader_error":
        return {"student": entry.student, "status": "grader error (rerun to retry): " + _one_line(state["error"])}
    data = state["data"]
    previous = state["state"] == "previous"
    try:
        results = Results.from_json(data)
        row = gradebook_row(entry.student, results)
    except Exception as exc:  # a stored result this grader cannot read: that student's row says so
        return {
            "student": entry.student,
            "status": "grader error (rerun to retry): unreadable results.json "
            f"({type(exc).__name__}: {_one_line(exc)})",
        }
    row = {k: v for k, v in row.items() if k in ("student", "total", "max") or k in tasks}
    if previous:  # an earlier run may have graded other tasks: the totals of the tasks shown here
        row["total"] = round(sum(t.score for t in results.tests if t.task in tasks), 4)
        row["max"] = round(sum(t.max_score for t in results.tests if t.task in tasks), 4)
    row["status"] = (PREVIOUS + status_of(data)) if previous else status_of(data)
    return row


PREVIOUS = "from the previous run, not regraded yet (rerun to regrade): "


def summarise(entries: list[Entry], states: dict[str, dict], tasks: list[str], skipped: int) -> dict:
    graded = [
        (e.student, states[e.student]["data"])
        for e in entries
        if not e.error and states.get(e.student, {}).get("state") == "graded"
    ]
    totals = [d["score"] for _, d in graded]
    failures = {}
    for name in tasks:
        failed = zero = 0
        for _, data in graded:
            rows = [t for t in data["tests"] if t["task"] == name]
            score, top = sum(t["score"] for t in rows), sum(t["max_score"] for t in rows)
            if rows and score < top:
                failed += 1
                zero += score == 0
        failures[name] = {"failed": failed, "zero": zero}
    names = _display_names([e.student for e in entries])
    errors = {names[e.student]: _text.clean(e.error, 1000) for e in entries if e.error}
    for e in entries:
        st = states.get(e.student)
        if not e.error and st and st["state"] not in ("graded", "previous"):
            errors[names[e.student]] = _text.clean(st["error"], 1000)
    pending = [
        names[e.student]
        for e in entries
        if not e.error and states.get(e.student, {}).get("state") in (None, "previous")
    ]
    return {
        "students": len(entries),
        "graded": len(graded),
        "already_graded": skipped,
        "errors": errors,
        "pending": pending,
        "max_score": max((d["max_score"] for _, d in graded), default=0.0),
        "mean": round(statistics.fmean(totals), 3) if totals else None,
        "median": statistics.median(totals) if totals else None,
        "failures_by_task": failures,
        "limits": {names[s]: limits_hit(d) for s, d in graded if limits_hit(d)},
        "grader_errors": [names[s] for s, d in graded if d.get("extra_data", {}).get("grader_errors")],
    }


def mistake_counts(entries: list[Entry], states: dict[str, dict]) -> dict[str, int]:
    """Named mistake id -> how many graded students made it (in any check), most common first."""
    counts: dict[str, int] = {}
    for e in entries:
        st = states.get(e.student)
        if e.error or not st or st["state"] != "graded":
            continue
        for ident in {m.get("id") for t in st["data"].get("tests", []) for m in t.get("mistakes") or []} - {None}:
            counts[ident] = counts.get(ident, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _display_names(students: list[str]) -> dict[str, str]:
    """Each student's name as shown (one clean line); names that clean to the same text stay apart."""
    shown: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        name = base = _text.clean_line(student) or "?"
        n = 2
        while name in taken:
            name, n = f"{base} ({n})", n + 1
        taken.add(name)
        shown[student] = name
    return shown


def print_summary(summary: dict, out: Path, seconds: float, graded_now: int, console) -> None:
    s = summary
    console.print(
        f"[bold]{s['graded']} of {s['students']} students graded[/bold] "
        f"({graded_now} now in {seconds:.1f} s, {s['already_graded']} already graded), "
        f"{len(s['errors'])} not graded, {len(s['pending'])} pending"
    )
    if s.get("steady_seconds_per_student"):
        steady = s["steady_seconds_per_student"]
        console.print(
            f"Rate once the grading processes were warm (their start left out): {steady:.1f} s per student, "
            f"{60 / steady:.1f} students/min"
        )
    if s["mean"] is not None:
        console.print(f"Total: mean {s['mean']:g}, median {s['median']:g} (of {s['max_score']:g})")
    fails = [
        f"{t} {v['failed']}" + (f" ({v['zero']} at 0)" if v["zero"] else "")
        for t, v in s["failures_by_task"].items()
        if v["failed"]
    ]
    console.print("Failures by task: " + (", ".join(fails) if fails else "none"))
    if s["limits"]:
        console.print(
            "Hit a limit: "
            + escape(_text.clean_line("; ".join(f"{st} ({', '.join(h)})" for st, h in s["limits"].items()), 4000))
        )
    for student, error in s["errors"].items():
        console.print(
            f"[red]not graded[/red] {escape(_text.clean_line(student))}: {escape(_one_line(error))}", highlight=False
        )
    if s["pending"]:
        console.print(
            "[yellow]pending[/yellow] (rerun to continue): " + escape(_text.clean_line(", ".join(s["pending"]), 4000))
        )
    console.print(
        escape(
            _text.clean_line(
                f"Results: {out}/<student>/results.json, feedback.md; gradebook: {out / 'gradebook.csv'}", 4000
            )
        )
    )
