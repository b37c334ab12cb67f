"""Grade a whole class: one student per entry, in parallel, resumable, every file written atomically.

``grade SUBMISSIONS_DIR --batch --out RESULTS_DIR`` (or ``grade a/ b.zip c/ --out RESULTS_DIR``).
Entries are folders, ``.zip`` files, or an nbgrader course tree (``submitted/<student>/<assignment>/``,
detected; ``BPLAB_ASSIGNMENT=<name>`` picks the assignment when students have several). Each
student gets ``RESULTS_DIR/<student>/results.json`` (Gradescope format, with the resume key in
``extra_data.batch``) and ``feedback.md``; ``RESULTS_DIR/gradebook.csv`` and ``summary.json``
are rebuilt from the per-student results.

Resuming: the key of a result is a hash of the normalised submission content, the grader's own
code and checks, the seed and the options; a rerun skips every student whose stored key matches
(``--force`` regrades). A result is written (temp file + rename) by the process that graded it, the
moment it exists, so killing the batch, even with SIGKILL, loses at most the submissions in flight.

Processes: the batch runs ``--workers`` grading processes (default: the core count), each in its
own process group that dies with the batch; each grades one submission at a time with
``cores // workers`` lanes (``grader.runner``), so the machine is never oversubscribed.
"""
from __future__ import annotations

import argparse
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
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from rich.markup import escape

from grader import runner, submission
from grader.results import GRADER_VERSION, Results, gradebook_row, write_atomic
from grader.rubric import BY_NAME, TASKS

USAGE_ERROR = 2
RESERVED = {"gradebook.csv", "summary.json"}
SKIP_NAMES = {"__MACOSX", "__pycache__", "Thumbs.db", "desktop.ini"}
LOCK_NAME = ".batch.lock"
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


def _nbgrader_root(folder: Path) -> Path | None:
    """``folder/submitted`` of an nbgrader course folder, or ``folder`` itself when it is one."""
    if folder.name == "submitted":
        return folder
    sub = folder / "submitted"
    if sub.is_dir() and not sub.is_symlink():
        return sub
    return None


def _nbgrader_entry(student_dir: Path) -> Path:
    """The assignment folder of one student in an nbgrader tree (BPLAB_ASSIGNMENT picks one)."""
    wanted = os.environ.get("BPLAB_ASSIGNMENT")
    if wanted:
        chosen = student_dir / wanted
        if not chosen.is_dir():
            raise submission.SubmissionError(f"no folder {wanted!r} (BPLAB_ASSIGNMENT) in {student_dir}")
        return chosen
    return student_dir  # submission.load finds the single assignment folder one level down


def discover(paths: list[Path], batch: bool, out: Path) -> tuple[list[Entry], list[str]]:
    """The class: one Entry per student (with an error for entries that cannot be graded)."""
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
        root, nb = path, _nbgrader_root(path)
        if nb is not None:
            root = nb
            notes.append(f"{path}: nbgrader course folder, grading {nb}/<student>/<assignment>/")
        for child in sorted(root.iterdir()):
            if child.name.startswith(".") or child.name in SKIP_NAMES:
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


def grader_fingerprint(tasks: list[str]) -> str:
    """The grader version plus a hash of what decides these tasks' scores: the engine, the tasks'
    checks and the reference modules those checks use (editing another task's checks changes nothing)."""
    h = hashlib.sha256(GRADER_VERSION.encode())
    files = [p for p in HERE.glob("*.py") if p.name not in ("batch.py", "cli.py")]
    files += [p for p in (HERE / "checks").glob("*.py")]
    used = {"data"}
    for name in tasks:
        used.add(name)
        for check in BY_NAME[name].check_files():
            files.append(check)
            text = check.read_text(errors="replace")
            used |= set(re.findall(r"\bsolutions\.(\w+)", text))
            for group in re.findall(r"from\s+solutions\s+import\s+\(?([\w\s,]+)", text):
                used |= {w.split()[0] for w in group.split(",") if w.strip()}
    solutions = HERE.parent / "solutions"
    files += [solutions / f"{m}.py" for m in used if (solutions / f"{m}.py").is_file()]
    for path in sorted(set(files)):
        h.update(str(path.relative_to(HERE.parent)).encode() + b"\0" + path.read_bytes())
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
    """results.json first (it carries the key and makes the result final), then feedback.md."""
    global _writing
    _writing = True
    try:
        write_atomic(folder / "results.json", json.dumps(data, indent=2) + "\n")
        write_atomic(folder / "feedback.md", feedback)
    finally:
        _writing = False
        if _kill_pending:
            os.killpg(os.getpgrp(), signal.SIGKILL)


def feedback_for(student: str, results: Results, notes: list[str]) -> str:
    text = results.feedback_markdown(student)
    if notes:
        text += "\n" + "\n".join(f"_Note: {n}_" for n in notes) + "\n"
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
                                   public_only=job["public_only"], lanes=job["lanes"], in_process=True)
            notes = list(sub.notes)
        data = results.to_json()
        data["extra_data"]["batch"] = {
            "student": student, "source": str(path), "key": key, "content_sha256": content,
            "grader": job["fingerprint"], "run_id": job["run_id"], "graded_at": time.time(),
            "notes": notes, "seconds": round(time.monotonic() - start, 2)}
        _commit(Path(job["out"]) / student, data, feedback_for(student, results, notes))
        return {"student": student, "state": "graded", "data": data}
    except submission.SubmissionError as exc:
        return {"student": student, "state": "error", "error": str(exc)}
    except Exception as exc:
        tail = traceback.format_exc()[-1200:]
        return {"student": student, "state": "grader_error", "error": f"{type(exc).__name__}: {exc}", "trace": tail}


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
        return "grader error (rerun to retry): " + errors[0].splitlines()[0][:200]
    hits = limits_hit(data)
    return "graded; limit hit: " + ", ".join(hits) if hits else "graded"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def gradebook_csv(rows: list[dict], tasks: list[str]) -> str:
    buf = io.StringIO()
    fields = ["student", *tasks, "total", "max", "status"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r["student"]):
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
    row = gradebook_row(entry.student, Results.from_json(data))
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
    errors = {e.student: e.error for e in entries if e.error}
    for e in entries:
        st = states.get(e.student)
        if not e.error and st and st["state"] != "graded":
            errors[e.student] = st["error"]
    pending = [e.student for e in entries if not e.error and e.student not in states]
    return {"students": len(entries), "graded": len(graded), "already_graded": skipped,
            "errors": errors, "pending": pending,
            "max_score": max((d["max_score"] for _, d in graded), default=0.0),
            "mean": round(statistics.fmean(totals), 3) if totals else None,
            "median": statistics.median(totals) if totals else None,
            "failures_by_task": failures,
            "limits": {s: limits_hit(d) for s, d in graded if limits_hit(d)},
            "grader_errors": [s for s, d in graded if d.get("extra_data", {}).get("grader_errors")]}


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
        console.print("Hit a limit: " + escape("; ".join(f"{st} ({', '.join(h)})" for st, h in s["limits"].items())))
    for student, error in s["errors"].items():
        console.print(f"[red]not graded[/red] {escape(student)}: {escape(_one_line(error))}", highlight=False)
    if s["pending"]:
        console.print(f"[yellow]pending[/yellow] (rerun to continue): {', '.join(s['pending'])}")
    console.print(f"Results: {out}/<student>/results.json, feedback.md; gradebook: {out / 'gradebook.csv'}")


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
    """The stored results of ``entry`` if they were graded against ``key`` and are final."""
    path = out / entry.student / "results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    batch = data.get("extra_data", {}).get("batch", {})
    if batch.get("key") != key or data.get("extra_data", {}).get("grader_errors"):
        return None
    feedback = out / entry.student / "feedback.md"
    if not feedback.exists() or feedback.stat().st_mtime < path.stat().st_mtime:
        write_atomic(feedback, feedback_for(entry.student, Results.from_json(data), batch.get("notes", [])))
    return data


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
            self.bar.update(self.task, advance=1, last=escape(last[:40]))

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
        force: bool = False, quiet: bool = False, summary_json: Path | None = None) -> int:
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
                           summary_json, console, err)
    finally:
        lock.close()


def _run_locked(paths, out, batch, seed, tasks, public_only, workers, force, quiet, summary_json,
                console, err) -> int:
    started = time.monotonic()
    removed = _clean_stale_temps(out)
    entries, notes = discover(paths, batch, out)
    if not entries:
        err.print(f"grade: no submissions found in {', '.join(map(str, paths))}")
        return USAGE_ERROR
    for note in notes:
        console.print(f"note: {escape(note)}")
    if removed:
        console.print(f"note: removed {removed} unfinished temporary file(s) of an interrupted batch")
    fingerprint = grader_fingerprint(tasks)
    states: dict[str, dict] = {}
    todo: list[Entry] = []
    skipped = 0
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
        entry.key = make_key(entry.content, fingerprint, seed, tasks, public_only)
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
    jobs = {e.student: {"student": e.student, "path": str(e.path), "out": str(out), "seed": seed,
                        "tasks": tasks, "public_only": public_only, "lanes": lanes,
                        "fingerprint": fingerprint, "run_id": run_id, "attempt": 0} for e in todo}
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
                        err.print(escape(f"grader error for {student}: {state['data']['extra_data']['grader_errors'][0][:300]}"))
                elif state["state"] == "error":
                    by_student[student].error = state["error"]
                else:
                    err.print(f"[red]grader error[/red] for {escape(student)}: {escape(state['error'])}\n{escape(state.get('trace', ''))}")
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
                   grader=fingerprint, interrupted=interrupted)
    text = json.dumps(summary, indent=2) + "\n"
    write_atomic(out / "summary.json", text)
    if summary_json:
        write_atomic(Path(summary_json), text)
    print_summary(summary, out, time.monotonic() - started, graded_now, console)
    if interrupted:
        err.print("interrupted: finished results are kept; rerun the same command to grade the rest")
        return 130
    return 0


def main(args: argparse.Namespace, seed: int) -> int:
    """Entry point from ``grade`` (``grader.cli``): batch mode with the parsed arguments."""
    if getattr(args, "feedback", None):
        print("note: --feedback is ignored in batch mode (each student gets RESULTS_DIR/<student>/feedback.md)",
              file=sys.stderr)
    return run(list(args.paths), args.out, batch=bool(args.batch), seed=seed, tasks=args.task,
               public_only=bool(args.public), workers=args.workers, force=bool(args.force),
               quiet=bool(args.quiet), summary_json=getattr(args, "json", None))
