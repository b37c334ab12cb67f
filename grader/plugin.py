"""The pytest plugin that runs the checks of some tasks against one submission (trusted side).

It provides the fixtures the checks use (``student``: the task's worker behind ``grader.sandbox.proxy.Student``;
``seed``), maps every test to its task, points and visibility, and records one outcome per test
with a student-facing message (never the check's source). A module that fails to import fails its
task once: the task's tests are skipped and ``import_errors`` holds the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from grader.gradients import CheckFailure, diagnoses_of, explain_error, primary
from grader.options import GradeOptions
from grader.results import TestResult
from grader.rubric import BY_NAME, VISIBILITY
from grader.sandbox import ImportFailed, StudentError, Worker, WorkerDied
from grader.sandbox.proxy import InputMutated, Student, StudentAttributeError

GIVEN = Path(__file__).resolve().parent.parent / "solutions"


def task_of(path: Path) -> str:
    return Path(path).stem.removeprefix("test_")


def _message(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _message(primary(exc))
    if isinstance(exc, (CheckFailure, InputMutated, StudentError, StudentAttributeError, WorkerDied)):
        text = str(exc)
    elif isinstance(exc, AssertionError):
        text = str(exc) or "a check failed"
    elif isinstance(exc, pytest.fail.Exception):
        text = str(exc)
    else:
        text = (
            f"the check could not use your result ({type(exc).__name__}: {str(exc)[:300]}); "
            f"check the return type and shape against the docstring"
        )
    notes = [
        _example_text(n)
        for n in getattr(exc, "__notes__", [])
        if n.startswith(
            ("Falsifying example", "Failing test case", "Falsifying explicit example", "Failing explicit example")
        )
    ]
    if notes:
        text += "\nMinimal failing input found: " + " ".join(notes)[:800]
    return text


def _along(exc: BaseException, repeated_only: bool):
    """The failure, then its group's first member or what it wraps, in turn (only an error whose
    text it repeats when ``repeated_only``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = primary(current)
        else:
            inner = current.__cause__ or current.__context__
            if repeated_only and not (inner is not None and str(inner) and str(inner) in str(current)):
                inner = None
            current = inner


def _limit_of(exc: BaseException) -> str:
    """The limit that stopped the student's code in this failure (``WorkerDied.limit``, or a
    ``StudentError``'s when its output filled up; set on the trusted side), looked for in the
    exception, its group's first member and what it wraps; "" if none."""
    return next((e.limit for e in _along(exc, False) if isinstance(e, (WorkerDied, StudentError))), "")


def _student_error(exc: BaseException) -> StudentError | None:
    """The error raised inside student code that a failed check reports (itself, its group's first
    member, or an error it wraps and repeats the text of), if any."""
    return next((e for e in _along(exc, True) if isinstance(e, StudentError)), None)


def _example_text(note: str) -> str:
    """Hypothesis's example without the fixtures (whose reprs hold memory addresses)."""
    lines = [ln for ln in note.splitlines() if not re.match(r"\s*(student|seed)=", ln)]
    return re.sub(r" at 0x[0-9a-f]+", "", "\n".join(lines))


class GradingPlugin:
    """Registered with ``pytest.main(plugins=[...])`` by ``grader.lane``."""

    def __init__(self, submission: Path, options: GradeOptions, progress: Path | None = None):
        self.submission = Path(submission)
        self.options = options
        self.seed_value = options.seed
        self.progress = progress  # a file: one JSON line per task collected and per check finished
        self.outcomes: list[TestResult] = []  # one per check, the result model of results.json
        self.import_errors: dict[str, str] = {}
        self.import_limits: dict[str, str] = {}  # task -> the limit that stopped its import (WorkerDied.limit)
        self.students: dict[str, Student] = {}
        self._seen: dict[str, tuple[int, int, int]] = {}  # per task: mutations, notes, retried starts before this check
        self.collect_errors: list[str] = []  # check modules that could not be collected (the grader's own error)

    # -- configuration -----------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): points of this check")
        from hypothesis import HealthCheck, Phase, settings

        settings.register_profile(  # no explain phase: ~100 extra worker calls per failing property
            "grading",
            derandomize=True,
            database=None,
            deadline=None,
            max_examples=20,
            print_blob=False,
            suppress_health_check=list(HealthCheck),
            phases=[p for p in Phase if p != Phase.explain],
        )
        settings.load_profile("grading")
        from grader import expected

        expected.configure(self.options.expected, self.options.expected_dir)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if item.get_closest_marker("points") is None:
                raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.points(n)")
        collected: dict[str, int] = {}
        for item in items:
            collected[task_of(item.path)] = collected.get(task_of(item.path), 0) + 1
        self._tell(*({"task": task, "collected": n} for task, n in collected.items()))

    def _tell(self, *events: dict) -> None:
        """Progress for whoever shows it (grader.runner), one JSON line per event, appended."""
        if self.progress is not None:
            with open(self.progress, "a", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(e) + "\n" for e in events))

    # -- fixtures -----------------------------------------------------------------------------
    @pytest.fixture(scope="session")
    def seed(self) -> int:
        return self.seed_value

    @pytest.fixture(scope="module")
    def student(self, request: pytest.FixtureRequest) -> Student:
        task = BY_NAME[task_of(request.path)]
        if task.name in self.import_errors:
            pytest.skip(self.import_errors[task.name])
        if not (self.submission / task.file).is_file():
            self.import_errors[task.name] = (
                f"{task.file} not found: expected the files of assignments/ "
                f"(found: {', '.join(sorted(p.name for p in self.submission.glob('*.py'))) or 'no .py files'})"
            )
            pytest.skip(self.import_errors[task.name])
        if task.name not in self.students:
            given = {"data.py": GIVEN / "data.py"} if (GIVEN / "data.py").exists() else {}
            limits = task.limits.scaled(self.options.timeout_scale)
            student = Student(
                lambda: Worker(
                    self.submission,
                    task.name,
                    limits,
                    given,
                    use_template=self.options.worker_start == "template",
                    libraries=task.libraries,
                ),
                task.name,
                budget=limits.task_budget,
            )
            try:
                student._live()
            except (ImportFailed, WorkerDied) as exc:
                self.import_errors[task.name] = str(exc)
                self.import_limits[task.name] = getattr(exc, "limit", "")
                pytest.skip(str(exc))
            self.students[task.name] = student
        return self.students[task.name]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # named by the check module's last frame (else its node id) and the error's last line
            text = report.longreprtext.strip()
            frames = [
                f"{p}:{n}"
                for p, n in re.findall(r'File "([^"]+)", line (\d+)', text)
                if Path(p).name.startswith("test_")
            ]
            where = frames[-1] if frames else report.nodeid or "a check module"
            last = re.sub(r"^E\s+", "", (text.splitlines() or ["?"])[-1].strip())
            self.collect_errors.append(f"{where}: {last[:300]}")

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._seen = {name: (len(s.mutations), len(s.notes), s.retried_starts) for name, s in self.students.items()}
        for student in self.students.values():
            student.new_check()

    # -- outcomes -----------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        outcome = yield
        report = outcome.get_result()
        task = task_of(item.path)
        import_failed = report.when == "setup" and report.skipped and task in self.import_errors
        if report.when != "call" and not (report.when == "setup" and report.failed) and not import_failed:
            return
        points = float(item.get_closest_marker("points").args[0])
        doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
        title = item.name + (f": {doc[0]}" if doc else "")
        kind = Path(item.path).parent.name
        record = TestResult(
            task=task,
            name=title,
            visibility=VISIBILITY.get(kind, "visible"),
            max_score=points,
            duration=round(call.duration, 3),
        )
        if import_failed:
            record.status = "import_failed"
            record.limit = self.import_limits.get(task, "")
        elif report.passed:
            record.score, record.status = points, "passed"
        elif call.excinfo is not None:
            record.output = _message(call.excinfo.value)
            record.limit = _limit_of(call.excinfo.value)
            found = diagnoses_of(call.excinfo.value)
            if not found and (error := _student_error(call.excinfo.value)) is not None:
                found = [d for d in [explain_error(error.type, error.message)] if d is not None]
                record.output += "".join(f"\nLikely: {d.message}" for d in found)
            record.mistakes = [d.qualified(task) for d in found]
            if report.when == "setup":
                record.output = "could not set up the check: " + record.output
        student = self.students.get(task)
        if student is not None and record.status == "passed":
            student.checks_passed += 1
        if student is not None:  # what happened on the way, said on the check it happened in
            mutations, notes, retried = self._seen.get(task, (0, 0, 0))
            record.retried = student.retried_starts > retried
            extra = [f"Note: {n}" for n in student.notes[notes:]]
            extra += [
                f"Note (reported by your worker, scored by the task's inputs check): {m}"
                for m in student.mutations[mutations:][:1]
            ]
            if extra:
                record.output = "\n".join(filter(None, [record.output, *extra]))
        self.outcomes.append(record)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple) -> None:
        self._tell({"task": task_of(Path(location[0])), "done": 1})  # every check, however it ended

    def pytest_sessionfinish(self) -> None:
        for student in self.students.values():
            student.close()
        if self.options.expected == "record":
            from grader import expected

            expected.write_recordings()
