"""nbgrader preprocessors of the course, and ``configure(c)`` that puts them in nbgrader's pipelines.

The generated ``nbgrader_config.py`` calls ``configure(c)``, which sets:

- ``GenerateAssignment``: ``TaskStubs`` instead of nbgrader's ``ClearSolutions``: the same
  preprocessor, but each ``### BEGIN SOLUTION`` region becomes the line ``course stubs`` writes,
  ``raise NotImplementedError("Task N.M: implement <function> (<docstring first line>)")``, so
  the released notebook holds exactly ``assignments/<task>.py`` (less its "Generated" header line).
- ``Autograde``: ``GuardedNotebookExporter`` reads each submitted notebook, before any of nbgrader's
  steps: a notebook that is not readable, or whose nbgrader metadata is malformed, duplicated
  (a second cell with a graded cell's ``grade_id``) or tampered with (flags, points, cell type or
  schema version of a graded cell changed, a graded cell of its own), is repaired so that nbgrader
  accepts it (the course's cells restored from the gradebook, foreign nbgrader metadata removed)
  and recorded; ``IsolatedGrade`` then scores that task 0 with a message saying why, without
  grading it. One student's notebook can no longer stop ``nbgrader autograde`` for the others
  (nbgrader aborts the whole run on metadata it takes for an "old metadata format").
- ``Autograde``: ``IsolatedGrade`` just before ``SaveAutoGrades``. It takes the module source from
  the (sanitised) submitted notebook with ``grader.submission.notebook_to_source``, grades it
  with ``grader.runner.grade`` (trusted lanes, one sandboxed worker per task: the student's
  kernel plays no part; at a student's first notebook all of that student's task notebooks are
  graded at once, in parallel lanes, and a later notebook reuses that only if its own source is
  the one graded), and writes the outcome into the task's two graded cells: a
  ``stdout`` stream with the checks' results, then an ``execute_result`` whose text is the score,
  which nbgrader's ``utils.determine_grade`` reads as partial credit (0 <= score <= points).
  ``SaveAutoGrades`` then stores those scores in the gradebook.
  By default nbgrader's ``Execute`` is removed, so student code never runs in a kernel at
  grading time (a kernel runs as the instructor, unsandboxed: it could read the reference,
  print hidden checks into its outputs, which the feedback shows, or rewrite files on disk).
  ``execute_kernel=True`` keeps ``Execute`` (outputs of the student's cells in the feedback);
  the scores still come from ``IsolatedGrade``, cells get a per-task timeout
  (``cell_timeout``) and TensorFlow logs / Python warnings are silenced.
- ``GenerateFeedback``: ``FeedbackClearHiddenTests`` first, so the feedback HTML shows the hidden
  checks' results but not their source (nbgrader shows hidden tests in feedback by design,
  nbgrader#917). It is nbgrader's ``ClearHiddenTests`` restricted to the graded test cells: the
  student's own cells are shown as written (a student's stray ``BEGIN HIDDEN TESTS`` line would
  otherwise make the feedback of that notebook fail).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from nbformat import v4
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from grader import text as _text
from grader.course.nbgrader_guard import (
    PROBLEMS,
    GuardedNotebookExporter,
    expected_cells,
    guard_metadata,
    problems_key,
    read_guarded,
)
from grader.options import DEFAULT_SEED

__all__ = [
    "TaskStubs",
    "FeedbackClearHiddenTests",
    "IsolatedGrade",
    "GuardedNotebookExporter",
    "configure",
    "grade_sources",
    "module_source",
    "cell_timeout",
    "guard_metadata",
    "read_guarded",
    "expected_cells",
]

DEFAULT_TIMEOUT = 300
MAX_OUTPUT = 1500  # characters of one check's message in a cell output


class TaskStubs(ClearSolutions):
    """nbgrader's ClearSolutions, with each region's stub naming the task and function (as ``course stubs``)."""

    def preprocess(self, nb, resources):
        from grader.rubric import BY_NAME

        self._task = BY_NAME.get(resources.get("nbgrader", {}).get("notebook", ""))
        return super().preprocess(nb, resources)

    def _replace_solution_region(self, cell, language):
        task = getattr(self, "_task", None)
        if cell.cell_type != "code" or task is None or self.begin_solution_delimeter not in cell.source:
            return super()._replace_solution_region(cell, language)
        from grader.course import stubs

        try:  # the one producer of stubs: the cell becomes exactly what `course stubs` writes
            stub = stubs.make_stub(cell.source, task.number, task.file, header=False)
        except (SyntaxError, stubs.MarkerError) as exc:
            self.log.warning("%s: generic stubs (%s)", task.name, exc)
            return super()._replace_solution_region(cell, language)
        changed = stub != cell.source
        cell.source = stub
        return changed


class FeedbackClearHiddenTests(ClearHiddenTests):
    """nbgrader's ClearHiddenTests for the feedback: only graded test cells (not the student's cells)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and nbgrader_utils.is_grade(cell) and not nbgrader_utils.is_solution(cell):
            try:
                self._remove_hidden_test_region(cell)
            except RuntimeError:  # unbalanced markers: show none of the cell's source
                cell.source = "# (source hidden)"
            if "def _bplab_public_checks(" in cell.source:  # the list of checks, not the code that runs them
                comments = [ln for ln in cell.source.splitlines() if ln.startswith("#")]
                cell.source = "\n".join(comments + ["# (the code that runs the public checks is not shown here)"])
        return cell, resources


def _score_text(score: float) -> str:
    return f"{round(score, 4):g}"


def module_source(nb) -> str:
    """The module source of a task notebook (nbformat node or dict), as ``grade`` reads it."""
    from grader import submission

    with tempfile.TemporaryDirectory(prefix="bplab-nb-") as tmp:
        path = Path(tmp) / "task.ipynb"
        path.write_text(json.dumps(nb), encoding="utf-8")
        return submission.notebook_to_source(path)


def grade_sources(sources: dict[str, str], seed: int | None = None, allow_unsandboxed: bool = False):
    """Grade {task: module source} with the isolated grader (parallel lanes); return Results. Refuses
    (SandboxUnavailable) where bubblewrap cannot run, unless ``allow_unsandboxed``."""
    from grader import runner

    with tempfile.TemporaryDirectory(prefix="bplab-nbgrader-") as tmp:
        folder = Path(tmp) / "submission"
        folder.mkdir()
        for task, source in sources.items():
            (folder / f"{task}.py").write_text(source, encoding="utf-8")
        return runner.grade(
            folder,
            runner.GradeOptions(
                tasks=tuple(sorted(sources)),
                allow_unsandboxed=allow_unsandboxed,
                seed=DEFAULT_SEED if seed is None else seed,
            ),
        )


# One student's results, graded all tasks at once at that student's first notebook (parallel lanes
# instead of one grade per notebook). A notebook uses them only if its own (sanitised) source is
# exactly the source that was graded; otherwise it is graded again alone.
_BATCH: dict = {"key": None, "sources": {}, "results": None, "at": 0.0}
_BATCH_TTL = 600.0


def _report(title: str, tests: list, score: float, max_score: float, notes: list[str]) -> str:
    """The text of a graded cell's stdout output: plain text (nbconvert escapes it for HTML), with
    no control characters and each message bounded (``grader.text``)."""
    lines = [f"{title}: {_score_text(score)} / {_score_text(max_score)} (isolated grader, out of the kernel)"]
    lines += [_text.clean(n) for n in notes]
    for t in tests:
        mark = "PASS" if t.passed else "FAIL"
        lines.append(f"{mark} {_text.clean_line(t.name, 500)}: {_score_text(t.score)}/{_score_text(t.max_score)}")
        if t.output and not t.passed:
            lines += ["    " + ln for ln in _text.clean(t.output, MAX_OUTPUT).splitlines()]
    return "\n".join(lines) + "\n"


class IsolatedGrade(NbGraderPreprocessor):
    """Scores a task notebook's graded cells with the isolated grader (``grader.runner.grade``)."""

    seed = Integer(None, allow_none=True, help="seed of the hidden inputs (default: grade's)").tag(config=True)
    allow_unsandboxed = Bool(
        False,
        help="grade even where bubblewrap cannot run (student code then runs "
        "with nbgrader's rights; every result says so)",
    ).tag(config=True)
    variants_key_file = Unicode(
        "",
        help="a key file: each student is graded on their own hidden inputs "
        "(HMAC of the key and the student id), as `grade --variants`",
    ).tag(config=True)

    def seed_for(self, student: str | None):
        """(seed, variant record or None) of ``student``: their variant when a key is configured."""
        if not self.variants_key_file:
            return self.seed, None
        from grader import runner

        variant = runner.variant_for(runner.read_variant_key(Path(self.variants_key_file)), str(student or ""))
        return variant.seed, variant.record()

    def preprocess(self, nb, resources):
        from grader.rubric import BY_NAME

        task = resources.get("nbgrader", {}).get("notebook", "")
        if task not in BY_NAME:
            self.log.warning("IsolatedGrade: %s is not a task notebook of backprop-lab; left as it is", task)
            return nb, resources
        cells = {
            kind: c
            for c in nb.cells
            for kind in ("public", "hidden")
            if c.cell_type == "code"
            and isinstance(c.get("metadata", {}).get("nbgrader"), dict)
            and c.metadata.nbgrader.get("grade")
            and c.metadata.nbgrader.get("grade_id") == f"{task}_{kind}"
        }
        student = _text.clean_line(resources.get("nbgrader", {}).get("student", "?"), 100)
        problems = PROBLEMS.get(problems_key(resources.get("nbgrader", {})))
        if problems:  # the student's notebook was not what nbgrader handed out: 0, and why
            return self._not_graded(nb, task, cells, problems, student), resources
        results = self._results(nb, task, resources)
        rows = [t for t in results.tests if t.task == task]
        unfinished = [t for t in rows if t.name == f"{task}: grading did not finish"]
        if unfinished or not rows:  # the grader itself failed: no score rather than a wrong one
            raise RuntimeError(
                f"IsolatedGrade: the grader failed on {task} of {student}: "
                + ("; ".join(_text.clean_line(e, 300) for e in results.grader_errors) or "no results")
            )
        groups = {
            "public": [t for t in rows if t.visibility == "visible"],
            "hidden": [t for t in rows if t.visibility != "visible"],
        }
        import_failed = [t for t in rows if t.status == "import_failed" or t.name.endswith(f"import {task}.py")]
        for kind, cell in cells.items():
            tests = groups[kind]
            points = float(cell.metadata.nbgrader["points"])
            got, top = sum(t.score for t in tests), sum(t.max_score for t in tests)
            notes = []
            if import_failed and kind == "hidden" and not tests:
                notes.append(f"Not run: {import_failed[0].name} failed (see the public checks).")
            if top and abs(top - points) > 1e-9 and not import_failed:
                self.log.warning(
                    "IsolatedGrade: %s %s checks are worth %g, the cell %g: scaled (regenerate the assignment)",
                    task,
                    kind,
                    top,
                    points,
                )
            score = min(points, max(0.0, round(got * points / top, 4))) if top else 0.0
            title = f"{'Public' if kind == 'public' else 'Hidden'} checks of {task}"
            cell.outputs = [
                v4.new_output("stream", name="stdout", text=_report(title, tests, score, points, notes)),
                v4.new_output("execute_result", data={"text/plain": _score_text(score)}, execution_count=None),
            ]
            cell.execution_count = None
            cell.metadata["bplab"] = {
                **cell.metadata.get("bplab", {}),
                "score": score,
                "max_score": points,
                "seed": results.seed,
                "isolation": results.isolation,
            }
        missing = {"public", "hidden"} - set(cells)
        if missing:
            self.log.warning("IsolatedGrade: %s has no %s cell", task, " or ".join(sorted(missing)))
        return nb, resources

    def _not_graded(self, nb, task: str, cells: dict, problems: list[str], student: str):
        """Score 0 in the task's graded cells, with what was wrong with the submitted notebook."""
        said = _text.bound_total([_text.clean(p, 300) for p in problems[:20]], 3000)
        more = [f"... and {len(problems) - 20} more"] if len(problems) > 20 else []
        notes = (
            [
                f"Not graded: {task}.ipynb is not the notebook that was handed out. Its nbgrader "
                f"metadata is malformed, duplicated or was changed, so this task scores 0:"
            ]
            + [f"  - {p}" for p in said + more]
            + [
                "Fetch the assignment again, copy your code into the new notebook without changing "
                "its graded cells, and submit again (or ask the course staff)."
            ]
        )
        self.log.warning(
            "IsolatedGrade: %s of %s scores 0: its nbgrader metadata was malformed or changed", task, student
        )
        for kind, cell in cells.items():
            points = float(cell.metadata.nbgrader.get("points") or 0)
            title = f"{'Public' if kind == 'public' else 'Hidden'} checks of {task}"
            cell.outputs = [
                v4.new_output("stream", name="stdout", text=_report(title, [], 0.0, points, notes)),
                v4.new_output("execute_result", data={"text/plain": _score_text(0.0)}, execution_count=None),
            ]
            cell.execution_count = None
            cell.metadata["bplab"] = {
                **cell.metadata.get("bplab", {}),
                "score": 0.0,
                "max_score": points,
                "not_graded": "nbgrader metadata malformed or changed",
            }
        return nb

    def _submitted_folder(self, resources) -> Path:
        from nbgrader.coursedir import CourseDirectory

        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        return Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))

    def _submitted_sources(self, folder: Path, info: dict | None = None) -> dict[str, str]:
        """{task: source} of the task notebooks in the student's submitted folder that this run grades
        (not those that will score 0 for their nbgrader metadata: they are not graded)."""
        import fnmatch

        from nbgrader.coursedir import CourseDirectory

        from grader import submission
        from grader.rubric import BY_NAME

        pattern = CourseDirectory(config=self.config).notebook_id
        sources = {}
        for p in sorted(folder.glob("*.ipynb")):
            if p.stem not in BY_NAME or p.is_symlink() or not fnmatch.fnmatch(p.stem, pattern):
                continue
            if info and info.get("db_url"):
                try:
                    expected = expected_cells(info["db_url"], info["assignment"], p.stem)
                    if read_guarded(p.read_bytes(), expected)[1]:
                        continue
                except Exception:
                    continue
            sources[p.stem] = submission.notebook_to_source(p)
        return sources

    def _results(self, nb, task: str, resources):
        import time

        info = resources.get("nbgrader", {})
        source = module_source(nb)
        try:
            folder = self._submitted_folder(resources)
            stamp = (folder / "timestamp.txt").read_text() if (folder / "timestamp.txt").exists() else ""
        except Exception as exc:  # no course directory in reach: grade this notebook alone
            self.log.warning("IsolatedGrade: grading %s alone (%s)", task, exc)
            folder, stamp = None, ""
        seed, variant = self.seed_for(info.get("student"))
        key = (info.get("db_url"), info.get("assignment"), info.get("student"), stamp, seed)
        fresh = folder is not None and _BATCH["key"] == key and time.monotonic() - _BATCH["at"] < _BATCH_TTL
        if not fresh:
            sources = {}
            if folder is not None:
                try:
                    sources = self._submitted_sources(folder, info)
                except Exception as exc:  # an unreadable notebook: the others are graded one by one
                    self.log.warning("IsolatedGrade: grading %s alone (%s)", task, exc)
            sources[task] = source
            self.log.info(
                "IsolatedGrade: grading %s of %s out of the kernel", ", ".join(sorted(sources)), info.get("student")
            )
            _BATCH.update(
                key=key,
                sources=sources,
                results=grade_sources(sources, seed, self.allow_unsandboxed),
                at=time.monotonic(),
            )
            _BATCH["results"].variant = variant
        if _BATCH["sources"].get(task) == source:
            return _BATCH["results"]
        self.log.info("IsolatedGrade: grading %s of %s out of the kernel", task, info.get("student"))
        results = grade_sources({task: source}, seed, self.allow_unsandboxed)
        results.variant = variant
        return results


def cell_timeout(cell) -> int:
    """Execute.timeout_func: the task's budget stored in the cell's metadata by ``course nbgrader``."""
    try:
        return int(cell.get("metadata", {}).get("bplab", {}).get("timeout", DEFAULT_TIMEOUT))
    except (TypeError, ValueError, AttributeError):
        return DEFAULT_TIMEOUT


def configure(c, *, execute_kernel: bool = False, seed: int | None = None) -> None:
    """Put the course's preprocessors into nbgrader's pipelines (``c``: the traitlets config)."""
    from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
    from nbgrader.preprocessors import Execute, SaveAutoGrades

    def default(cls, name):
        return list(cls.class_traits()[name].default())

    c.GenerateAssignment.preprocessors = [
        TaskStubs if p is ClearSolutions else p for p in default(GenerateAssignment, "preprocessors")
    ]
    c.ClearSolutions.code_stub = {"python": 'raise NotImplementedError("write your code here")'}

    c.Autograde.exporter_class = GuardedNotebookExporter  # before any of nbgrader's own steps
    pipeline = [p for p in default(Autograde, "autograde_preprocessors") if execute_kernel or p is not Execute]
    pipeline.insert(pipeline.index(SaveAutoGrades), IsolatedGrade)
    c.Autograde.autograde_preprocessors = pipeline
    if seed is not None:
        c.IsolatedGrade.seed = seed

    c.GenerateFeedback.preprocessors = [FeedbackClearHiddenTests] + [
        p for p in default(GenerateFeedback, "preprocessors") if not issubclass(p, ClearHiddenTests)
    ]

    # only matters where a kernel runs: execute_kernel=True, and `nbgrader validate`
    c.Execute.timeout_func = cell_timeout
    c.Execute.timeout = DEFAULT_TIMEOUT
    c.Execute.kernel_name = "python3"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
