"""The batch itself (its driver): discover, skip what is graded, grade the rest in parallel, rebuild the files."""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import fcntl
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from rich.markup import escape

from grader import runner, submission
from grader import text as _text
from grader.batch.gradebook import gradebook_csv, mistake_counts, print_summary, row_for, summarise
from grader.batch.grading import grade_one, init_worker
from grader.batch.intake import Entry, discover
from grader.batch.keys import PROJECT, content_hash, grader_fingerprint, make_key
from grader.options import GradeOptions
from grader.results import Results, write_atomic
from grader.rubric import BY_NAME, TASKS
from grader.sandbox.isolation import isolation

USAGE_ERROR = 2
LOCK_NAME = ".batch.lock"
_TMP_PATTERN = re.compile(r"^\.(results\.json|feedback\.md|gradebook\.csv|summary\.json)\..*\.tmp$")


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
            write_atomic(feedback, Results.from_json(data).feedback_markdown(entry.student))
        return data
    except Exception:  # whatever is wrong with one stored result costs only its student a regrade
        return None


def _previous(out: Path, entry: Entry) -> dict | None:
    """The results an earlier run stored for ``entry`` (any options), if readable: the gradebook
    shows them, marked as such, until this run regrades the student."""
    try:
        data = json.loads((out / entry.student / "results.json").read_text(encoding="utf-8"))
        Results.from_json(data)
        return data
    except Exception:
        return None


class _Progress:
    """A rich progress bar (done/total, rate, time left), or nothing in quiet mode."""

    def __init__(self, total: int, quiet: bool, skipped: int):
        self.bar = None
        if quiet or total == 0:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):  # submissions per minute since the start
                elapsed = task.finished_time if task.finished else task.elapsed
                if not elapsed or not task.completed:
                    return Text("-- /min", style="progress.data.speed")
                return Text(f"{task.completed / elapsed * 60:.1f}/min", style="progress.data.speed")

        self.bar = Progress(
            TextColumn("[bold]grading[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.bar.add_task("grading", total=total, last=f"({skipped} already graded)" if skipped else "")
        self.bar.start()

    def advance(self, last: str) -> None:
        if self.bar:
            self.bar.update(self.task, advance=1, last=escape(_text.clean_line(last, 40)))

    def stop(self) -> None:
        if self.bar:
            self.bar.stop()


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM to the batch: stop like Ctrl-C (finished results are kept)


def default_workers(jobs: int) -> int:
    """One grading process per core, and one more when at least 8 students per core are left to grade.

    A grading process and its worker take turns on one core, and now and then both wait (a worker's
    move into its cgroups waits for an RCU grace period, TensorFlow hands ops between threads): with
    one process per core about a tenth of the machine stood idle. The extra process fills those gaps,
    but its own start (its templates' imports) costs more than it saves in a small class."""
    cores = os.cpu_count() or 1
    return cores + 1 if jobs >= 8 * cores else cores


def _choose_workers(requested: int | None, jobs: int) -> tuple[int, int]:
    cores = os.cpu_count() or 1
    workers = max(1, requested or default_workers(jobs))
    workers = max(1, min(workers, jobs)) if jobs else 1
    lanes = max(1, cores // workers)
    return workers, lanes


def run(
    paths: list[Path],
    out: Path,
    options: GradeOptions | None = None,
    *,
    batch: bool = True,
    workers: int | None = None,
    force: bool = False,
    quiet: bool = False,
    summary_json: Path | None = None,
    nbgrader: bool = False,
    variant_key: bytes | None = None,
    assignment: str | None = None,
    report: bool = True,
) -> int:
    """Grade a class: every entry of ``paths`` (a folder of students with ``batch``) with ``options``
    (each student's own seed with ``variant_key``), results under ``out``; see the module doc.
    ``report=False`` skips the class report (report.html; ``course report`` builds it later)."""
    options = options or GradeOptions()
    from rich.console import Console

    console = Console(quiet=quiet, highlight=False)
    err = Console(stderr=True, highlight=False)
    tasks = sorted(options.tasks or [t.name for t in TASKS], key=lambda n: BY_NAME[n].number)
    options = options.replace(tasks=tuple(tasks))
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
        return _run_locked(
            paths,
            out,
            batch,
            options,
            workers,
            force,
            quiet,
            summary_json,
            console,
            err,
            nbgrader,
            variant_key,
            assignment,
            report,
        )
    finally:
        lock.close()


def _run_locked(
    paths,
    out,
    batch,
    options: GradeOptions,
    workers,
    force,
    quiet,
    summary_json,
    console,
    err,
    nbgrader=False,
    variant_key=None,
    assignment=None,
    report=True,
) -> int:
    started = time.monotonic()
    seed, tasks, public_only = options.seed, list(options.tasks), options.public_only
    removed = _clean_stale_temps(out)
    entries, notes = discover(paths, batch, out, nbgrader, assignment)
    if not entries:
        err.print(escape(_text.clean_line(f"grade: no submissions found in {', '.join(map(str, paths))}", 4000)))
        return USAGE_ERROR
    for note in notes:
        console.print(f"note: {escape(_text.clean_line(note, 4000))}")
    if removed:
        console.print(f"note: removed {removed} unfinished temporary file(s) of an interrupted batch")
    fingerprint = grader_fingerprint(tasks, options)
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
            earlier = _previous(out, entry)
            if earlier is not None:  # listed until regraded, so a killed rerun never blanks a row
                states[entry.student] = {"student": entry.student, "state": "previous", "data": earlier}
    n_workers, lanes = _choose_workers(workers, len(todo))
    if options.worker_start == "auto":  # templates pay off in a grading process that keeps them: one lane in it
        options = options.replace(worker_start="template" if lanes == 1 else "fresh")
    run_id = uuid.uuid4().hex[:12]
    by_student = {e.student: e for e in entries}

    def write_gradebook() -> None:
        rows = [row_for(e, states.get(e.student), tasks) for e in entries]
        write_atomic(out / "gradebook.csv", gradebook_csv(rows, tasks))

    write_gradebook()
    progress = _Progress(len(todo), quiet, skipped)
    graded_now = 0
    warm_seconds: list[float] = []  # this run's grades by grading processes past their first submission
    interrupted = False
    last_book = time.monotonic()
    jobs = {
        e.student: {
            "student": e.student,
            "path": str(e.path),
            "out": str(out),
            "options": dataclasses.asdict(options.replace(seed=seed_of(e.student))),
            "lanes": lanes,
            "fingerprint": fingerprint,
            "run_id": run_id,
            "attempt": 0,
            "variant": variants[e.student].record() if e.student in variants else None,
        }
        for e in todo
    }
    previous_term = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _interrupt)
    pool = None
    # the grading processes run their lane in-process: they get what a lane process gets, from this
    # process's environment at spawn time (thread counts must be set before numpy loads); restored after
    handed = {
        k: v
        for k, v in runner.lane_env(isolation(options.sandbox)).items()
        if k.startswith(("BPLAB_ISOLATION", "OMP_", "MKL_", "OPENBLAS_", "TF_CPP", "PYTHONHASHSEED"))
    }
    saved_env = {k: os.environ.get(k) for k in handed}
    os.environ.update(handed)
    try:
        pending = list(jobs)
        while pending:
            ctx = multiprocessing.get_context("spawn")
            pool = cf.ProcessPoolExecutor(
                max_workers=n_workers, mp_context=ctx, initializer=init_worker, initargs=(os.getpid(),)
            )
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
                    state = {
                        "student": student,
                        "state": "grader_error",
                        "error": "the grading process died (killed from outside?)",
                    }
                states[student] = state
                if state["state"] == "graded":
                    graded_now += 1
                    batch_info = state["data"].get("extra_data", {}).get("batch", {})
                    if batch_info.get("warm"):
                        warm_seconds.append(float(batch_info.get("seconds", 0.0)))
                    if not quiet and state["data"].get("extra_data", {}).get("grader_errors"):
                        err.print(
                            escape(
                                _text.clean_line(
                                    f"grader error for {student}: {state['data']['extra_data']['grader_errors'][0]}",
                                    300,
                                )
                            )
                        )
                elif state["state"] == "error":
                    by_student[student].error = state["error"]
                else:
                    err.print(
                        f"[red]grader error[/red] for {escape(_text.clean_line(student))}: "
                        f"{escape(_text.clean(state['error']))}\n{escape(_text.clean(state.get('trace', '')))}"
                    )
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
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
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
    summary.update(
        seconds=round(time.monotonic() - started, 2),
        workers=n_workers,
        lanes_per_submission=lanes,
        graded_now=graded_now,
        seed=seed,
        tasks=tasks,
        public_only=public_only,
        grader=fingerprint,
        interrupted=interrupted,
        variants={"assignment": runner.VARIANT_ASSIGNMENT} if variant_key else None,
        mistakes=mistake_counts(entries, states),
        # the rate of a long batch, its start-up left out: the mean grade of a grading process past its first
        # submission, n_workers of them at work at once; None until some process graded a second submission
        steady_seconds_per_student=round(statistics.fmean(warm_seconds) / n_workers, 2) if warm_seconds else None,
    )
    text = json.dumps(summary, indent=2) + "\n"
    write_atomic(out / "summary.json", text)
    if summary_json:
        write_atomic(Path(summary_json), text)
    print_summary(summary, out, time.monotonic() - started, graded_now, console)
    if not interrupted and report:
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
        proc = subprocess.run(
            [sys.executable, "-m", "grader.course.cli", "report", str(out)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=REPORT_TIMEOUT,
            env=env,
        )
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


def main(args: argparse.Namespace, options: GradeOptions) -> int:
    """Entry point from ``grade`` (``grader.cli``): batch mode with the parsed arguments."""
    if getattr(args, "feedback", None):
        print(
            "note: --feedback is ignored in batch mode (each student gets RESULTS_DIR/<student>/feedback.md)",
            file=sys.stderr,
        )
    return run(
        list(args.paths),
        args.out,
        options,
        batch=bool(args.batch),
        workers=args.workers,
        force=bool(args.force),
        quiet=bool(args.quiet),
        summary_json=getattr(args, "json", None),
        nbgrader=bool(getattr(args, "nbgrader", False)),
        variant_key=getattr(args, "variant_key", None),
        assignment=getattr(args, "assignment", None),
    )
