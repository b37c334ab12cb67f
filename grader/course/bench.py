"""``course bench [--quick] [--out PATH]``: grading speed, the price of isolation, the engines vs PyTorch.

Every comparison runs its contenders side by side in ONE run: a warm-up round, then R rounds in
which each contender runs once, in an order rotated every round (ABC, BCA, CAB...), so a burst of
load on the shared machine hits every contender alike. Tables show the median and min-max over
the rounds, and ratios taken round by round (median of the per-round ratios, min-max), never
against a number from another run. Nothing here asserts a time; the targets of the issue are
printed next to the measured ratios.

1. One submission: ``grade`` (a subprocess: parallel trusted lanes + one sandboxed worker per
   task); the SAME checks with the reference imported directly, no sandbox (an insecure grader,
   once with grade's lane plan and once in a single process: the ratios are the price of
   isolation); and ``nbgrader autograde`` of the same work as notebooks in a temporary course.
   By default the numpy tasks (the training tasks are timed in 3 and 5), to keep a full run
   near 10 minutes on 2 cores.
2. A class of N submissions (reference copies and broken variants): ``grade --batch`` against N
   sequential ``grade`` calls and ``nbgrader autograde`` for N students; submissions per minute.
3. Where the time of one ``grade`` goes: interpreter and library start-up, each task's lane
   (process start, collection + worker start, the checks themselves).
4. The reference engines against PyTorch and Keras on the lecture's 784-256-10 network, batch 64,
   one thread each; gradient checks of the 2-2-1 and 784-256-10 networks.
5. Peak memory of one ``grade`` and of a batch, per process and per batch worker (polled /proc).

A comparison whose prerequisite does not exist yet (nbgrader course generator, batch mode, the
checks of a task) shows ``skipped: <reason>`` instead of numbers.

Knobs for long runs (environment): ``BPLAB_BENCH_REPS`` (rounds, default 5, quick 2),
``BPLAB_BENCH_CLASS`` (class size; default: as many of the issue's 50 as fit the time budget),
``BPLAB_BENCH_TASKS`` (comma-separated tasks to grade; default: every task that has checks, quick:
losses and chain_rule).

Internal roles (``python -m grader.course.bench ROLE ...``): ``_inprocess`` (the insecure
in-process grader), ``_engines`` (comparison 4 in a single-threaded child), ``_keras`` (a Keras
server for comparison 4, so importing TensorFlow costs nothing to the other contenders).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import importlib.util
import io
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reference" / "benchmarks.md"
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
CLASS_TARGET = 50          # the class size
ASSIGNMENT = "backprop"    # the nbgrader assignment name (``course nbgrader --assignment``)
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                 "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                 "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore",
                 "KERAS_BACKEND": "tensorflow"}


class Skipped(Exception):
    """A contender or comparison whose prerequisite is missing; the message is the reason."""


# ---------------------------------------------------------------------------------------------
# tables and statistics
# ---------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ").strip()


@dataclasses.dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, *cells: Any) -> None:
        cells = [_cell(c) for c in cells]
        cells += [""] * (len(self.columns) - len(cells))
        self.rows.append(cells[: len(self.columns)])

    def skip(self, label: str, reason: str) -> None:
        self.add(label, f"skipped: {reason}")

    def fail(self, label: str, reason: str) -> None:
        self.add(label, f"failed: {reason}")

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(_cell(c) for c in self.columns) + " |",
                 "| " + " | ".join("---" for _ in self.columns) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(min(xs))}-{fmt(max(xs))}"


def secs(x: float) -> str:
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def ms(x: float) -> str:
    v = x * 1e3
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def paired_ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Median, min and max of the per-round ratios a[i] / b[i] (rounds alternate, so pairs share load)."""
    ratios = [x / y for x, y in zip(a, b) if y > 0]
    return median(ratios), min(ratios), max(ratios)


def ratio_text(a: list[float], b: list[float]) -> str:
    m, lo, hi = paired_ratio(a, b)
    return f"{m:.2f}x ({lo:.2f}-{hi:.2f})"


def alternate(contenders: dict[str, Callable[[], float]], reps: int, warmup: int = 1,
              log: Callable[[str], None] = lambda s: None) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Run each contender ``warmup`` times, then ``reps`` rounds in rotated order.

    A contender is a callable returning the seconds it measured (so set-up outside the timed
    part stays out). One that raises is dropped with its reason (``Skipped``: a missing
    prerequisite; anything else: a failure). Returns ({name: [seconds per round]}, {name: reason}).
    """
    active = list(contenders)
    dropped: dict[str, str] = {}

    def call(name: str) -> float | None:
        try:
            return float(contenders[name]())
        except Skipped as exc:
            dropped[name] = f"skipped: {exc}"
        except Exception as exc:  # a contender that breaks must not take the others with it
            dropped[name] = f"failed: {type(exc).__name__}: {str(exc)[:400]}"
        active.remove(name)
        return None

    for w in range(warmup):
        for name in list(active):
            log(f"warm-up {w + 1}/{warmup}: {name}")
            call(name)
    samples: dict[str, list[float]] = {n: [] for n in active}
    for r in range(reps):
        order = list(active)
        k = r % len(order) if order else 0
        for name in order[k:] + order[:k]:
            if name not in active:
                continue
            log(f"round {r + 1}/{reps}: {name}")
            t = call(name)
            if t is not None:
                samples[name].append(t)
    return {n: s for n, s in samples.items() if n in active and s}, dropped


# ---------------------------------------------------------------------------------------------
# settings, environment, submissions
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings:
    quick: bool
    reps: int
    warmup: int
    tasks: list[str]                    # comparisons 1 and 2 (and the nbgrader notebooks handed in)
    all_tasks_with_checks: list[str]    # comparisons 3 and 5
    tasks_note: str
    class_size: int | None
    class_budget_s: float
    class_reps: int
    import_reps: int
    lane_reps: int
    engine_reps: int
    engine_steps: int
    command: str
    overrides: dict[str, str]


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


QUICK_TASKS = ("losses", "chain_rule")
FAST_COST = 2.0  # rubric cost (rough seconds): the numpy tasks; torch/keras training cost 8-14


def make_settings(quick: bool, command: str) -> Settings:
    from grader.rubric import BY_NAME, TASKS
    with_checks = [t.name for t in TASKS if t.check_files()]
    overrides = {k: os.environ[k] for k in ("BPLAB_BENCH_REPS", "BPLAB_BENCH_CLASS", "BPLAB_BENCH_TASKS")
                 if os.environ.get(k, "").strip()}
    chosen = os.environ.get("BPLAB_BENCH_TASKS", "").strip()
    if chosen == "all":
        tasks, note = with_checks, "every task with checks (BPLAB_BENCH_TASKS=all)"
    elif chosen:
        tasks = [t.strip() for t in chosen.split(",") if t.strip() in BY_NAME]
        note = "set by BPLAB_BENCH_TASKS"
    elif quick:
        tasks = [t for t in QUICK_TASKS if t in with_checks] or with_checks[:2]
        note = "--quick: two small tasks"
    else:
        tasks = [t for t in with_checks if BY_NAME[t].cost <= FAST_COST]
        heavy = [t for t in with_checks if t not in tasks]
        note = ("the numpy tasks; " + ", ".join(heavy) + " (torch / Keras training, most of a full grade) "
                "are timed in comparisons 3 and 5, which grade every task; BPLAB_BENCH_TASKS=all grades them "
                "here too (a full run then takes well over 10 min)") if heavy else "every task with checks"
    reps = _env_int("BPLAB_BENCH_REPS") or (2 if quick else 5)
    return Settings(quick=quick, reps=reps, warmup=1, tasks=tasks, all_tasks_with_checks=with_checks,
                    tasks_note=note, class_size=_env_int("BPLAB_BENCH_CLASS") or (2 if quick else None),
                    class_budget_s=180.0, class_reps=(1 if quick else reps),
                    import_reps=(1 if quick else reps), lane_reps=(1 if quick else _env_int("BPLAB_BENCH_REPS") or 3),
                    engine_reps=(3 if quick else max(reps, 7)),
                    engine_steps=(10 if quick else 40), command=command, overrides=overrides)


def grading_env() -> dict[str, str]:
    """The same environment (threads, logging, bytecode) for every grading contender."""
    from grader.runner import lane_env
    env = lane_env()
    env.update(SINGLE_THREAD)
    return env


def copy_modules(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.py")):
        if path.name != "__init__.py":
            shutil.copyfile(path, dest / path.name)
    return dest


def _mistake_catalog(tasks: list[str]) -> tuple[str, str, dict] | None:
    """The first planted mistake of tests/mistakes/<task>.py (for the tasks graded) that applies."""
    for task in tasks:
        path = ROOT / "tests" / "mistakes" / f"{task}.py"
        if not path.exists():
            continue
        try:
            spec = importlib.util.spec_from_file_location(f"_bench_mistakes_{task}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            source = (SOLUTIONS / f"{task}.py").read_text()
            for name, m in module.MISTAKES.items():
                if m.get("find") and m["find"] in source:
                    return task, name, m
        except Exception:
            continue
    return None


@dataclasses.dataclass
class Variant:
    key: str
    label: str
    build: Callable[[Path], Path]
    patch: tuple[str, str, str] | None = None   # (task, find, replace) for the notebook version


def variants(tasks: list[str]) -> list[Variant]:
    """The reference and the broken variants a class is made of."""
    out = [Variant("reference", "reference copy", lambda d: copy_modules(SOLUTIONS, d))]
    if ASSIGNMENTS.is_dir() and any(ASSIGNMENTS.glob("*.py")):
        out.append(Variant("stubs", "blank stubs (assignments/)", lambda d: copy_modules(ASSIGNMENTS, d)))
    target = tasks[-1] if tasks else "losses"

    def syntax(d: Path, target: str = target) -> Path:
        copy_modules(SOLUTIONS, d)
        with open(d / f"{target}.py", "a") as fh:
            fh.write("\n\ndef broken(:\n    pass\n")
        return d
    out.append(Variant("syntax", f"syntax error in {target}.py", syntax, (target, "", "\n\ndef broken(:\n    pass\n")))
    found = _mistake_catalog(tasks)
    if found:
        task, name, m = found

        def planted(d: Path, task: str = task, m: dict = m) -> Path:
            copy_modules(SOLUTIONS, d)
            f = d / f"{task}.py"
            f.write_text(f.read_text().replace(m["find"], m["replace"], m.get("count", 1)))
            return d
        out.append(Variant("mistake", f"planted mistake {task}:{name}", planted, (task, m["find"], m["replace"])))
    return out


def class_members(n: int, vs: list[Variant]) -> list[Variant]:
    """Positions 1, 3 (mod 5) are broken variants in turn, the rest reference copies (60 % correct)."""
    broken = [v for v in vs if v.key != "reference"]
    members, k = [], 0
    for i in range(n):
        if broken and i % 5 in (1, 3):
            members.append(broken[k % len(broken)])
            k += 1
        else:
            members.append(vs[0])
    return members


def task_args(tasks: list[str]) -> list[str]:
    """``--task`` options, unless all 8 tasks are graded (then ``grade`` runs as is)."""
    from grader.rubric import TASKS
    if sorted(tasks) == sorted(t.name for t in TASKS):
        return []
    return [a for t in tasks for a in ("--task", t)]


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800,
              what: str = "") -> float:
    """Run a command; return its wall time; raise with the tail of its output if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stdout.decode(errors="replace").strip()[-600:]
        raise RuntimeError(f"{what or shlex.join(cmd[:4])} exited {proc.returncode}: {tail}")
    return elapsed


def grade_cmd(sub: Path, tasks: list[str], json_out: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "grader.cli", str(sub), "--quiet", *task_args(tasks)]
    return cmd + (["--json", str(json_out)] if json_out else [])


def _json_score(path: Path) -> tuple[float, float] | None:
    try:
        data = json.loads(path.read_text())
        return float(data["score"]), float(data["max_score"])
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# the insecure in-process grader (contender of comparison 1)
# ---------------------------------------------------------------------------------------------
def _inprocess_main(argv: list[str]) -> int:
    """Run the same checks with pytest in THIS process, the reference imported directly.

    No sandbox, no worker process, no pipes, no limits: ``grader.worker``'s request handler is
    called in-process. Requests and replies still go through the wire encoding (a few
    microseconds), so the checks see exactly the values they see from a real worker.
    """
    p = argparse.ArgumentParser(prog="bench _inprocess")
    p.add_argument("--submission", type=Path, required=True)
    p.add_argument("--tasks", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--lanes", type=int, default=1)
    ns = p.parse_args(argv)
    sys.stdout = sys.stderr
    if ns.lanes > 1:  # the same lane plan as ``grader.runner``: one process per lane, in parallel
        from grader.rubric import BY_NAME
        from grader.runner import plan_lanes
        plan = plan_lanes([BY_NAME[t] for t in ns.tasks.split(",") if t], ns.lanes)
        parts = [ns.out.with_name(f"{ns.out.stem}-lane{i}.json") for i in range(len(plan))]
        procs = [subprocess.Popen([sys.executable, "-m", "grader.course.bench", "_inprocess", "--submission",
                                   str(ns.submission), "--tasks", ",".join(t.name for t in lane), "--seed",
                                   str(ns.seed), "--out", str(part)]) for lane, part in zip(plan, parts)]
        codes = [p.wait() for p in procs]
        reports = [json.loads(part.read_text()) for part in parts]
        ns.out.write_text(json.dumps({"score": sum(r["score"] for r in reports),
                                      "max_score": sum(r["max_score"] for r in reports),
                                      "pytest_exit": max(r["pytest_exit"] for r in reports),
                                      "tests": sum(r["tests"] for r in reports), "lanes": len(plan)}))
        return max(codes)

    import importlib

    import pytest

    from grader import sandbox
    from grader.sandbox import protocol
    from grader.sandbox.proxy import Student
    from grader.plugin import GradingPlugin, task_of
    from grader.rubric import BY_NAME, CHECKS
    from grader.sandbox import ImportFailed

    here = str(Path(sandbox.__file__).resolve().parent)
    import grader.sandbox.worker as w  # inserts grader/sandbox at sys.path[0] for its ``import protocol``
    while here in sys.path:
        sys.path.remove(here)
    submission = ns.submission.resolve()
    w._SUBMISSION = str(submission)
    sys.path.insert(0, str(submission))

    def frame(data: bytes) -> tuple[Any, list]:
        buf = io.BytesIO(data)
        return protocol.read_frame(buf, lambda f, n: f.read(n))

    class LocalWorker:
        """Stands in for ``sandbox.Worker``: the module is imported here, calls run here."""

        def __init__(self, module: str):
            self.module, self.started = module, False

        def start(self) -> None:
            try:
                importlib.import_module(self.module)
            except BaseException as exc:
                raise ImportFailed(f"{self.module}.py could not be imported: {type(exc).__name__}: {exc}")
            self.started = True

        def alive(self) -> bool:
            return self.started

        def _encode_remote(self, value: Any) -> dict:
            return sandbox.Worker._encode_remote(self, value)

        def close(self) -> None:
            pass

        def request(self, message: dict, timeout: float | None = None, what: str = "the call") -> dict:
            doc, arrays = frame(protocol.dumps(message, keep=self._encode_remote))
            try:
                reply = w._handle(w.protocol.loads(doc, arrays, resolve=w._resolve))
            except BaseException as exc:
                reply = w._error(exc)
            try:
                data = w.protocol.dumps(reply, keep=w._keep)
            except Exception as exc:
                data = w.protocol.dumps({"error": {"type": "TypeError", "where": "",
                                                   "message": f"returned a value that is not plain data: {exc}"}})
            doc, arrays = frame(data)
            return protocol.loads(doc, arrays, resolve=lambda h: h, plain_arrays=True)

    class InProcessPlugin(GradingPlugin):
        @pytest.fixture(scope="module")
        def student(self, request: pytest.FixtureRequest) -> Student:
            task = BY_NAME[task_of(request.path)]
            if task.name in self.import_errors:
                pytest.skip(self.import_errors[task.name])
            if task.name not in self.students:
                student = Student(lambda: LocalWorker(task.name), task.name)
                try:
                    student._live()
                except ImportFailed as exc:
                    self.import_errors[task.name] = str(exc)
                    pytest.skip(str(exc))
                self.students[task.name] = student
            return self.students[task.name]

    plugin = InProcessPlugin(submission, ns.seed)
    tasks = [t for t in ns.tasks.split(",") if t]
    files = [str(p) for t in tasks for p in BY_NAME[t].check_files()]
    args = ["-c", os.devnull, "--rootdir", str(CHECKS), "--import-mode=importlib", "--assert=plain",
            "--strict-markers", "-p", "no:cacheprovider", "-p", "no:warnings", "-q", "--no-header",
            "-o", "python_files=test_*.py", *files]
    code = pytest.main(args, plugins=[plugin]) if files else 0
    score = sum(o.score for o in plugin.outcomes)
    max_score = sum(o.max_score for o in plugin.outcomes)
    ns.out.write_text(json.dumps({"score": score, "max_score": max_score, "pytest_exit": int(code),
                                  "tests": len(plugin.outcomes)}))
    return 0 if int(code) in (0, 1) else int(code)


# ---------------------------------------------------------------------------------------------
# nbgrader: a temporary course built by ``course nbgrader`` (when it exists)
# ---------------------------------------------------------------------------------------------
def _notebook_for(task: str, notebooks: list[Path]) -> Path | None:
    hits = [nb for nb in notebooks if task in nb.stem]
    return min(hits, key=lambda p: len(p.stem)) if hits else None


class NbCourse:
    """A throw-away nbgrader course built by ``course nbgrader``; students added on demand."""

    def __init__(self, root: Path):
        if importlib.util.find_spec("grader.course.nbgrader") is None:
            raise Skipped("grader.course.nbgrader does not exist yet (the nbgrader course generator)")
        exe = shutil.which("nbgrader", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
        if exe is None:
            raise Skipped("the nbgrader command is not installed (pip install 'backprop-lab[nbgrader]')")
        self.exe, self.root, self.env = exe, root, grading_env()
        # nbgrader runs `alembic` when it creates a gradebook: the venv's bin must be on PATH
        self.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + self.env.get("PATH", "")
        proc = subprocess.run([sys.executable, "-m", "grader.course.cli", "nbgrader", str(root),
                               "--assignment", ASSIGNMENT], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=900)
        if proc.returncode != 0:
            raise Skipped(f"`course nbgrader` failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-300:]}")
        self.source = root / "source" / ASSIGNMENT
        self.release = root / "release" / ASSIGNMENT
        if not self.release.is_dir():
            run_timed([exe, "generate_assignment", ASSIGNMENT, "--force"], root, self.env, 900,
                      "nbgrader generate_assignment")
        self.notebooks = sorted(self.source.glob("*.ipynb"))
        if not self.notebooks or not self.release.is_dir():
            raise Skipped(f"`course nbgrader` wrote no notebooks under source/{ASSIGNMENT}/")
        self.handed_in: dict[str, list[str]] = {}

    def select(self, tasks: list[str]) -> tuple[list[str], str, list[str]]:
        """(notebooks to hand in, a description, graded tasks that have no notebook)."""
        picked = {t: _notebook_for(t, self.notebooks) for t in tasks}
        missing = [t for t, nb in picked.items() if nb is None]
        if len(self.notebooks) > 1 and len(missing) < len(tasks):
            chosen = sorted({nb.name for nb in picked.values() if nb})
            return chosen, f"{len(chosen)} task notebook(s): {', '.join(chosen)}", missing
        return [nb.name for nb in self.notebooks], f"all {len(self.notebooks)} notebook(s)", missing

    def add_student(self, student: str, variant: Variant, tasks: list[str]) -> str:
        """Hand in ``variant`` as the notebooks of ``tasks``; returns how it was handed in."""
        chosen, _, _ = self.select(tasks)
        self.handed_in[student] = chosen
        dest = self.root / "submitted" / student / ASSIGNMENT
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for path in self.release.iterdir():
            if path.is_file() and (path.suffix != ".ipynb" or path.name in chosen):
                shutil.copyfile(path, dest / path.name)
        if variant.key == "stubs":
            return "release notebooks (blank)"
        for name in chosen:  # the work done: the source notebooks (solutions in place)
            shutil.copyfile(self.source / name, dest / name)
        if variant.patch is None:
            return "source notebooks"
        task, find, replace = variant.patch
        nb_path = _notebook_for(task, [dest / n for n in chosen]) or dest / chosen[0]
        nb = json.loads(nb_path.read_text())
        for cell in nb.get("cells", []):
            src = cell.get("source", "")
            text = "".join(src) if isinstance(src, list) else src
            if cell.get("cell_type") != "code":
                continue
            if (find and find in text) or (not find and "BEGIN SOLUTION" in text):
                cell["source"] = text.replace(find, replace, 1) if find else text + replace
                nb_path.write_text(json.dumps(nb))
                return f"source notebooks, {variant.label}"
        return "source notebooks (patch not found: handed in unbroken)"

    def autograde(self, students_glob: str) -> float:
        return run_timed([self.exe, "autograde", ASSIGNMENT, "--force", f"--student={students_glob}"],
                         self.root, self.env, 3600, "nbgrader autograde")

    def score(self, student: str) -> tuple[float, float] | None:
        """The student's score over the notebooks handed in (nbgrader counts the others as 0 of max)."""
        try:
            from nbgrader.api import Gradebook
            db = self.root / "gradebook.db"
            with Gradebook(f"sqlite:///{db}") as gb:
                sub = gb.find_submission(ASSIGNMENT, student)
                nbs = [nb for nb in sub.notebooks if f"{nb.name}.ipynb" in self.handed_in.get(student, [])]
                return float(sum(nb.score for nb in nbs)), float(sum(nb.max_score for nb in nbs))
        except Exception:
            return None


# ---------------------------------------------------------------------------------------------
# 1. one submission, three ways
# ---------------------------------------------------------------------------------------------
def bench_one(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    from grader.runner import DEFAULT_SEED, plan_lanes
    from grader.rubric import BY_NAME
    env = grading_env()
    tasks = settings.tasks
    sub = copy_modules(SOLUTIONS, work / "one" / "solutions-copy")
    out = work / "one"
    lanes = len(plan_lanes([BY_NAME[t] for t in tasks], os.cpu_count() or 1))
    scores: dict[str, Any] = {}

    def grade() -> float:
        js = out / "grade.json"
        t = run_timed(grade_cmd(sub, tasks, js), out, env, what="grade")
        scores["grade"] = _json_score(js)
        return t

    def inprocess(n_lanes: int, key: str) -> Callable[[], float]:
        def run() -> float:
            js = out / f"inprocess-{n_lanes}.json"
            cmd = [sys.executable, "-m", "grader.course.bench", "_inprocess", "--submission", str(SOLUTIONS),
                   "--tasks", ",".join(tasks), "--seed", str(DEFAULT_SEED), "--out", str(js), "--lanes", str(n_lanes)]
            t = run_timed(cmd, out, env, what="in-process grader")
            scores[key] = _json_score(js)
            return t
        return run

    course: dict[str, Any] = {}

    def nbgrader() -> float:
        if settings.quick:
            raise Skipped("--quick (building the nbgrader course takes about a minute; run the full `course bench`)")
        if "course" not in course:
            course["course"] = NbCourse(work / "nbcourse")
            course["course"].add_student("one", variants(tasks)[0], tasks)
            course["scope"], course["missing"] = course["course"].select(tasks)[1:]
        t = course["course"].autograde("one")
        scores["nbgrader autograde"] = course["course"].score("one")
        return t

    same_lanes = f"in-process, {lanes} lanes"
    contenders = {"grade": grade, same_lanes: inprocess(lanes, same_lanes),
                  "in-process, one process": inprocess(1, "in-process, one process"), "nbgrader autograde": nbgrader}
    samples, dropped = alternate(contenders, settings.reps, settings.warmup, log)
    ctx["one"] = samples
    if "course" in course:
        ctx["nbcourse"] = course["course"]
    else:
        ctx["nbcourse_reason"] = dropped.get("nbgrader autograde", "not run")
    what = {"grade": f"`python -m grader.cli solutions-copy --quiet`: {lanes} trusted lane(s) in parallel, "
                     f"one sandboxed worker per task",
            same_lanes: "the same checks and the same lane plan, the reference imported in each lane "
                        "(no sandbox, no worker processes, no pipes)",
            "in-process, one process": "the same checks in ONE pytest process, the reference imported in it "
                                       "(the plain insecure grader)",
            "nbgrader autograde": "`nbgrader autograde` of the same work as notebooks in a temporary course "
                                  "(the course's config: each task notebook graded by the isolated grader, "
                                  "no student kernel)"}
    t = Table(f"One submission ({len(tasks)} task(s): {', '.join(tasks)}), {settings.reps} rounds after "
              f"{settings.warmup} warm-up",
              ["contender", "what runs", "median s", "min-max s", "ratio to grade", "score"])
    base = samples.get("grade")
    for name in contenders:
        if name in samples:
            s_ = samples[name]
            sc = scores.get(name)
            t.add(name, what[name], secs(median(s_)), spread(s_, secs),
                  ratio_text(s_, base) if base else "n/a", f"{sc[0]:g}/{sc[1]:g}" if sc else "?")
        else:
            t.add(name, what[name], dropped.get(name, "not run"))
    if base:
        for name, label in ((same_lanes, "same lanes"), ("in-process, one process", "one process")):
            if name in samples:
                m = paired_ratio(base, samples[name])[0]
                if scores.get(name) != scores.get("grade"):  # different work done: no fair ratio
                    t.notes.append(f"Price of isolation ({label}): NOT COMPARABLE, the scores differ "
                                   f"({scores.get(name)} vs {scores.get('grade')}): the in-process grader is broken.")
                    continue
                t.notes.append(f"Price of isolation ({label}): `grade` takes {m:.2f}x the in-process time "
                               f"(target <= 1.3x: {'met' if m <= 1.3 else 'not met'}).")
        if "nbgrader autograde" in samples:
            m = paired_ratio(base, samples["nbgrader autograde"])[0]
            extra = (f"; graded tasks without a notebook: {', '.join(course['missing'])}"
                     if course.get("missing") else "")
            t.notes.append(f"`grade` takes {m:.2f}x the time of `nbgrader autograde` (target <= 0.5x: "
                           f"{'met' if m <= 0.5 else 'not met'}); nbgrader got {course['scope']}{extra}.")
    t.notes.append(f"Tasks: {settings.tasks_note}.")
    t.notes.append("Ratios are per round (the contenders alternate, order rotated every round): median "
                   "(min-max) of contender_i / grade_i.")
    return [t]


# ---------------------------------------------------------------------------------------------
# 2. a class
# ---------------------------------------------------------------------------------------------
def bench_class(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    env = grading_env()
    vs = variants(settings.tasks)
    one = ctx.get("one", {})
    t_grade = median(one["grade"]) if one.get("grade") else 5.0
    t_nb = median(one["nbgrader autograde"]) if one.get("nbgrader autograde") else 0.0
    if settings.class_size:
        n, sizing = settings.class_size, ("set by BPLAB_BENCH_CLASS" if "BPLAB_BENCH_CLASS" in settings.overrides
                                          else "--quick")
    else:
        per_student = 2 * t_grade + t_nb  # sequential + batch (at worst as slow) + nbgrader, per round
        n = int(settings.class_budget_s / max(1e-3, settings.class_reps * per_student))
        n = max(4, min(CLASS_TARGET, n))
        sizing = (f"the issue's {CLASS_TARGET}" if n == CLASS_TARGET else
                  f"reduced from {CLASS_TARGET} to fit a {settings.class_budget_s:.0f} s budget "
                  f"(one grade took {t_grade:.1f} s); BPLAB_BENCH_CLASS={CLASS_TARGET} for the full class")
    members = class_members(n, vs)
    names = [f"c{i + 1:03d}" for i in range(n)]
    folder = work / "class" / "submissions"
    for name, v in zip(names, members):
        v.build(folder / name)
    composition = {}
    for v in members:
        composition[v.label] = composition.get(v.label, 0) + 1
    results: dict[str, dict[str, Any]] = {"batch": {}, "sequential": {}, "nbgrader": {}}
    counter = {"batch": 0}

    def batch() -> float:
        if importlib.util.find_spec("grader.batch") is None:
            raise Skipped("grader.batch does not exist yet (batch mode)")
        counter["batch"] += 1
        out = work / "class" / f"batch-out-{counter['batch']}"
        t = run_timed([sys.executable, "-m", "grader.cli", str(folder), "--batch", "--out", str(out), "--quiet",
                       *task_args(settings.tasks)], work / "class", env, what="grade --batch")
        for name in names:
            results["batch"][name] = _json_score(out / name / "results.json")
        shutil.rmtree(out, ignore_errors=True)
        return t

    def sequential() -> float:
        total = 0.0
        for name in names:
            js = work / "class" / f"seq-{name}.json"
            total += run_timed(grade_cmd(folder / name, settings.tasks, js), work / "class", env, what=f"grade {name}")
            results["sequential"][name] = _json_score(js)
        return total

    nb_state: dict[str, Any] = {}

    def nbgrader() -> float:
        if settings.quick:
            raise Skipped("--quick (N students x kernel start-ups; run the full `course bench`)")
        course = ctx.get("nbcourse")
        if course is None:
            raise Skipped(ctx.get("nbcourse_reason", "no nbgrader course").removeprefix("skipped: "))
        if not nb_state:
            nb_state["how"] = {}
            for name, v in zip(names, members):
                how = course.add_student(name, v, settings.tasks)
                nb_state["how"][how] = nb_state["how"].get(how, 0) + 1
        t = course.autograde("c*")
        for name in names:
            results["nbgrader"][name] = course.score(name)
        return t

    contenders = {"grade --batch": batch, f"{n} x grade": sequential, "nbgrader autograde": nbgrader}
    samples, dropped = alternate(contenders, settings.class_reps, 0, log)
    t = Table(f"A class of {n} submissions ({len(settings.tasks)} task(s) each), {settings.class_reps} round(s)",
              ["contender", "median s", "min-max s", "submissions/min (median)", "rate vs sequential"])
    seq = samples.get(f"{n} x grade")
    for name in contenders:
        if name in samples:
            s = samples[name]
            rate = ratio_text(seq, s) if seq else "n/a"
            t.add(name, secs(median(s)), spread(s, secs), f"{60 * n / median(s):.1f}", rate)
        else:
            t.add(name, dropped.get(name, "not run"))
    t.notes.append(f"Class size: {n} ({sizing}). Composition: "
                   + ", ".join(f"{k} x{c}" for k, c in composition.items()) + ".")
    if "grade --batch" in samples:
        try:
            from grader.batch import _choose_workers
            workers, lanes = _choose_workers(None, n)
            t.notes.append(f"`grade --batch` with the default workers: {workers} worker(s) x {lanes} lane(s) "
                           f"on {os.cpu_count()} cores.")
        except Exception:
            t.notes.append("`grade --batch` with the default workers.")
        if seq:
            m = paired_ratio(seq, samples["grade --batch"])[0]
            t.notes.append(f"Batch rate = {m:.2f}x the sequential rate (target >= 2x: {'met' if m >= 2 else 'not met'}).")
        agree = [results["batch"].get(k) == results["sequential"].get(k) for k in names]
        t.notes.append(f"Scores of batch and sequential grading agree for {sum(agree)}/{n} students.")
    if nb_state:
        t.notes.append("nbgrader students: " + ", ".join(f"{k} x{c}" for k, c in nb_state["how"].items()) + ".")
        if "nbgrader autograde" in samples:
            agree = [results["nbgrader"].get(k) == results["sequential"].get(k) for k in names]
            t.notes.append(f"nbgrader scores (over the notebooks handed in) agree with `grade` for "
                           f"{sum(agree)}/{n} students.")
    t.notes.append("Rate vs sequential: per-round ratio sequential_i / contender_i, median (min-max).")
    ctx["class_folder"], ctx["class_names"] = folder, names
    return [t]


# ---------------------------------------------------------------------------------------------
# 3. where the time goes
# ---------------------------------------------------------------------------------------------
def bench_where(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    from grader import sandbox
    from grader.rubric import BY_NAME
    from grader.runner import DEFAULT_SEED
    env = grading_env()
    py = sys.executable
    box = work / "where" / "box"
    (box / "submission").mkdir(parents=True, exist_ok=True)
    (box / "home").mkdir(exist_ok=True)  # the mount point of the worker's HOME tmpfs
    iso = sandbox.isolation.isolation()
    commands: dict[str, list[str] | str] = {
        "python -c pass (interpreter)": [py, "-c", "pass"],
        "python -I -c 'import numpy'": [py, "-I", "-c", "import numpy"],
        "python -c 'import torch'": [py, "-c", "import torch"],
        "python -c 'import tensorflow'": [py, "-c", "import tensorflow"],
        "lane imports (pytest, hypothesis, grader.plugin)": [py, "-c", "import pytest, hypothesis, grader.plugin"],
        "sandbox start: bwrap + python -I -c 'import numpy'":
            (sandbox.isolation.bwrap_args(iso.bwrap, box) + [py, "-I", "-c", "import numpy"]) if iso.sandboxed
            else "bubblewrap unavailable on this machine (rlimits only)",
    }
    if settings.quick:
        commands["python -c 'import torch'"] = "--quick (seconds per import; run the full bench)"
        commands["python -c 'import tensorflow'"] = "--quick (about 10 s per import; run the full bench)"

    def runner_for(cmd: list[str] | str) -> Callable[[], float]:
        def run() -> float:
            if isinstance(cmd, str):
                raise Skipped(cmd)
            return run_timed(cmd, work / "where", env, what=cmd[-1])
        return run

    samples, dropped = alternate({k: runner_for(c) for k, c in commands.items()}, settings.import_reps,
                                 0 if settings.quick else 1, log)
    t1 = Table(f"Start-up costs ({settings.import_reps} round(s))", ["what", "median s", "min-max s",
                                                                      "minus interpreter s"])
    base = median(samples["python -c pass (interpreter)"]) if "python -c pass (interpreter)" in samples else 0.0
    for name in commands:
        if name in samples:
            s = samples[name]
            t1.add(name, secs(median(s)), spread(s, secs), secs(max(0.0, median(s) - base)))
        else:
            t1.add(name, dropped.get(name, "not run"))
    t1.notes.append("Each lane pays the interpreter and the lane imports once; each task's worker pays a "
                    "sandbox start plus the imports of the student's module (torch for torch_training, "
                    "tensorflow for keras_training).")

    sub = copy_modules(SOLUTIONS, work / "where" / "solutions-copy")
    lane_env = dict(env)
    details: dict[str, list[dict]] = {}

    def lane_for(task: str) -> Callable[[], float]:
        def run() -> float:
            out = work / "where" / f"lane-{task}.json"
            wall = run_timed([py, "-m", "grader.lane", "--submission", str(sub), "--tasks", task,
                              "--seed", str(DEFAULT_SEED), "--out", str(out)], work / "where", lane_env,
                             what=f"lane {task}")
            report = json.loads(out.read_text())
            checks = sum(o["duration"] for o in report["outcomes"])
            details.setdefault(task, []).append({"wall": wall, "pytest": report["seconds"], "checks": checks,
                                                 "tests": len(report["outcomes"]),
                                                 "score": sum(o["score"] for o in report["outcomes"]),
                                                 "max": sum(o["max_score"] for o in report["outcomes"])})
            return wall
        return run

    tasks = settings.tasks if settings.quick else settings.all_tasks_with_checks
    lane_samples, lane_dropped = alternate({t: lane_for(t) for t in tasks}, settings.lane_reps, 0, log)
    t2 = Table(f"One lane per task ({settings.lane_reps} round(s)): where each task's time goes",
               ["task", "tests", "lane wall s (min-max)", "lane start s", "collect + worker start s",
                "checks s", "share of serial total"])
    total = sum(median(s) for s in lane_samples.values()) or 1.0
    for task in tasks:
        if task not in lane_samples:
            t2.add(task, lane_dropped.get(task, "not run"))
            continue
        d = details[task][-len(lane_samples[task]):]
        wall = [x["wall"] for x in d]
        start = [x["wall"] - x["pytest"] for x in d]
        setup = [max(0.0, x["pytest"] - x["checks"]) for x in d]
        checks = [x["checks"] for x in d]
        label = f"{BY_NAME[task].number}. {task}" + (" (training)" if task.endswith("_training") else "")
        t2.add(label, d[-1]["tests"], f"{secs(median(wall))} ({spread(wall, secs)})", secs(median(start)),
               secs(median(setup)), secs(median(checks)), f"{100 * median(wall) / total:.0f} %")
    t2.add("sum (one lane after another)", "", secs(total))
    one = ctx.get("one", {})
    if one.get("grade") and tasks == settings.tasks:
        t2.add("`grade` (lanes in parallel, from comparison 1)", "", secs(median(one["grade"])))
    missing = [t for t in BY_NAME if t not in settings.all_tasks_with_checks]
    if missing:
        t2.notes.append("No checks yet for: " + ", ".join(missing) + ".")
    t2.notes.append("lane start = lane wall - pytest's own time (interpreter, imports of pytest/grader, JSON); "
                    "collect + worker start = pytest's time - the checks' call phases (collection, the "
                    "sandboxed worker's start and the import of the module, teardown); checks = sum of the "
                    "tests' call durations.")
    return [t1, t2]


# ---------------------------------------------------------------------------------------------
# 4. the reference engines against PyTorch and Keras (in a single-threaded child)
# ---------------------------------------------------------------------------------------------
def _keras_main(argv: list[str]) -> int:
    """Serve timing requests for Keras ``train_on_batch``: one JSON line in, one JSON line out."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # TensorFlow's chatter goes to stderr
    import numpy as np
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    data = np.load(argv[0])
    models = {}
    for dtype in ("float32", "float64"):
        keras.config.set_floatx(dtype)
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                                  keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=float(data["lr"])),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.layers[0].set_weights([data["W1"].T.astype(dtype), data["b1"].astype(dtype)])
        model.layers[1].set_weights([data["W2"].T.astype(dtype), data["b2"].astype(dtype)])
        X = tf.constant(data["X"].astype(dtype))
        y = tf.constant(data["y"].astype("int64"))
        models[dtype] = (model, X, y)
    keras.config.set_floatx("float32")
    out.write(json.dumps({"ready": True, "keras": keras.__version__, "tensorflow": tf.__version__}) + "\n")
    for line in sys.stdin:
        req = json.loads(line)
        model, X, y = models[req["dtype"]]
        start = time.perf_counter()
        for _ in range(int(req["steps"])):
            model.train_on_batch(X, y)
        out.write(json.dumps({"seconds": (time.perf_counter() - start) / int(req["steps"])}) + "\n")
    return 0


def _engines_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench _engines")
    p.add_argument("--reps", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--no-keras", default="")
    p.add_argument("--out", type=Path, required=True)
    ns = p.parse_args(argv)
    import numpy as np
    import torch
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from solutions import autograd, backprop, gradcheck

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 784))
    y = rng.integers(0, 10, size=64)
    lr = 0.01
    init = backprop.init_params([784, 256, 10], seed=0)
    steps = ns.steps
    result: dict[str, Any] = {"steps": {}, "dropped": {}, "gradcheck": {}}
    contenders: dict[str, Callable[[], float]] = {}

    def per_step(fn: Callable[[], None]) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps

    for dtype in ("float32", "float64"):
        Xd = X.astype(dtype)
        st_np = {"p": [(W.astype(dtype), b.astype(dtype)) for W, b in init]}

        def np_step(st=st_np, Xd=Xd) -> None:
            st["p"], _ = backprop.train_step(st["p"], Xd, y, lr, hidden="relu", output="softmax")
        contenders[f"numpy|{dtype}"] = lambda f=np_step: per_step(f)

        ag_params = [autograd.Tensor(a.astype(dtype), requires_grad=True) for W, b in init for a in (W, b)]

        def ag_step(ps=ag_params, Xd=Xd) -> None:
            autograd.train_step(ps, Xd, y, lr, activation="relu")
        contenders[f"autograd|{dtype}"] = lambda f=ag_step: per_step(f)

        tdt = getattr(torch, dtype)
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(tdt)
        with torch.no_grad():
            for layer, (W, b) in zip((model[0], model[2]), init):
                layer.weight.copy_(torch.from_numpy(W))
                layer.bias.copy_(torch.from_numpy(b))
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        Xt, yt = torch.from_numpy(Xd), torch.from_numpy(y).long()

        def torch_step(model=model, opt=opt, Xt=Xt) -> None:
            opt.zero_grad()
            loss_fn(model(Xt), yt).backward()
            opt.step()
        contenders[f"torch|{dtype}"] = lambda f=torch_step: per_step(f)

    server = None
    if ns.no_keras:
        result["dropped"]["keras"] = f"skipped: {ns.no_keras}"
    else:
        npz = ns.out.with_suffix(".npz")
        np.savez(npz, X=X, y=y, lr=lr, W1=init[0][0], b1=init[0][1], W2=init[1][0], b2=init[1][1])
        server = subprocess.Popen([sys.executable, "-m", "grader.course.bench", "_keras", str(npz)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, cwd=str(ROOT), env=dict(os.environ))
        hello = server.stdout.readline()
        if not hello:
            result["dropped"]["keras"] = "failed: the Keras server did not start"
            server = None
        else:
            result["keras_versions"] = json.loads(hello)

            def keras_block(dtype: str) -> float:
                server.stdin.write(json.dumps({"dtype": dtype, "steps": steps}) + "\n")
                server.stdin.flush()
                line = server.stdout.readline()
                if not line:
                    raise RuntimeError("the Keras server died")
                return json.loads(line)["seconds"]
            for dtype in ("float32", "float64"):
                contenders[f"keras|{dtype}"] = lambda d=dtype: keras_block(d)

    samples, dropped = alternate(contenders, ns.reps, 1)
    result["steps"] = samples
    result["dropped"].update(dropped)
    if server is not None:
        server.stdin.close()
        server.wait(timeout=60)

    # gradient checks (float64, central differences; solutions/gradcheck.py)
    ex = backprop.EXAMPLE_221

    def f221(p: dict) -> float:
        cache = backprop.forward(ex["x"][None, :], [(p["W1"], p["b1"]), (p["W2"], p["b2"])], "sigmoid", "sigmoid")
        return backprop.loss(cache["A"][-1], ex["y"][None, :], "sigmoid")
    p221 = {k: ex[k] for k in ("W1", "b1", "W2", "b2")}
    c221 = backprop.forward(ex["x"][None, :], [(ex["W1"], ex["b1"]), (ex["W2"], ex["b2"])], "sigmoid", "sigmoid")
    g = backprop.backward(c221, [(ex["W1"], ex["b1"]), (ex["W2"], ex["b2"])], ex["y"][None, :], "sigmoid", "sigmoid")
    g221 = {"W1": g[0][0], "b1": g[0][1], "W2": g[1][0], "b2": g[1][1]}

    def fbig(p: dict) -> float:
        cache = backprop.forward(X, [(p["W1"], p["b1"]), (p["W2"], p["b2"])], "relu", "softmax")
        return backprop.loss(cache["A"][-1], y, "softmax", Z_L=cache["Z"][-1])
    pbig = {"W1": init[0][0], "b1": init[0][1], "W2": init[1][0], "b2": init[1][1]}
    cbig = backprop.forward(X, init, "relu", "softmax")
    g = backprop.backward(cbig, init, y, "relu", "softmax")
    gbig = {"W1": g[0][0], "b1": g[0][1], "W2": g[1][0], "b2": g[1][1]}
    errors: dict[str, float] = {}

    def check(name: str, f: Callable, params: dict, grads: dict, samples_: int | None) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            report = gradcheck.check_gradients(f, params, grads, h=1e-5, num_samples=samples_, seed=0)
            elapsed = time.perf_counter() - start
            errors[name] = max(r["max_rel_error"] for r in report.values())
            return elapsed
        return run
    n221 = sum(v.size for v in p221.values())
    nbig = sum(min(10, v.size) for v in pbig.values())
    gc = {f"2-2-1 network, every entry ({n221} entries, {2 * n221} loss evaluations)": check("221", f221, p221, g221, None),
          f"784-256-10 network, batch 64, 10 sampled entries per parameter ({nbig} entries, "
          f"{2 * nbig} loss evaluations)": check("big", fbig, pbig, gbig, 10)}
    gsamples, gdropped = alternate(gc, ns.reps, 1)
    result["gradcheck"] = {"samples": gsamples, "dropped": gdropped,
                           "errors": {k: errors.get("221" if k.startswith("2-2-1") else "big") for k in gc}}
    result["versions"] = {"numpy": np.__version__, "torch": torch.__version__}
    ns.out.write_text(json.dumps(result))
    return 0


def bench_engines(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    out = work / "engines.json"
    env = dict(os.environ)
    env.update(SINGLE_THREAD)
    cmd = [sys.executable, "-m", "grader.course.bench", "_engines", "--reps", str(settings.engine_reps),
           "--steps", str(settings.engine_steps), "--out", str(out)]
    if settings.quick:
        cmd += ["--no-keras", "--quick (importing TensorFlow takes ~10 s; run the full bench)"]
    log("engines: a single-threaded child process")
    run_timed(cmd, work, env, timeout=1800, what="engines child")
    res = json.loads(out.read_text())
    s = res["steps"]
    engines = [("numpy", "numpy delta-recursion (solutions/backprop.py train_step)"),
               ("autograd", "graph engine (solutions/autograd.py train_step: mlp_forward + softmax_cross_entropy + backward)"),
               ("torch", "PyTorch nn.Sequential + CrossEntropyLoss + SGD step"),
               ("keras", "Keras train_on_batch (SGD, from_logits)")]
    t = Table(f"784-256-10 MLP (ReLU), batch 64, one SGD step, one thread ({settings.engine_reps} rounds of "
              f"{settings.engine_steps} steps after a warm-up)",
              ["engine", "float32 ms/step (min-max)", "float32 vs torch", "float64 ms/step (min-max)", "float64 vs torch"])
    for key, label in engines:
        cells: list[str] = [label]
        for dtype in ("float32", "float64"):
            name = f"{key}|{dtype}"
            if name in s:
                note = " (computes in float64: the reference casts)" if dtype == "float32" and key in ("numpy", "autograd") else ""
                cells.append(f"{ms(median(s[name]))} ({spread(s[name], ms)}){note}")
                base = s.get(f"torch|{dtype}")
                cells.append(ratio_text(s[name], base) if base else "n/a")
            else:
                reason = res["dropped"].get(name) or res["dropped"].get(key) or "not run"
                cells += [reason, ""]
        t.add(*cells)
    for dtype in ("float32", "float64"):
        if f"numpy|{dtype}" in s and f"torch|{dtype}" in s:
            m = paired_ratio(s[f"numpy|{dtype}"], s[f"torch|{dtype}"])[0]
            t.notes.append(f"{dtype}: numpy delta-recursion / torch = {m:.2f}x (target <= 1: {'met' if m <= 1 else 'not met'}).")
        if f"autograd|{dtype}" in s and f"torch|{dtype}" in s:
            m = paired_ratio(s[f"autograd|{dtype}"], s[f"torch|{dtype}"])[0]
            t.notes.append(f"{dtype}: graph engine / torch = {m:.2f}x (target <= 2: {'met' if m <= 2 else 'not met'}).")
    t.notes.append("Same inputs (seeded X (64, 784), labels (64,)) and the same initial weights for every engine; "
                   "OMP/MKL/OpenBLAS/TF threads = 1 and torch.set_num_threads(1); Keras runs in its own process "
                   "(TensorFlow's import stays out of the others) and is timed there, per block of steps.")
    g = res["gradcheck"]
    t2 = Table(f"Gradient checks (solutions/gradcheck.py check_gradients, float64, h = 1e-5; "
               f"{settings.engine_reps} rounds)", ["check", "median ms", "min-max ms", "max relative error"])
    for name, err in g["errors"].items():
        if name in g["samples"]:
            t2.add(name, ms(median(g["samples"][name])), spread(g["samples"][name], ms), f"{err:.2e}" if err is not None else "?")
        else:
            t2.add(name, g["dropped"].get(name, "not run"))
    ctx["engines_versions"] = {**res.get("versions", {}), **res.get("keras_versions", {})}
    return [t, t2]


# ---------------------------------------------------------------------------------------------
# 5. memory
# ---------------------------------------------------------------------------------------------
def _proc_table() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    return parents


def _rss_pss(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def _role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return "?"
    text = " ".join(argv)
    if argv and argv[0].endswith("bwrap"):
        return "bwrap (sandbox launcher)"
    if any(a.endswith("worker.py") for a in argv):
        i = next(i for i, a in enumerate(argv) if a.endswith("worker.py"))
        return f"sandboxed worker ({argv[i + 1]})" if i + 1 < len(argv) else "sandboxed worker"
    if "-c" in argv and argv[-1] == "import numpy":
        return "isolation probe (python -I -c 'import numpy' in bwrap, once per process that grades)"
    if "grader.lane" in text:
        return "lane (trusted pytest)"
    if "resource_tracker" in text:
        return "multiprocessing resource tracker"
    if "spawn_main" in text or "forkserver" in text:
        return "batch worker process"
    if "grader.cli" in text:
        return "grade (cli)"
    return os.path.basename(argv[0]) if argv else "?"


def watch(cmd: list[str], cwd: Path, env: dict[str, str], interval: float = 0.1) -> dict:
    """Run ``cmd`` and poll its process tree: peak RSS per process, peak sums, peak per batch worker."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss: dict[tuple[int, str], int] = {}
    roles: dict[tuple[int, str], str] = {}
    last_role: dict[int, str] = {}
    peak_total_rss = peak_total_pss = 0
    peak_subtree: dict[int, int] = {}
    start = time.perf_counter()
    while True:
        done = proc.poll() is not None
        parents = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        tree, stack, depth_of = [], [proc.pid], {proc.pid: 0}
        while stack:
            pid = stack.pop()
            if pid in parents:
                tree.append(pid)
            for c in children.get(pid, []):
                depth_of[c] = depth_of[pid] + 1
                stack.append(c)
        rss_now: dict[int, int] = {}
        role_now: dict[int, str] = {}
        total_rss = total_pss = 0
        for pid in tree:
            rss, pss = _rss_pss(pid)
            role = _role(pid)  # re-read: bwrap's child execs the worker
            if role == "?":  # exiting (no command line any more): still the process it was
                role = last_role.get(pid, role)
            role_now[pid] = last_role[pid] = role
            rss_now[pid] = rss
            total_rss += rss
            total_pss += pss
            if role != "?":
                key = (pid, role)
                roles[key] = role
                peak_rss[key] = max(peak_rss.get(key, 0), rss)
        peak_total_rss, peak_total_pss = max(peak_total_rss, total_rss), max(peak_total_pss, total_pss)
        for pid in tree:
            if role_now.get(pid) == "batch worker process":
                sub, st = 0, [pid]
                while st:
                    q = st.pop()
                    sub += rss_now.get(q, 0)
                    st.extend(children.get(q, []))
                peak_subtree[pid] = max(peak_subtree.get(pid, 0), sub)
        if done:
            break
        time.sleep(interval)
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd[:4])} exited {proc.returncode}: {err[-400:]}")
    by_role: dict[str, list[int]] = {}
    for key, rss in peak_rss.items():
        by_role.setdefault(roles[key], []).append(rss)
    return {"seconds": time.perf_counter() - start, "total_rss": peak_total_rss, "total_pss": peak_total_pss,
            "by_role": by_role, "batch_workers": sorted(peak_subtree.values())}


def mib(b: float) -> str:
    return f"{b / 1024**2:.0f}"


def bench_memory(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    env = grading_env()
    tasks = settings.tasks if settings.quick else settings.all_tasks_with_checks
    t = Table(f"Peak memory ({len(tasks)} task(s) graded; one run each, /proc polled every 0.1 s)",
              ["run", "process", "peak RSS MiB", "count"])
    sub = copy_modules(SOLUTIONS, work / "memory" / "solutions-copy")
    log("memory: one grade")
    try:
        m = watch(grade_cmd(sub, tasks), work / "memory", env)
        t.add("one `grade`", "all processes together (sum of RSS; PSS in brackets)",
              f"{mib(m['total_rss'])} ({mib(m['total_pss'])})", sum(len(v) for v in m["by_role"].values()))
        for role in sorted(m["by_role"], key=lambda r: -max(m["by_role"][r])):
            v = m["by_role"][role]
            t.add("one `grade`", role + (" (largest)" if len(v) > 1 else ""), mib(max(v)), len(v))
    except Exception as exc:
        t.fail("one `grade`", f"{type(exc).__name__}: {exc}")
    if importlib.util.find_spec("grader.batch") is None:
        t.skip("`grade --batch`", "grader.batch does not exist yet (batch mode)")
    else:
        vs = variants(tasks)
        n = os.cpu_count() or 1  # one submission per default batch worker
        folder = work / "memory" / "class"
        for i in range(n):
            vs[0].build(folder / f"m{i + 1:03d}")
        log(f"memory: a batch of {n}")
        try:
            m = watch([sys.executable, "-m", "grader.cli", str(folder), "--batch", "--out", str(work / "memory" / "out"),
                       "--quiet", *task_args(tasks)], work / "memory", env)
            label = f"`grade --batch` of {n} reference copies"
            t.add(label, "all processes together (sum of RSS; PSS in brackets)",
                  f"{mib(m['total_rss'])} ({mib(m['total_pss'])})", sum(len(v) for v in m["by_role"].values()))
            if m["batch_workers"]:
                w = m["batch_workers"]
                t.add(label, "per batch worker: its process + lanes + sandboxed workers (largest; median)",
                      f"{mib(max(w))} ({mib(median(w))})", len(w))
            for role in sorted(m["by_role"], key=lambda r: -max(m["by_role"][r])):
                v = m["by_role"][role]
                t.add(label, role + (" (largest)" if len(v) > 1 else ""), mib(max(v)), len(v))
        except Exception as exc:
            t.fail("`grade --batch`", f"{type(exc).__name__}: {exc}")
    t.notes.append("RSS counts shared pages (numpy, torch libraries) once per process, so the sums are upper "
                   "bounds; PSS shares them out. count = processes seen with that role.")
    return [t]


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
def _version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> list[str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    from grader import sandbox
    return [f"CPU: {os.cpu_count()} cores ({model}); memory {mem}; {platform.system()} {platform.release()}",
            f"Python {platform.python_version()}; numpy {_version('numpy')}, torch {_version('torch')}, "
            f"tensorflow-cpu {_version('tensorflow-cpu') if _version('tensorflow-cpu') != 'not installed' else _version('tensorflow')}, "
            f"keras {_version('keras')}, pytest {_version('pytest')}, nbgrader {_version('nbgrader')}",
            f"Isolation of `grade`: {sandbox.isolation.isolation().description}"]


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


SECTIONS = [
    ("1. One submission: grade, in-process, nbgrader (the price of isolation)", bench_one),
    ("2. A class: batch against sequential grading", bench_class),
    ("3. Where the time of one grade goes", bench_where),
    ("4. The reference engines against PyTorch and Keras", bench_engines),
    ("5. Memory", bench_memory),
]


def render(settings: Settings, started: str, load_start: str, sections: list[tuple[str, list[Table]]],
           seconds: float) -> str:
    lines = ["# Benchmarks", "",
             f"Written by `{settings.command}` on {started} (UTC) in {seconds / 60:.1f} min. Do not edit by hand: "
             "rerun the command. Compare ratios, not absolute times: every ratio comes from contenders that "
             "ran alternately in this same run (a warm-up, then rounds in rotated order; medians and min-max "
             "over the rounds).", "", "Machine:", ""]
    lines += [f"- {m}" for m in machine()]
    lines += [f"- Load average (1, 5, 15 min) at the start: {load_start}; at the end: {load()} "
              "(a shared machine: other jobs ran alongside)", ""]
    lines += ["Settings:", "",
              f"- Rounds: {settings.reps} after {settings.warmup} warm-up (class: {settings.class_reps}; "
              f"start-up: {settings.import_reps}; lanes: {settings.lane_reps}; engines: {settings.engine_reps} x "
              f"{settings.engine_steps} steps)",
              f"- Tasks graded in comparisons 1 and 2: {', '.join(settings.tasks) or 'none'} ({settings.tasks_note})",
              f"- Tasks with checks at bench time (comparisons 3 and 5): "
              f"{', '.join(settings.all_tasks_with_checks) or 'none'}"]
    if settings.overrides:
        lines.append("- Environment: " + " ".join(f"{k}={v}" for k, v in settings.overrides.items()))
    lines.append("")
    for title, tables in sections:
        lines += [f"## {title}", ""]
        for t in tables:
            lines.append(t.markdown())
    return "\n".join(lines).rstrip() + "\n"


def main(args: argparse.Namespace) -> int:
    quick = bool(getattr(args, "quick", False))
    out = Path(args.out) if getattr(args, "out", None) else REPORT
    command = "course bench" + (" --quick" if quick else "") + (f" --out {args.out}" if getattr(args, "out", None) else "")
    settings = make_settings(quick, command)
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    load_start = load()
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[bench {time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="bplab-bench-"))
    ctx: dict[str, Any] = {}
    done: list[tuple[str, list[Table]]] = []
    broken = False
    try:
        for title, fn in SECTIONS:
            log(title)
            try:
                tables = fn(settings, work, ctx, log)
            except Skipped as exc:
                t = Table(title, ["comparison", "result"])
                t.skip(title, str(exc))
                tables = [t]
            except Exception as exc:
                broken = True
                t = Table(title, ["comparison", "result"])
                t.fail(title, f"{type(exc).__name__}: {str(exc)[:500]}")
                traceback.print_exc()
                tables = [t]
            done.append((title, tables))
            for t in tables:
                print("\n" + t.markdown(), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = render(settings, started, load_start, done, time.perf_counter() - t0)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    log(f"wrote {out}")
    return 1 if broken else 0


if __name__ == "__main__":
    role, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    roles = {"_inprocess": _inprocess_main, "_engines": _engines_main, "_keras": _keras_main}
    if role in roles:
        sys.exit(roles[role](rest))
    parser = argparse.ArgumentParser(prog="python -m grader.course.bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    sys.exit(main(parser.parse_args()))
