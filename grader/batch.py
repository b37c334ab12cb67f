"""Grade a whole class: one student per entry, in parallel, resumable, every file written atomically.

``grade SUBMISSIONS_DIR --batch --out RESULTS_DIR`` (or ``grade a/ b.zip c/ --out RESULTS_DIR``).
Entries are folders, ``.zip`` files, or an nbgrader course tree (``submitted/<student>/<assignment>/``,
recognised only from evidence: the course folder holds ``nbgrader_config.py`` or ``gradebook.db``,
or ``--nbgrader`` says so; ``BPLAB_ASSIGNMENT=<name>`` picks the assignment when students have
several). Every entry gets a gradebook row, graded or an error; none is dropped silently. Each
student gets ``RESULTS_DIR/<student>/results.json`` (Gradescope format, with the resume key in
``extra_data.batch``, which also lists the student's named mistakes and variant) and ``feedback.md``;
``RESULTS_DIR/gradebook.csv``, ``summary.json`` and the class report ``report.html``
(built by ``course report``) are rebuilt from the per-student results. With a variants key
(``--variants``) each student is graded on their own seed, ``runner.variant_for(key, student)``.

Resuming: the key of a result is a hash of the normalised submission content, the grader's own
code, the task's checks and every reference module they import (followed through the imports
themselves, ``reference_files``), the seed and the options; a rerun skips every student whose stored key matches
(``--force`` regrades). A result is written (temp file + rename) by the process that graded it, the
moment it exists, so killing the batch, even with SIGKILL, loses at most the submissions in flight.

Student text (names, messages) is cleaned by ``grader.text`` before it reaches a file or the
terminal; ``gradebook.csv`` cells are neutralised for spreadsheets (``csv_cell``). A student whose
report cannot be written gets an error row and is graded again on the next run; the others are
not affected.

Processes: the batch runs ``--workers`` grading processes (default: the core count), each in its
own process group that dies with the batch; each grades one submission at a time with
``cores // workers`` lanes (``grader.runner``), so the machine is never oversubscribed.
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures as cf
import csv
import dataclasses
import fcntl
import hashlib
import io
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from rich.markup import escape

from grader import runner, submission
from grader import text as _text
from grader.results import GRADER_VERSION, Results, gradebook_row, write_atomic
from grader.rubric import BY_NAME, TASKS

USAGE_ERROR = 2
RESERVED = {"gradebook.csv", "summary.json"}
SKIP_NAMES = {"__MACOSX", "__pycache__", "Thumbs.db", "desktop.ini"}
LOCK_NAME = ".batch.lock"
NBGRADER_EVIDENCE = ("nbgrader_config.py", "gradebook.db")  # what makes a folder an nbgrader course
_TMP_PATTERN = re.compile(r"^\.(results\.json|feedback\.md|gradebook\.csv|summary\.json)\..*\.tmp$")
LIMIT_PATTERNS = (
    (re.compile(r"timed out after [\d.]+ s"), "timed out"),
    (re.compile(r"memory limit of"), "memory limit"),
    (re.compile(r"CPU time limit"), "CPU time limit"),
    (re.compile(r"file size limit"), "output / file size limit"),
    (re.compile(r"segmentation fault"), "crashed"),
    (re.compile(r"the worker was killed"), "killed"),
)
HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------
# entries: which students, from which paths
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Entry:
    student: str
    path: Path | None
    error: str | None = None
    key: str | None = None
    content: str | None = None


def _student_name(path: Path) -> str:
    name = path.resolve().name if path.name in ("", ".", "..") else path.name
    return name[:-4] if name.lower().endswith(".zip") and path.is_file() else name


def is_nbgrader_course(folder: Path) -> bool:
    """Evidence that ``folder`` is an nbgrader course directory: its config or its gradebook."""
    return any((folder / name).is_file() and not (folder / name).is_symlink() for name in NBGRADER_EVIDENCE)


def _nbgrader_root(folder: Path, explicit: bool = False) -> Path | None:
    """The ``submitted/`` folder to grade when ``folder`` is an nbgrader course (``folder/submitted``)
    or its ``submitted/`` folder, recognised from evidence (``is_nbgrader_course``) or because
    ``explicit`` (``--nbgrader``) says so; else None: a folder named ``submitted`` is then a student."""
    resolved = folder.resolve()
    sub = folder / "submitted"
    if sub.is_dir() and not sub.is_symlink() and (explicit or is_nbgrader_course(folder)):
        return sub
    if resolved.name == "submitted" and (explicit or is_nbgrader_course(resolved.parent)):
        return folder
    return folder if explicit else None


def _nbgrader_entry(student_dir: Path) -> Path:
    """The assignment folder of one student in an nbgrader tree (BPLAB_ASSIGNMENT picks one)."""
    wanted = os.environ.get("BPLAB_ASSIGNMENT")
    if wanted:
        chosen = student_dir / wanted
        if not chosen.is_dir():
            raise submission.SubmissionError(f"no folder {wanted!r} (BPLAB_ASSIGNMENT) in {student_dir}")
        return chosen
    return student_dir  # submission.load finds the single assignment folder one level down


def discover(paths: list[Path], batch: bool, out: Path, nbgrader: bool = False) -> tuple[list[Entry], list[str]]:
    """The class: one Entry per student (with an error for entries that cannot be graded); every
    top-level entry is a student, except hidden files, ``SKIP_NAMES`` and the results folder
    (listed in the notes). ``nbgrader``: the folders are nbgrader course folders (else recognised
    from evidence only)."""
    notes: list[str] = []
    found: list[tuple[str, Path, str | None]] = []
    out_resolved = out.resolve()
    for path in paths:
        if not batch:
            found.append((_student_name(path), path, None))
            continue
        if not path.is_dir():
            found.append((_student_name(path), path,
                          "--batch expects a folder of submissions (one folder or .zip per student)"))
            continue
        root, nb = path, _nbgrader_root(path, nbgrader)
        if nb is not None:
            root = nb
            notes.append(f"{path}: nbgrader course folder, grading {nb}/<student>/<assignment>/")
        elif (path / "submitted").is_dir():
            notes.append(f"{path}: 'submitted' is graded as a student: this is no nbgrader course folder "
                         f"(no {' or '.join(NBGRADER_EVIDENCE)}); pass --nbgrader if it is one")
        ignored = []
        for child in sorted(root.iterdir()):
            if child.name.startswith(".") or child.name in SKIP_NAMES:
                ignored.append(child.name)
                continue
            if child.resolve() == out_resolved:
                continue
            if child.is_symlink():
                found.append((child.name, child, "is a symbolic link (not graded)"))
            elif child.is_dir():
                if nb is not None:
                    try:
                        found.append((child.name, _nbgrader_entry(child), None))
                    except submission.SubmissionError as exc:
                        found.append((child.name, child, str(exc)))
                else:
                    found.append((child.name, child, None))
            elif child.suffix.lower() == ".zip":
                found.append((child.name[:-4], child, None))
            else:
                found.append((child.name, child, "not a submission (expected a folder or a .zip per student)"))
        if ignored:
            notes.append(f"{root}: ignored {len(ignored)} hidden or system entr{'y' if len(ignored) == 1 else 'ies'}: "
                         + ", ".join(sorted(ignored)[:10]) + (", ..." if len(ignored) > 10 else ""))
    by_student: dict[str, list[tuple[Path, str | None]]] = {}
    for student, path, error in found:
        by_student.setdefault(student, []).append((path, error))
    entries = []
    for student, items in sorted(by_student.items()):
        if len(items) > 1:
            names = ", ".join(p.name + ("/" if p.is_dir() else "") for p, _ in items)
            entries.append(Entry(student, None, f"{len(items)} entries map to this student ({names}): "
                                                f"keep one and rerun"))
        elif student in RESERVED or not student or student.startswith("."):
            entries.append(Entry(student or "?", items[0][0], f"the name {student!r} is reserved: rename the entry"))
        else:
            entries.append(Entry(student, items[0][0], items[0][1]))
    return entries, notes


# ---------------------------------------------------------------------------------------------
# keys: what a result was graded against
# ---------------------------------------------------------------------------------------------
def content_hash(folder: Path) -> str:
    """SHA-256 of a normalised submission folder (file names and bytes, sorted)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


PROJECT = HERE.parent
SOLUTIONS = PROJECT / "solutions"


def _imports(path: Path, package: str) -> tuple[set[str], bool]:
    """The absolute names of every module ``path`` imports, in any form: ``import a.b``,
    ``from a import b`` (``a.b`` may be a module), relative imports (resolved against
    ``package``), ``importlib.import_module("a.b")`` / ``__import__("a.b")`` with a literal name, and
    ``solutions.<x>`` attribute chains (also through ``import solutions as s``); plus whether it
    uses the package whole (``from solutions import *``, or ``solutions`` imported and used other
    than as ``solutions.<module>``, e.g. ``getattr(solutions, name)``), which then counts as every
    module of it."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return set(), True  # unreadable: depend on everything rather than on nothing
    names: set[str] = set()
    whole = False
    aliases = {"solutions"}  # names bound to the package itself (import solutions [as s])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
            aliases |= {alias.asname for alias in node.names if alias.name == "solutions" and alias.asname}
    attribute_values: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[:len(parts) - node.level + 1] if node.level <= len(parts) else []
                base = ".".join(parent + ([base] if base else []))
            if base:
                names.add(base)
            for alias in node.names:
                if alias.name == "*":
                    whole = whole or base.split(".")[0] == "solutions"
                else:
                    names.add(f"{base}.{alias.name}" if base else alias.name)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__"):
                names.add(node.args[0].value)
        elif isinstance(node, ast.Attribute):
            chain = []
            value: ast.AST = node
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                names.add("solutions." + chain[-1])
                attribute_values.add(id(value))
    bound = any(a.name == "solutions" or a.name.startswith("solutions.")
                for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names)
    if bound:  # the package used other than as ``solutions.<module>`` (getattr, passed on): all of it
        whole = whole or any(isinstance(node, ast.Name) and node.id in aliases and isinstance(node.ctx, ast.Load)
                             and id(node) not in attribute_values for node in ast.walk(tree))
    return names, whole


def _module_file(name: str, root: Path) -> Path | None:
    """The file of a project module (``grader.*``, ``solutions.*``) under ``root``; for ``pkg.attr``
    where ``attr`` is no module, the package's ``__init__.py``."""
    parts = name.split(".")
    if parts[0] not in ("grader", "solutions"):
        return None
    while parts:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        parts = parts[:-1]
    return None


def reference_files(check_files: list[Path], root: Path | None = None) -> set[Path]:
    """Every reference module (``root/solutions/*.py``) that ``check_files`` import, directly or through
    the project's own modules (``grader.*`` helpers, other reference modules), computed from the
    import statements themselves (``ast``), never from a pattern over the source."""
    root = Path(root or PROJECT)
    solutions = root / "solutions"
    seen: set[Path] = set()
    found: set[Path] = set()
    todo = [Path(p) for p in check_files]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            rel = path.resolve().relative_to(root.resolve()).with_suffix("")
            package = ".".join(rel.parts[:-1])  # a module's package; __init__'s is its own
        except ValueError:
            package = ""
        names, whole = _imports(path, package)
        if whole:
            found |= set(solutions.glob("*.py"))
        for name in names:
            target = _module_file(name, root)
            if target is None:
                continue
            if target.parent == solutions or solutions in target.parents:
                found.add(target)
            todo.append(target)
    return found


def fingerprint_files(tasks: list[str]) -> list[Path]:
    """What decides these tasks' scores: the engine (``grader/**``, less the batch, the CLI, the
    course tooling and the checks), the tasks' checks and recorded public expectations, and every
    reference module those checks import (plus each task's own reference and ``data.py``, which
    the expected values and the workers use)."""
    skip = {HERE / "batch.py", HERE / "cli.py"}
    files = [p for p in HERE.rglob("*.py")
             if p not in skip and not {"course", "checks", "__pycache__"} & set(p.relative_to(HERE).parts[:-1])]
    files += list((HERE / "checks").glob("*.py"))
    checks = []
    for name in tasks:
        checks += BY_NAME[name].check_files()
        expected = HERE / "checks" / "public" / "expected" / f"{name}.json"
        files += [expected] if expected.is_file() else []
        files += [p for p in (SOLUTIONS / f"{name}.py",) if p.is_file()]
    files += checks
    files += [p for p in (SOLUTIONS / "data.py",) if p.is_file()]
    files += sorted(reference_files(checks, PROJECT))
    return sorted(set(files))


def grader_fingerprint(tasks: list[str]) -> str:
    """The grader version plus a hash of ``fingerprint_files(tasks)`` and the environment (editing
    another task's checks changes nothing)."""
    h = hashlib.sha256(GRADER_VERSION.encode())
    for path in fingerprint_files(tasks):
        h.update(str(path.relative_to(PROJECT)).encode() + b"\0" + path.read_bytes())
    h.update(json.dumps(_environment(), sort_keys=True).encode())
    return f"{GRADER_VERSION}+{h.hexdigest()[:16]}"


def _environment() -> dict[str, str]:
    """What else changes a grade: library versions, the time-limit scale, the isolation in force."""
    from importlib import metadata
    versions = {}
    for dist in ("numpy", "torch", "tensorflow-cpu", "tensorflow", "keras", "hypothesis", "pytest"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    from grader.sandbox.isolation import isolation
    return {**versions, "timeout_scale": os.environ.get("BPLAB_TIMEOUT_SCALE", "1"),
            "isolation": isolation().kind}


def make_key(content: str, fingerprint: str, seed: int, tasks: list[str], public_only: bool) -> str:
    doc = json.dumps({"content": content, "grader": fingerprint, "seed": seed, "tasks": tasks,
                      "public_only": public_only}, sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# the grading processes
# ---------------------------------------------------------------------------------------------
_writing = False
_kill_pending = False


def _kill_my_group(*_: Any) -> None:
    """SIGTERM (the batch died or was interrupted): kill this process and its lanes, unless mid-write."""
    global _kill_pending
    if _writing:
        _kill_pending = True
        return
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _init_worker(parent: int) -> None:
    os.setpgrp()  # lanes join this group; Ctrl-C reaches only the batch, which then stops us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _kill_my_group)
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with the batch
    except Exception:
        pass
    if os.getppid() != parent:  # the batch died before we could ask
        os.killpg(os.getpgrp(), signal.SIGKILL)


def _commit(folder: Path, data: dict, feedback: str) -> None:
    """results.json first (it carries the key and makes the result final), then feedback.md. When
    feedback.md cannot be written, results.json goes too: the student is graded again next run."""
    global _writing
    text = json.dumps(data, indent=2) + "\n"  # rendered before anything is written
    _writing = True
    try:
        write_atomic(folder / "results.json", text)
        try:
            write_atomic(folder / "feedback.md", feedback)
        except BaseException:
            (folder / "results.json").unlink(missing_ok=True)
            raise
    finally:
        _writing = False
        if _kill_pending:
            os.killpg(os.getpgrp(), signal.SIGKILL)


def feedback_for(student: str, results: Results, notes: list[str]) -> str:
    text = results.feedback_markdown(student)
    if notes:  # notes name the student's files: Markdown-escaped
        text += "\n" + "\n".join(f"_Note: {_text.md_escape(n, 1000)}_" for n in notes) + "\n"
    return text


def grade_one(job: dict) -> dict:
    """Grade one student's entry and commit its files; never raises (errors come back as a record)."""
    student, path = job["student"], Path(job["path"])
    start = time.monotonic()
    try:
        with submission.load(path) as sub:
            content = content_hash(sub.folder)
            key = make_key(content, job["fingerprint"], job["seed"], job["tasks"], job["public_only"])
            results = runner.grade(sub.folder, tasks=job["tasks"], seed=job["seed"],
                                   public_only=job["public_only"], lanes=job["lanes"], in_process=True,
                                   allow_unsandboxed=job.get("allow_unsandboxed", False))
            notes = [_text.clean_line(n, 1000) for n in sub.notes]
        results.variant = job.get("variant")
        data = results.to_json()
        data["extra_data"]["batch"] = {
            "student": _text.clean_line(student), "source": _text.clean_line(str(path), 4096), "key": key,
            "content_sha256": content,
            "grader": job["fingerprint"], "run_id": job["run_id"], "graded_at": time.time(),
            "notes": notes, "seconds": round(time.monotonic() - start, 2),
            "variant": (job.get("variant") or {}).get("id"),
            "mistakes": sorted({m["id"] for t in results.tests for m in t.mistakes})}
        _commit(Path(job["out"]) / student, data, feedback_for(student, results, notes))
        return {"student": student, "state": "graded", "data": data}
    except submission.SubmissionError as exc:
        return {"student": student, "state": "error", "error": _text.clean(exc, 1000)}
    except Exception as exc:  # costs only this student: an error row, graded again on the next run
        tail = _text.clean(traceback.format_exc()[-1200:], 1200)
        return {"student": student, "state": "grader_error",
                "error": f"{_text.type_name(type(exc).__name__)}: {_text.clean(exc, 1000)}", "trace": tail}


# ---------------------------------------------------------------------------------------------
# gradebook and summary
# ---------------------------------------------------------------------------------------------
def limits_hit(data: dict) -> list[str]:
    """'task: what' for every test whose message says a limit stopped the student's code."""
    hits = []
    for test in data.get("tests", []):
        out = test.get("output") or ""
        for pattern, label in LIMIT_PATTERNS:
            if pattern.search(out):
                hits.append(f"{test.get('task', '?')}: {label}")
                break
    return list(dict.fromkeys(hits))


def status_of(data: dict) -> str:
    errors = data.get("extra_data", {}).get("grader_errors") or []
    if errors:
        first = _text.clean(errors[0], 1000).splitlines() or [""]
        return "grader error (rerun to retry): " + _text.clean_line(first[0], 200)
    def without_retry_notes(test: dict) -> dict:  # a retried crash is not the student's limit
        lines = str(test.get("output", "")).splitlines()
        return {**test, "output": "\n".join(ln for ln in lines if RETRIED not in ln)}

    hits = limits_hit({**data, "tests": [without_retry_notes(t) for t in data.get("tests", [])]})
    status = "graded; limit hit: " + ", ".join(hits) if hits else "graded"
    retried = sorted({t.get("task", "?") for t in data.get("tests", []) if RETRIED in str(t.get("output", ""))})
    return status + (f"; worker crash at start-up retried: {', '.join(retried)}" if retried else "")


RETRIED = "it was started once more"  # the note grader.sandbox.proxy writes after a retried start-up crash


def _one_line(text: str) -> str:
    return " ".join(_text.clean_line(text, 2000).split())[:300]


def gradebook_csv(rows: list[dict], tasks: list[str]) -> str:
    """The gradebook: every text cell one clean line, neutralised for spreadsheets (``csv_cell``:
    a student named ``=HYPERLINK(...)`` stays text); numbers stay numbers."""
    buf = io.StringIO()
    fields = ["student", *tasks, "total", "max", "status"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    safe = [{k: _text.csv_cell(v if isinstance(v, (int, float)) or v is None else _text.clean_line(v, 1000))
             for k, v in row.items()} for row in rows]
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
    try:
        row = gradebook_row(entry.student, Results.from_json(data))
    except Exception as exc:  # a stored result this grader cannot read: that student's row says so
        return {"student": entry.student, "status": "grader error (rerun to retry): unreadable results.json "
                                                    f"({type(exc).__name__}: {_one_line(exc)})"}
    row = {k: v for k, v in row.items() if k in ("student", "total", "max") or k in tasks}
    row["status"] = status_of(data)
    return row


def summarise(entries: list[Entry], states: dict[str, dict], tasks: list[str], skipped: int) -> dict:
    graded = [(e.student, states[e.student]["data"]) for e in entries
              if not e.error and states.get(e.student, {}).get("state") == "graded"]
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
        if not e.error and st and st["state"] != "graded":
            errors[names[e.student]] = _text.clean(st["error"], 1000)
    pending = [names[e.student] for e in entries if not e.error and e.student not in states]
    return {"students": len(entries), "graded": len(graded), "already_graded": skipped,
            "errors": errors, "pending": pending,
            "max_score": max((d["max_score"] for _, d in graded), default=0.0),
            "mean": round(statistics.fmean(totals), 3) if totals else None,
            "median": statistics.median(totals) if totals else None,
            "failures_by_task": failures,
            "limits": {names[s]: limits_hit(d) for s, d in graded if limits_hit(d)},
            "grader_errors": [names[s] for s, d in graded if d.get("extra_data", {}).get("grader_errors")]}


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
    console.print(f"[bold]{s['graded']} of {s['students']} students graded[/bold] "
                  f"({graded_now} now in {seconds:.1f} s, {s['already_graded']} already graded), "
                  f"{len(s['errors'])} not graded, {len(s['pending'])} pending")
    if s["mean"] is not None:
        console.print(f"Total: mean {s['mean']:g}, median {s['median']:g} (of {s['max_score']:g})")
    fails = [f"{t} {v['failed']}" + (f" ({v['zero']} at 0)" if v["zero"] else "")
             for t, v in s["failures_by_task"].items() if v["failed"]]
    console.print("Failures by task: " + (", ".join(fails) if fails else "none"))
    if s["limits"]:
        console.print("Hit a limit: " + escape(_text.clean_line("; ".join(f"{st} ({', '.join(h)})"
                                                                          for st, h in s["limits"].items()), 4000)))
    for student, error in s["errors"].items():
        console.print(f"[red]not graded[/red] {escape(_text.clean_line(student))}: {escape(_one_line(error))}",
                      highlight=False)
    if s["pending"]:
        console.print(f"[yellow]pending[/yellow] (rerun to continue): "
                      + escape(_text.clean_line(", ".join(s["pending"]), 4000)))
    console.print(escape(_text.clean_line(f"Results: {out}/<student>/results.json, feedback.md; "
                                          f"gradebook: {out / 'gradebook.csv'}", 4000)))


# ---------------------------------------------------------------------------------------------
# the batch
# ---------------------------------------------------------------------------------------------
def _clean_stale_temps(out: Path) -> int:
    removed = 0
    for folder in [out, *(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())]:
        for path in folder.iterdir():
            if _TMP_PATTERN.match(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _existing(out: Path, entry: Entry, key: str) -> dict | None:
    """The stored results of ``entry`` if they were graded against ``key`` and are final (None,
    to grade again, when they are not, or cannot be read, or their feedback cannot be rebuilt)."""
    path = out / entry.student / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        batch = data.get("extra_data", {}).get("batch", {})
        if batch.get("key") != key or data.get("extra_data", {}).get("grader_errors"):
            return None
        feedback = out / entry.student / "feedback.md"
        if not feedback.exists() or feedback.stat().st_mtime < path.stat().st_mtime:
            write_atomic(feedback, feedback_for(entry.student, Results.from_json(data), batch.get("notes", [])))
        return data
    except Exception:  # whatever is wrong with one stored result costs only its student a regrade
        return None


class _Progress:
    """A rich progress bar (done/total, rate, time left), or nothing in quiet mode."""

    def __init__(self, total: int, quiet: bool, skipped: int):
        self.bar = None
        if quiet or total == 0:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):  # submissions per minute since the start
                elapsed = task.finished_time if task.finished else task.elapsed
                if not elapsed or not task.completed:
                    return Text("-- /min", style="progress.data.speed")
                return Text(f"{task.completed / elapsed * 60:.1f}/min", style="progress.data.speed")

        self.bar = Progress(TextColumn("[bold]grading[/bold]"), BarColumn(), MofNCompleteColumn(), Rate(),
                            TextColumn("left"), TimeRemainingColumn(), TextColumn("elapsed"), TimeElapsedColumn(),
                            TextColumn("{task.fields[last]}"), console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task("grading", total=total,
                                      last=f"({skipped} already graded)" if skipped else "")
        self.bar.start()

    def advance(self, last: str) -> None:
        if self.bar:
            self.bar.update(self.task, advance=1, last=escape(_text.clean_line(last, 40)))

    def stop(self) -> None:
        if self.bar:
            self.bar.stop()


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM to the batch: stop like Ctrl-C (finished results are kept)


def _choose_workers(requested: int | None, jobs: int) -> tuple[int, int]:
    cores = os.cpu_count() or 1
    workers = max(1, requested or cores)
    workers = max(1, min(workers, jobs)) if jobs else 1
    lanes = max(1, cores // workers)
    return workers, lanes


def run(paths: list[Path], out: Path, *, batch: bool = True, seed: int = runner.DEFAULT_SEED,
        tasks: list[str] | None = None, public_only: bool = False, workers: int | None = None,
        force: bool = False, quiet: bool = False, summary_json: Path | None = None,
        nbgrader: bool = False, allow_unsandboxed: bool = False, variant_key: bytes | None = None) -> int:
    from rich.console import Console
    console = Console(quiet=quiet, highlight=False)
    err = Console(stderr=True, highlight=False)
    tasks = sorted(tasks or [t.name for t in TASKS], key=lambda n: BY_NAME[n].number)
    out = Path(out)
    if out.exists() and not out.is_dir():
        err.print(f"grade: --out {out} is not a folder")
        return USAGE_ERROR
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / LOCK_NAME, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        err.print(f"grade: another batch is writing to {out}; wait for it or use another --out")
        return USAGE_ERROR
    try:
        return _run_locked(paths, out, batch, seed, tasks, public_only, workers, force, quiet,
                           summary_json, console, err, nbgrader, allow_unsandboxed, variant_key)
    finally:
        lock.close()


def _run_locked(paths, out, batch, seed, tasks, public_only, workers, force, quiet, summary_json,
                console, err, nbgrader=False, allow_unsandboxed=False, variant_key=None) -> int:
    started = time.monotonic()
    removed = _clean_stale_temps(out)
    entries, notes = discover(paths, batch, out, nbgrader)
    if not entries:
        err.print(escape(_text.clean_line(f"grade: no submissions found in {', '.join(map(str, paths))}", 4000)))
        return USAGE_ERROR
    for note in notes:
        console.print(f"note: {escape(_text.clean_line(note, 4000))}")
    if removed:
        console.print(f"note: removed {removed} unfinished temporary file(s) of an interrupted batch")
    fingerprint = grader_fingerprint(tasks)
    states: dict[str, dict] = {}
    todo: list[Entry] = []
    skipped = 0
    # --variants: each student's own seed (a keyed hash of the key, the assignment and the entry's name)
    variants = {e.student: runner.variant_for(variant_key, e.student) for e in entries} if variant_key else {}

    def seed_of(student: str) -> int:
        return variants[student].seed if student in variants else seed
    for entry in entries:
        if entry.error:
            continue
        try:  # cheap: unpack / convert and hash, to decide whether it is already graded
            with submission.load(entry.path) as sub:
                entry.content = content_hash(sub.folder)
        except submission.SubmissionError as exc:
            entry.error = str(exc)
            continue
        except Exception as exc:  # whatever else a strange entry does costs only that entry
            entry.error = f"cannot be read as a submission ({type(exc).__name__}: {str(exc)[:200]})"
            continue
        entry.key = make_key(entry.content, fingerprint, seed_of(entry.student), tasks, public_only)
        done = None if force else _existing(out, entry, entry.key)
        if done is not None:
            states[entry.student] = {"student": entry.student, "state": "graded", "data": done}
            skipped += 1
        else:
            todo.append(entry)
    n_workers, lanes = _choose_workers(workers, len(todo))
    run_id = uuid.uuid4().hex[:12]
    by_student = {e.student: e for e in entries}

    def write_gradebook() -> None:
        rows = [row_for(e, states.get(e.student), tasks) for e in entries]
        write_atomic(out / "gradebook.csv", gradebook_csv(rows, tasks))

    write_gradebook()
    progress = _Progress(len(todo), quiet, skipped)
    graded_now = 0
    interrupted = False
    last_book = time.monotonic()
    jobs = {e.student: {"student": e.student, "path": str(e.path), "out": str(out), "seed": seed_of(e.student),
                        "tasks": tasks, "public_only": public_only, "lanes": lanes, "allow_unsandboxed": allow_unsandboxed,
                        "fingerprint": fingerprint, "run_id": run_id, "attempt": 0,
                        "variant": variants[e.student].record() if e.student in variants else None} for e in todo}
    previous_term = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _interrupt)
    pool = None
    try:
        pending = list(jobs)
        while pending:
            ctx = multiprocessing.get_context("spawn")
            # workers run their lane in-process: give them what a lane process gets
            os.environ.update({k: v for k, v in runner.lane_env().items()
                               if k.startswith(("BPLAB_ISOLATION", "OMP_", "MKL_", "OPENBLAS_", "TF_CPP", "PYTHONHASHSEED"))})
            pool = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx,
                                          initializer=_init_worker, initargs=(os.getpid(),))
            futures = {pool.submit(grade_one, jobs[s]): s for s in pending}
            pending = []
            for fut in cf.as_completed(futures):
                student = futures[fut]
                try:
                    state = fut.result()
                except cf.process.BrokenProcessPool:
                    jobs[student]["attempt"] += 1
                    if jobs[student]["attempt"] < 2:
                        pending.append(student)  # the pool broke (killed from outside?): retry once
                        continue
                    state = {"student": student, "state": "grader_error",
                             "error": "the grading process died (killed from outside?)"}
                states[student] = state
                if state["state"] == "graded":
                    graded_now += 1
                    if not quiet and state["data"].get("extra_data", {}).get("grader_errors"):
                        err.print(escape(_text.clean_line(f"grader error for {student}: "
                                                          f"{state['data']['extra_data']['grader_errors'][0]}", 300)))
                elif state["state"] == "error":
                    by_student[student].error = state["error"]
                else:
                    err.print(f"[red]grader error[/red] for {escape(_text.clean_line(student))}: "
                              f"{escape(_text.clean(state['error']))}\n{escape(_text.clean(state.get('trace', '')))}")
                label = f"{student}: {state['data']['score']:g}" if state["state"] == "graded" else f"{student}: error"
                progress.advance(label)
                if time.monotonic() - last_book > 1.0:
                    write_gradebook()
                    last_book = time.monotonic()
            pool.shutdown(wait=True)
            pool = None
    except KeyboardInterrupt:
        interrupted = True
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):
                try:
                    os.kill(proc.pid, signal.SIGTERM)  # each kills its own group (lanes) at once
                except (ProcessLookupError, PermissionError):
                    pass
            pool.shutdown(wait=False, cancel_futures=True)
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        progress.stop()
    # the gradebook of record: rebuilt from the files on disk
    for entry in entries:
        st = states.get(entry.student)
        if st and st["state"] == "graded":
            try:
                st["data"] = json.loads((out / entry.student / "results.json").read_text())
            except (OSError, ValueError):
                states.pop(entry.student)
    write_gradebook()
    summary = summarise(entries, states, tasks, skipped)
    summary.update(seconds=round(time.monotonic() - started, 2), workers=n_workers, lanes_per_submission=lanes,
                   graded_now=graded_now, seed=seed, tasks=tasks, public_only=public_only,
                   grader=fingerprint, interrupted=interrupted,
                   variants={"assignment": runner.VARIANT_ASSIGNMENT} if variant_key else None,
                   mistakes=mistake_counts(entries, states))
    text = json.dumps(summary, indent=2) + "\n"
    write_atomic(out / "summary.json", text)
    if summary_json:
        write_atomic(Path(summary_json), text)
    print_summary(summary, out, time.monotonic() - started, graded_now, console)
    if not interrupted:
        _write_report(out, console, err)
    if interrupted:
        err.print("interrupted: finished results are kept; rerun the same command to grade the rest")
        return 130
    return 0


REPORT_TIMEOUT = 3600  # seconds for report.html of a large class (its code similarity is quadratic)


def _write_report(out: Path, console, err) -> None:
    """``report.html``, built by the course tooling in a process of its own (``course report RESULTS``,
    from the files on disk): the engine imports none of the instructor tooling, and a report that
    cannot be built (tooling not installed, as in the student bundle) costs only itself, never the batch."""
    env = dict(os.environ)
    here = str(PROJECT)  # this very copy of the grader
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run([sys.executable, "-m", "grader.course.cli", "report", str(out)], capture_output=True,
                              text=True, errors="replace", timeout=REPORT_TIMEOUT, env=env)
    except KeyboardInterrupt:  # every result is written already
        err.print("note: report.html not written (interrupted); `course report` builds it from the results")
        return
    except (OSError, subprocess.SubprocessError) as exc:
        proc = subprocess.CompletedProcess([], 1, "", f"{type(exc).__name__}: {exc}")
    if proc.returncode == 0:
        console.print(escape(_text.clean_line(f"Class report: {out / 'report.html'}", 4000)))
    else:
        why = (proc.stderr.strip().splitlines() or ["no reason given"])[-1]
        err.print(escape(_text.clean_line(f"note: report.html not written ({why})", 1000)))


def main(args: argparse.Namespace, seed: int) -> int:
    """Entry point from ``grade`` (``grader.cli``): batch mode with the parsed arguments."""
    if getattr(args, "feedback", None):
        print("note: --feedback is ignored in batch mode (each student gets RESULTS_DIR/<student>/feedback.md)",
              file=sys.stderr)
    return run(list(args.paths), args.out, batch=bool(args.batch), seed=seed, tasks=args.task,
               public_only=bool(args.public), workers=args.workers, force=bool(args.force),
               quiet=bool(args.quiet), summary_json=getattr(args, "json", None),
               nbgrader=bool(getattr(args, "nbgrader", False)),
               allow_unsandboxed=bool(getattr(args, "allow_unsandboxed", False)),
               variant_key=getattr(args, "variant_key", None))
