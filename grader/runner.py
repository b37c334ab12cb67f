"""Grade one submission: spread its tasks over parallel trusted lanes, merge the outcomes.

Each lane is a ``python -m grader.lane`` process running pytest over the checks of its tasks;
each task gets its own untrusted worker. Heavy tasks (PyTorch, Keras) go first to the least
loaded lane, so with two cores the Keras task runs beside everything else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.options import DEFAULT_SEED, GradeOptions
from grader.results import Results, TestResult
from grader.rubric import BY_NAME, TASKS, Task
from grader.sandbox import template
from grader.sandbox.isolation import Isolation, die_with_parent, isolation_env, require

__all__ = ["DEFAULT_SEED", "GradeOptions", "grade", "isolation_line", "variant_for", "read_variant_key"]
VARIANT_ASSIGNMENT = "backprop-lab"  # what a variant is of, with the key and the student
MIN_KEY_BYTES = 16


class VariantKeyError(ValueError):
    """The variants key file is missing, unreadable or too short."""


@dataclasses.dataclass(frozen=True)
class Variant:
    """A student's own hidden inputs: ``seed`` = HMAC-SHA256(key, assignment, student), first 31 bits."""

    student: str
    assignment: str
    seed: int
    id: str  # 12 hex digits of the same HMAC, after the seed's bits: names the variant, reveals nothing of the key

    def record(self) -> dict:
        """What the results say about the variant (never the key)."""
        from grader.text import clean_line

        return {"id": self.id, "seed": self.seed, "student": clean_line(self.student), "assignment": self.assignment}


def read_variant_key(path: Path) -> bytes:
    """The secret of ``--variants KEYFILE``: the file's bytes, surrounding whitespace stripped."""
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise VariantKeyError(f"cannot read the variants key {path}: {exc.strerror or exc}") from None
    if len(key) < MIN_KEY_BYTES:
        raise VariantKeyError(
            f"the variants key {path} holds {len(key)} bytes; use at least {MIN_KEY_BYTES} random "
            f'bytes, e.g. python -c "import secrets; print(secrets.token_hex(32))" > {path}'
        )
    return key


def variant_for(key: bytes, student: str, assignment: str = VARIANT_ASSIGNMENT) -> Variant:
    """The variant of ``student``: the same key, assignment and name give the same seed (a regrade is
    identical); another student, or another key (next term), gives other hidden inputs."""
    message = json.dumps(["backprop-lab variant 1", assignment, student]).encode("ascii")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    seed = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
    return Variant(student=student, assignment=assignment, seed=seed, id=digest[4:10].hex())


def plan_lanes(tasks: list[Task], lanes: int) -> list[list[Task]]:
    """Greedy longest-first assignment of tasks to at most ``lanes`` lanes (deterministic)."""
    buckets: list[tuple[float, list[Task]]] = [(0.0, []) for _ in range(max(1, min(lanes, len(tasks))))]
    for task in sorted(tasks, key=lambda t: (-t.cost, t.number)):
        i = min(range(len(buckets)), key=lambda k: (buckets[k][0], k))
        load, members = buckets[i]
        buckets[i] = (load + task.cost, members + [task])
    return [sorted(m, key=lambda t: t.number) for _, m in buckets if m]


def lane_env(iso: Isolation) -> dict[str, str]:
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)  # the lanes use this very copy of the grader
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(isolation_env(iso))
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _run_lane(submission: Path, tasks: list[Task], options: GradeOptions, iso: Isolation, tmp: Path) -> dict:
    out = tmp / f"lane-{tasks[0].name}.json"
    log = tmp / f"lane-{tasks[0].name}.log"
    cmd = [
        sys.executable,
        "-m",
        "grader.lane",
        "--submission",
        str(submission),
        "--tasks",
        ",".join(t.name for t in tasks),
        *options.lane_args(),
        "--out",
        str(out),
        "--progress",
        str(tmp / f"lane-{tasks[0].name}.progress"),
    ]
    budget = 120 + sum(60 * t.limits.scaled(options.timeout_scale).call_timeout for t in tasks)
    with open(log, "wb") as fh:
        try:
            code = subprocess.run(
                cmd,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=lane_env(iso),
                timeout=budget,
                cwd=tmp,
                preexec_fn=die_with_parent,  # a lane dies with its grading process
            ).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if out.exists():
        return _checked(json.loads(out.read_text()), lambda: log.read_text(errors="replace"))
    tail = log.read_text(errors="replace")[-800:]
    return {"lane_error": f"grading process ended ({code}) before writing results: {tail}"}


def _run_lane_here(submission: Path, tasks: list[Task], options: GradeOptions) -> dict:
    """The lane in this very process (a trusted grading process that grades one student after
    another, as batch workers do): pytest, the checks and the reference are imported once."""
    from grader import lane

    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
        report = lane.run(submission, [t.name for t in tasks], options)
    return _checked(report, chatter.getvalue)


def _checked(report: dict, output) -> dict:
    """A lane report, or a lane error when pytest itself could not run the checks."""
    if report.get("pytest_exit") in (2, 3, 4):  # interrupted, internal error, usage error
        first = "".join(f"{e}; " for e in report.get("collect_errors", [])[:3])  # what the task rows show
        return {
            "lane_error": f"the checks could not run (pytest exit {report['pytest_exit']}): {first}{output()[-1500:]}"
        }
    return report


def isolation_line(options: GradeOptions) -> str:
    """What the results say about the isolation; raises SandboxUnavailable when grading must not
    run: without bubblewrap, only a local check of public checks or an explicit opt-in may."""
    return _isolation(options)[1]


def _isolation(options: GradeOptions) -> tuple[Isolation, str]:
    iso = require(options.allow_unsandboxed or options.public_only, sandbox=options.sandbox)
    if iso.sandboxed and options.worker_start == "template":
        why = template.unavailable(iso)
        return iso, iso.description + (
            f"; fresh workers (no template: {why})"
            if why
            else "; each worker forked from a template that imported its libraries (numpy; torch; keras) into "
            "namespaces, a scratch, a uid and a cgroup of its own"
        )
    if iso.sandboxed:
        return iso, iso.description
    if options.public_only and not options.allow_unsandboxed:
        return iso, (
            f"local check without a sandbox ({iso.problem}): the code runs as you, on your machine, "
            f"which is fine for checking your own work"
        )
    return iso, f"{iso.description} [unsandboxed grading opted in with --allow-unsandboxed]"


class _Progress:
    """Per task: checks collected and finished, read from the lanes' progress files (one JSON
    line per event, appended by grader.plugin) while they run; ``show`` gets the counts."""

    def __init__(self, folder: Path, show: Callable[[dict[str, tuple[int, int]]], None]):
        self.folder, self.show = folder, show
        self.offsets: dict[Path, int] = {}
        self.counts: dict[str, list[int]] = {}

    def poll(self) -> None:
        for path in sorted(self.folder.glob("*.progress")):
            try:
                with open(path, "rb") as fh:
                    fh.seek(self.offsets.get(path, 0))
                    data = fh.read()
            except OSError:
                continue
            complete = data[: data.rfind(b"\n") + 1]
            self.offsets[path] = self.offsets.get(path, 0) + len(complete)
            for line in complete.splitlines():
                try:
                    event = json.loads(line)
                    done, total = self.counts.setdefault(str(event["task"]), [0, 0])
                    self.counts[str(event["task"])] = [
                        done + int(event.get("done", 0)),
                        total + int(event.get("collected", 0)),
                    ]
                except (ValueError, KeyError, TypeError):
                    continue
        try:
            self.show({task: (done, total) for task, (done, total) in self.counts.items()})
        except Exception:  # a display that fails never costs the grade
            pass

    def follow(self, stop: threading.Event, interval: float = 0.2) -> None:
        while not stop.wait(interval):
            self.poll()
        self.poll()


def grade(
    submission: Path,
    options: GradeOptions | None = None,
    *,
    lanes: int | None = None,
    in_process: bool = False,
    progress: Callable[[dict[str, tuple[int, int]]], None] | None = None,
) -> Results:
    """Grade a normalised submission folder (see ``grader.submission``) as ``options`` say.

    ``lanes``: parallel grading processes (default: one per core); ``in_process=True`` with a
    single lane runs that lane in the calling process (for callers that are themselves dedicated,
    trusted grading processes); student code still runs only in the sandboxed workers.
    ``progress``: called now and then with ``{task: (checks finished, checks collected)}``.
    Raises ``SandboxUnavailable`` when bubblewrap cannot run, unless ``options.allow_unsandboxed``
    (or ``public_only``: a student's local check) says otherwise.
    """
    options = options or GradeOptions()
    if options.worker_start == "auto":  # one submission: a template's imports would not be reused
        options = options.replace(worker_start="fresh")
    iso, line = _isolation(options)
    chosen = [BY_NAME[name] for name in options.tasks] if options.tasks else list(TASKS)
    lanes = lanes or os.cpu_count() or 1
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bplab-grade-") as tmp:
        plan = plan_lanes(chosen, lanes)
        if in_process and len(plan) == 1:
            reports = [(plan[0], _run_lane_here(Path(submission), plan[0], options))]
        else:
            stop = threading.Event()
            watcher = (
                threading.Thread(target=_Progress(Path(tmp), progress).follow, args=(stop,), daemon=True)
                if progress
                else None
            )
            if watcher:
                watcher.start()
            try:
                with ThreadPoolExecutor(max_workers=len(plan)) as pool:
                    reports = list(
                        pool.map(lambda ts: (ts, _run_lane(Path(submission), ts, options, iso, Path(tmp))), plan)
                    )
            finally:
                stop.set()
                if watcher:
                    watcher.join()
    results = Results(
        seed=options.seed,
        public_only=options.public_only,
        tasks=[t.name for t in sorted(chosen, key=lambda t: t.number)],
        isolation=line,
        options=options.record(),
    )
    for lane_tasks, report in reports:
        if "lane_error" in report:
            results.grader_errors.append(report["lane_error"])
            for task in lane_tasks:
                results.tests.append(
                    TestResult(
                        task=task.name,
                        name=f"{task.name}: grading did not finish",
                        max_score=task.points,
                        output=report["lane_error"][:500],
                        visibility="visible",
                    )
                )
            continue
        failed_imports = report.get("import_errors", {})
        for task in lane_tasks:
            if task.name in failed_imports:  # one row per visibility: the public share stays the public share
                rows = [o for o in report["outcomes"] if o["task"] == task.name]
                for visibility in ("visible", "after_published"):
                    max_score = sum(o["max_score"] for o in rows if o["visibility"] == visibility)
                    if max_score:
                        kind = "public" if visibility == "visible" else "hidden"
                        results.tests.append(
                            TestResult(
                                task=task.name,
                                name=f"{task.name}: import {task.file} ({kind} checks)",
                                max_score=max_score,
                                output=failed_imports[task.name],
                                visibility=visibility,
                                limit=next((o["limit"] for o in rows if o.get("limit")), ""),
                                retried=any(o.get("retried") is True for o in rows),
                            )
                        )
        results.tests += [TestResult(**o) for o in report["outcomes"] if o["task"] not in failed_imports]
    order = {t.name: t.number for t in TASKS}
    results.tests.sort(key=lambda r: order[r.task])  # stable: keeps the checks' own order per task
    results.execution_time = round(time.monotonic() - start, 2)
    return results
