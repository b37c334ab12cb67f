"""``report.html``: what a class got wrong, on one page for the instructor (self-contained, offline).

Written at the end of every ``grade --batch`` run (which starts ``course report RESULTS`` in a
process of its own: the engine imports no instructor tooling), and rebuilt by that command. It
reads the results folder only: ``summary.json``, ``gradebook.csv`` and every
``<student>/results.json`` (for the code similarity, also each student's submission, from the path
its result records). Sections: the score distribution per task and in total (matplotlib
histograms, inline PNG), every student with a link to their ``feedback.md``, the named
misconceptions ranked by how many students made them (the ``mistakes`` ids of the checks, see
``grader.gradients``), an item analysis of every check (pass rate, points lost, public or hidden,
discrimination), who hit a limit or could not be graded, and the code similarity per task
(copydetect's winnowing, the stub as boilerplate) with the overlap of each pair side by side.

Rendering: a Jinja2 template (``templates/report.html.j2``) with autoescaping, and every value
cleaned by ``grader.text.clean`` before it is escaped: student names, messages and code are text,
never markup. The page loads nothing: images are data URIs, the CSS and the sorting script are
inline, and its Content-Security-Policy allows exactly that script (by hash) and no network.
"""

from __future__ import annotations

import argparse
import base64
import collections
import csv
import hashlib
import io
import itertools
import json
import os
import statistics
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from grader import text as _text
from grader.results import Results, write_atomic
from grader.rubric import BY_NAME
from grader.sandbox.isolation import die_with_parent

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_NAME = "report.html"
SIMILARITY_THRESHOLD = 0.6  # a pair is listed when one side shares this much of its own code with the other
MIN_OVERLAP = 60  # ... and at least this many characters of normalised code (not counting the stub)
MAX_PAIRS = 25  # per task, the most similar first
PARALLEL_FROM = 40  # students from which the tasks' comparisons run in several processes
MAX_CODE = 200_000  # characters of one file compared


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _num(value: Any) -> str:
    """A number as shown (and compared by the tests): up to 10 significant digits, no trailing zeros."""
    if value is None or value == "":
        return "–"
    try:
        return f"{float(value):.10g}"
    except (TypeError, ValueError):
        return _text.clean_line(value, 100)


def _task_order(name: str) -> tuple[int, str]:
    return (BY_NAME[name].number if name in BY_NAME else 99, name)


# ---------------------------------------------------------------------------------------------
# the class, from the results folder
# ---------------------------------------------------------------------------------------------
def collect(out: Path) -> dict[str, Any]:
    """Everything the page shows, from the files of a results folder."""
    from grader import batch

    out = Path(out)
    summary = _read_json(out / "summary.json")
    summary = summary if isinstance(summary, dict) else {}
    try:
        with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
            book_rows = list(csv.DictReader(fh))
    except OSError:
        book_rows = []
    book = {row.get("student", ""): row for row in book_rows}
    graded: list[dict[str, Any]] = []
    matched: set[str] = set()
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink()):
        data = _read_json(folder / "results.json")
        if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
            continue
        extra = data.get("extra_data") or {}
        record = extra.get("batch") or {}
        name = _text.clean_line(record.get("student") or folder.name)
        row = next(
            (book[k] for k in (_text.csv_cell(name), _text.csv_cell(_text.clean_line(folder.name, 1000))) if k in book),
            None,
        )
        stored = batch.status_of(data)
        status = str(row.get("status", "")) if row else stored
        final = status.startswith("graded") or (status.startswith("grader error") and stored.startswith("grader error"))
        if book and (row is None or not final):
            continue  # not in this class's gradebook, or no result of this run (summary.json counts alike)
        if row:
            matched.add(row.get("student", ""))
        try:
            results = Results.from_json(data)
        except Exception:  # an unreadable result: its gradebook row says so
            continue
        per_task = results.by_task()
        graded.append(
            {
                "folder": folder.name,
                "name": name,
                "href": urllib.parse.quote(folder.name, safe="") + "/feedback.md",
                "scores": {t: row_["score"] for t, row_ in per_task.items()},
                "max": {t: row_["max_score"] for t, row_ in per_task.items()},
                "total": results.score,
                "max_total": results.max_score,
                "status": _text.clean_line(status, 300),
                "variant": _text.clean_line((extra.get("variant") or {}).get("id", ""), 40),
                "limits": batch.limits_hit(data),
                "tests": results.tests,
                "source": record.get("source") or "",
                "grader_errors": results.grader_errors,
            }
        )
    not_graded = [
        {"name": _text.clean_line(row.get("student", ""), 300), "status": _text.clean_line(row.get("status", ""), 1000)}
        for row in book_rows
        if row.get("student", "") not in matched
    ]
    tasks = [t for t in (summary.get("tasks") or []) if t in BY_NAME]
    if not tasks:
        tasks = sorted({t for s in graded for t in s["scores"] if t in BY_NAME}, key=_task_order)
    return {
        "summary": summary,
        "graded": graded,
        "not_graded": not_graded,
        "tasks": tasks,
        "students": len(book_rows) if book_rows else len(graded),
    }


# ---------------------------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------------------------
def _histogram(values: list[float], top: float, title: str) -> str:
    """A histogram of scores from 0 to ``top`` as a PNG data URI (matplotlib, no pyplot state)."""
    import numpy as np
    from matplotlib.figure import Figure

    top = max([float(top), 1.0] + [float(v) for v in values])
    step = 0.5 if top <= 10 else 1.0 if top <= 20 else 5.0 if top <= 100 else top / 20
    edges = np.arange(0.0, top + 1.5 * step, step)
    fig = Figure(figsize=(4.0, 2.3), dpi=96, layout="constrained")
    ax = fig.subplots()
    ax.hist(values, bins=edges, color="#4c72b0", edgecolor="white")
    ax.set_xlim(-step, top + step)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("points", fontsize=8)
    ax.set_ylabel("students", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _stats(values: list[float]) -> dict[str, str]:
    if not values:
        return {"mean": "–", "median": "–"}
    return {"mean": _num(round(statistics.fmean(values), 3)), "median": _num(statistics.median(values))}


def distributions(cls: dict[str, Any]) -> dict[str, Any]:
    graded, tasks = cls["graded"], cls["tasks"]
    rows = []
    for task in tasks:
        values = [s["scores"][task] for s in graded if task in s["scores"]]
        top = max([s["max"][task] for s in graded if task in s["max"]] or [BY_NAME[task].points])
        rows.append(
            {
                "task": task,
                "number": BY_NAME[task].number,
                "title": BY_NAME[task].title,
                "max": _num(top),
                "n": len(values),
                **_stats(values),
                "full": sum(v >= top for v in values),
                "zero": sum(v == 0 for v in values),
                "plot": _histogram(values, top, f"{BY_NAME[task].number}. {task} (of {top:g})"),
            }
        )
    totals = [s["total"] for s in graded]
    top = max([s["max_total"] for s in graded] or [0.0])
    return {
        "tasks": rows,
        "total": {
            "max": _num(top),
            "n": len(totals),
            **_stats(totals),
            "plot": _histogram(totals, top, f"total (of {top:g})"),
        },
    }


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5


def item_analysis(cls: dict[str, Any]) -> list[dict[str, Any]]:
    """Per check: students who ran it, pass rate, points lost, public or hidden, and its
    discrimination (correlation of passing it with the rest of the total)."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for student in cls["graded"]:
        for test in student["tests"]:
            item = items.setdefault(
                (test.task, test.name),
                {
                    "task": test.task,
                    "name": test.name,
                    "order": len(items),
                    "kind": "public" if test.visibility == "visible" else "hidden",
                    "rows": [],
                },
            )
            item["rows"].append(
                (
                    1.0 if test.passed else 0.0,
                    test.max_score - test.score,
                    student["total"] - test.score,
                    test.max_score,
                )
            )
    out = []
    for item in sorted(items.values(), key=lambda i: (_task_order(i["task"]), i["order"])):
        passed = [r[0] for r in item["rows"]]
        lost = sum(r[1] for r in item["rows"])
        disc = _correlation(passed, [r[2] for r in item["rows"]])
        out.append(
            {
                "task": item["task"],
                "name": item["name"],
                "kind": item["kind"],
                "points": _num(max(r[3] for r in item["rows"])),
                "n": len(passed),
                "passed": int(sum(passed)),
                "pass_rate": _num(round(100 * sum(passed) / len(passed), 1)),
                "lost": _num(round(lost, 4)),
                "mean_lost": _num(round(lost / len(passed), 3)),
                "discrimination": _num(round(disc, 2)) if disc is not None else "–",
            }
        )
    return out


def misconceptions(cls: dict[str, Any]) -> list[dict[str, Any]]:
    """Named mistakes (``mistakes`` of each check in results.json), ranked by how many students made them."""
    found: dict[str, dict[str, Any]] = {}
    for student in cls["graded"]:
        for test in student["tests"]:
            for mistake in test.mistakes:
                entry = found.setdefault(
                    mistake["id"],
                    {
                        "id": mistake["id"],
                        "message": mistake["message"],
                        "task": mistake["id"].split(".", 1)[0],
                        "students": {},
                        "checks": [],
                        "occurrences": 0,
                    },
                )
                entry["students"][student["folder"]] = student
                entry["occurrences"] += 1
                if test.name not in entry["checks"]:
                    entry["checks"].append(test.name)
    ranked = sorted(found.values(), key=lambda e: (-len(e["students"]), _task_order(e["task"]), e["id"]))
    for rank, entry in enumerate(ranked, start=1):
        entry["rank"] = rank
        entry["count"] = len(entry["students"])
        entry["students"] = sorted(entry["students"].values(), key=lambda s: s["name"])
    return ranked


# ---------------------------------------------------------------------------------------------
# code similarity (copydetect)
# ---------------------------------------------------------------------------------------------
def _highlight(code: str, slices: Any) -> str:
    """The code as HTML, the copied slices in <mark>; every piece escaped by ``grader.text.html``."""
    from markupsafe import Markup

    spans = sorted((int(a), int(b)) for a, b in zip(*slices)) if len(slices) == 2 and len(slices[0]) else []
    parts, cursor = [], 0
    for start, end in spans:
        start = max(start, cursor)
        if end <= start:
            continue
        parts.append(_text.html(code[cursor:start]))
        parts.append("<mark>" + _text.html(code[start:end]) + "</mark>")
        cursor = end
    parts.append(_text.html(code[cursor:]))
    return Markup("".join(parts))


class _Positions:
    """A fingerprint's hashes by position, for ``_overlap``: positions (sorted) with the hash at each,
    and its distinct hashes (sorted)."""

    def __init__(self, fp: Any):
        import numpy as np

        self.fingerprint = fp
        pairs = sorted((int(i), h) for h, idx in fp.hash_idx.items() for i in idx)
        self.positions = np.array([i for i, _ in pairs], dtype=np.int64)
        self.hashes = np.array([h for _, h in pairs], dtype=np.int64)
        self.distinct = np.unique(self.hashes)
        self.coverage = fp.token_coverage if len(fp.filtered_code) > 0 else 0


def _overlap(a: _Positions, b: _Positions, k: int) -> tuple[int, float, float]:
    """copydetect's ``compare_files`` numbers without its slices: (a's overlapping tokens, a's
    similarity, b's similarity). The tokens of a that copydetect marks are the union of [p, p + k)
    over a's positions p whose hash b has too; its length is k plus, between neighbouring such
    positions, their gap capped at k (what ``get_copied_slices`` adds up). Tens of microseconds
    against copydetect's few ms (a small array per shared hash): every pair is measured this way
    (tested to give ``compare_files``' numbers), and copydetect is asked only for the slices of the
    pairs shown."""
    import numpy as np

    def covered(x: _Positions, y: _Positions) -> int:
        if not len(x.hashes) or not len(y.distinct):
            return 0
        at = np.minimum(np.searchsorted(y.distinct, x.hashes), len(y.distinct) - 1)
        shared = x.positions[y.distinct[at] == x.hashes]
        return int(k + np.minimum(np.diff(shared), k).sum()) if len(shared) else 0

    tokens_a, tokens_b = covered(a, b), covered(b, a)
    if not tokens_a:
        return 0, 0.0, 0.0
    return tokens_a, tokens_a / a.coverage if a.coverage else 0.0, tokens_b / b.coverage if b.coverage else 0.0


def _copydetect_numbers(a: _Positions, b: _Positions, k: int) -> tuple[int, float, float]:
    """``_overlap``'s numbers from copydetect's own ``compare_files`` (a few ms a pair): what the
    report measured every pair with before; ``course bench`` times the two side by side."""
    from copydetect import compare_files

    overlap, (sim_a, sim_b), _ = compare_files(a.fingerprint, b.fingerprint)
    return int(overlap), float(sim_a), float(sim_b)


def similar_pairs(
    task: str, stub: str, codes: dict[str, str], names: dict[str, dict], threshold: float, measure: str = "screen"
) -> dict:
    """One task's section: its submissions' pairwise overlap (copydetect), the most similar pairs
    highlighted. ``codes``: folder -> the task's file; ``names``: folder -> the student's row.
    ``measure="copydetect"`` measures every pair with ``compare_files`` instead (the same section, slower)."""
    overlap_of = {"screen": _overlap, "copydetect": _copydetect_numbers}[measure]
    import numpy as np
    from copydetect import CodeFingerprint, compare_files, defaults

    k, window = defaults.NOISE_THRESHOLD, max(1, defaults.GUARANTEE_THRESHOLD - defaults.NOISE_THRESHOLD + 1)
    filename = BY_NAME[task].file
    boiler = CodeFingerprint(filename, k, 1, fp=io.StringIO(stub))
    boilerplate = np.unique(np.array(sorted(boiler.hashes), dtype=np.int64)) if boiler.hashes else None
    prints, untouched, done = {}, 0, {}
    for folder, code in sorted(codes.items()):
        if code.strip() == stub.strip():
            untouched += 1
            continue
        digest = hashlib.sha256(code.encode("utf-8", "backslashreplace")).digest()
        if digest not in done:  # identical files (copies of one source) are tokenised once
            done[digest] = CodeFingerprint(filename, k, window, boilerplate=boilerplate, fp=io.StringIO(code))
        if done[digest].token_coverage > 0:
            prints[folder] = (done[digest], code)
    positions = {id(fp): _Positions(fp) for fp, _ in prints.values()}
    copies = collections.Counter(id(fp) for fp, _ in prints.values())  # folders per fingerprint
    pairs, found = [], {}
    for a, b in itertools.combinations(sorted(prints), 2):
        key = (id(prints[a][0]), id(prints[b][0]))
        if key in found:  # copies of one file share a fingerprint: measured once
            overlap, sim_a, sim_b = found[key]
        else:
            overlap, sim_a, sim_b = overlap_of(positions[key[0]], positions[key[1]], k)
            if copies[key[0]] > 1 or copies[key[1]] > 1:  # kept only where it will be asked again
                found[key] = overlap, sim_a, sim_b
        if overlap >= MIN_OVERLAP and max(sim_a, sim_b) >= threshold:
            pairs.append(
                {
                    "a": names[a],
                    "b": names[b],
                    "sim_a": _num(round(100 * float(sim_a), 1)),
                    "sim_b": _num(round(100 * float(sim_b), 1)),
                    "overlap": int(overlap),
                    "key": max(float(sim_a), float(sim_b)),
                }
            )
    pairs.sort(key=lambda p: (-p["key"], p["a"]["name"], p["b"]["name"]))
    slices_of: dict[tuple[int, int], Any] = {}
    for pair in pairs[:MAX_PAIRS]:  # only the pairs shown are compared by copydetect itself, for the slices
        fa, fb = prints[pair["a"]["folder"]][0], prints[pair["b"]["folder"]][0]
        if (id(fa), id(fb)) not in slices_of:
            slices_of[id(fa), id(fb)] = compare_files(fa, fb)[2]
        slices = slices_of[id(fa), id(fb)]
        pair["code_a"] = _highlight(prints[pair["a"]["folder"]][1], slices[0])
        pair["code_b"] = _highlight(prints[pair["b"]["folder"]][1], slices[1])
    return {
        "task": task,
        "file": filename,
        "compared": len(prints),
        "untouched": untouched,
        "pairs": pairs[:MAX_PAIRS],
        "more": max(0, len(pairs) - MAX_PAIRS),
    }


def _die_with(parent: int) -> None:
    """In a comparing process: end when the report's process ends (killed at its time-out, say)."""
    try:
        die_with_parent()
    except Exception:
        pass
    if os.getppid() != parent:  # it ended before we could ask
        os._exit(1)


def similarity(
    cls: dict[str, Any], threshold: float = SIMILARITY_THRESHOLD, workers: int | None = None
) -> dict[str, Any]:
    """Pairs of students whose code of a task overlaps above ``threshold`` (copydetect, winnowed
    k-gram fingerprints of the tokenised code, the task's stub removed as boilerplate).

    Every pair is measured by ``_overlap`` (tens of microseconds; the fingerprints themselves, about
    20 ms a file, cost more), so from ``PARALLEL_FROM`` students on the tasks are spread over
    ``workers`` processes (default: the cores)."""
    try:
        import copydetect  # noqa: F401
    except ImportError:
        return {
            "available": False,
            "tasks": [],
            "threshold": _num(threshold),
            "note": "copydetect is not installed (pip install 'backprop-lab[report]'): no code similarity",
        }
    from grader import submission
    from grader.course import stubs

    stub_files = stubs.expected_files()
    codes: dict[str, dict[str, str]] = {t: {} for t in cls["tasks"]}
    unreadable = []
    for student in cls["graded"]:
        try:
            with submission.load(student["source"]) as sub:
                for task in cls["tasks"]:
                    path = sub.folder / BY_NAME[task].file
                    if path.is_file():
                        codes[task][student["folder"]] = path.read_text(encoding="utf-8", errors="replace")[:MAX_CODE]
        except Exception:  # the submission moved or is gone since grading: no similarity for it
            unreadable.append(student["name"])
    names = {s["folder"]: s for s in cls["graded"]}
    jobs = [(t, stub_files.get(BY_NAME[t].file, ""), codes[t], names, threshold) for t in cls["tasks"]]
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if len(cls["graded"]) >= PARALLEL_FROM else 1
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        sections = [similar_pairs(*job) for job in jobs]
    else:  # spawned: the caller may have threads (a fork could inherit a held lock)
        import concurrent.futures as cf
        import multiprocessing

        try:
            with cf.ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with,
                initargs=(os.getpid(),),
            ) as pool:
                sections = list(pool.map(similar_pairs, *zip(*jobs)))
        except (OSError, NotImplementedError, cf.process.BrokenProcessPool):  # no processes here: one by one
            sections = [similar_pairs(*job) for job in jobs]
    note = (
        (
            "submissions not found (moved since grading?): "
            + ", ".join(unreadable[:20])
            + (" ..." if len(unreadable) > 20 else "")
        )
        if unreadable
        else ""
    )
    return {"available": True, "tasks": sections, "threshold": _num(round(100 * threshold, 1)), "note": note}


# ---------------------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------------------
def _finalize(value: Any) -> Any:
    """Every value printed by the template: text is cleaned (``grader.text.clean``) before Jinja2
    escapes it; Markup (the highlighted code, built with ``grader.text.html``) is left as is."""
    from markupsafe import Markup

    if isinstance(value, Markup) or value is None or isinstance(value, (int, float)):
        return "" if value is None else value
    return _text.clean(value, None)


def render(out: Path, threshold: float = SIMILARITY_THRESHOLD) -> str:
    import jinja2
    from markupsafe import Markup

    cls = collect(Path(out))
    summary = cls["summary"]
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    graded = cls["graded"]
    model = {
        "tasks": [{"name": t, "number": BY_NAME[t].number} for t in cls["tasks"]],
        "students": sorted(graded, key=lambda s: s["name"]),
        "overview": {
            "students": cls["students"],
            "graded": len(graded),
            "not_graded": len(cls["not_graded"]),
            "limits": sum(bool(s["limits"]) for s in graded),
            "variants": sum(bool(s["variant"]) for s in graded),
            "public_only": bool(summary.get("public_only")),
        },
        "dist": distributions(cls),
        "items": item_analysis(cls),
        "mistakes": misconceptions(cls),
        "limits": [s for s in sorted(graded, key=lambda s: s["name"]) if s["limits"]],
        "not_graded": cls["not_graded"],
        "grader_errors": [s for s in graded if s["grader_errors"]],
        "similarity": similarity(cls, threshold),
        "num": _num,
        "css": Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        "script": Markup(script),
        "script_hash": script_hash,
    }
    return env.get_template("report.html.j2").render(**model)


def write(out: Path, threshold: float = SIMILARITY_THRESHOLD, dest: Path | None = None) -> Path:
    """Render the report of results folder ``out`` to ``dest`` (default ``out/report.html``)."""
    path = Path(dest) if dest else Path(out) / REPORT_NAME
    write_atomic(path, render(Path(out), threshold))
    return path


def main(args: argparse.Namespace) -> int:
    """``course report RESULTS [--out FILE] [--threshold 0.6]``."""
    out = Path(args.results)
    if not (out / "gradebook.csv").is_file():
        print(f"course report: {out} holds no gradebook.csv (a results folder of `grade --batch`)", file=sys.stderr)
        return 2
    if not 0 < args.threshold <= 1:
        print("course report: --threshold is a fraction in (0, 1]", file=sys.stderr)
        return 2
    try:
        path = write(out, threshold=args.threshold, dest=args.out)
    except ImportError as exc:
        print(f"course report: {exc.name or exc} is not installed: pip install 'backprop-lab[report]'", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
