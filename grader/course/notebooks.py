"""solutions/ + reference/ + checks -> the nbgrader source notebooks, one per task (``<task>.ipynb``).

Each notebook holds, in order:

- the task's handout note ``reference/<task>.md`` as read-only markdown cells (one per ``##``
  section; figures from ``reference/figures/`` embedded as cell attachments when drawn), with a
  cell after the introduction that says how the notebook is graded;
- ONE solution cell (nbgrader ``solution``) holding the module's full code, ``### BEGIN SOLUTION``
  / ``### END SOLUTION`` markers included: ``nbgrader generate_assignment`` replaces each region by
  the same ``raise NotImplementedError("Task N.M: ...")`` line as ``course stubs`` (see
  ``grader.course.nbgrader_preprocessors.TaskStubs``);
- two graded test cells (nbgrader ``grade``, read-only) whose points are the task's points in
  the checks: the public checks' sum and the hidden checks' sum (together the rubric's points).
  The public cell lists the public checks and, run by a student, runs them on the saved notebook
  with ``grade --public`` when that command exists; the hidden cell holds the hidden checks'
  source as comments between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` (for the
  instructor; nbgrader strips it from the release, our config strips it from the feedback).
  Neither cell decides a score inside a kernel: at autograde time the ``IsolatedGrade``
  preprocessor grades the notebook's code with the isolated grader and writes the scores into
  these cells. Run in a kernel at autograde time (the course config not loaded) they raise, so
  a misconfigured autograde gives 0, never full marks.

A task gets a notebook when its solution, its handout note and both check files exist and the
checks' points add up to the rubric's; otherwise it is skipped with a reason (``plan``). The
notebooks are derived files: ``write`` (re)writes a folder, ``check`` lists what is stale.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import json
import re
import textwrap
from pathlib import Path

import nbformat
from nbformat import v4

from grader.rubric import TASKS, Task

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
REFERENCE = ROOT / "reference"
FIGURES = REFERENCE / "figures"
GIVEN_FILES = ("data.py",)  # copied next to the notebooks (the tasks may import them)
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
SKIP_TAG = "bplab-skip"


class NotebookError(ValueError):
    """A task's material cannot become a notebook (misplaced nbgrader delimiters, ...)."""


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    title: str
    points: float


@dataclasses.dataclass(frozen=True)
class TaskMaterial:
    task: Task
    solution: Path
    note: Path
    public: tuple[Check, ...]
    hidden: tuple[Check, ...]
    hidden_source: str

    @property
    def public_points(self) -> float:
        return sum(c.points for c in self.public)

    @property
    def hidden_points(self) -> float:
        return sum(c.points for c in self.hidden)


# -- what exists -------------------------------------------------------------------------------
def _points(decorator: ast.expr) -> float | None:
    """n of a ``@pytest.mark.points(n)`` decorator, else None."""
    if (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "points"
        and decorator.args
        and isinstance(decorator.args[0], ast.Constant)
    ):
        return float(decorator.args[0].value)
    return None


def read_checks(path: Path) -> tuple[Check, ...]:
    """The checks of one check file, in file order: name, docstring first line, points."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            points = next((p for d in node.decorator_list if (p := _points(d)) is not None), 0.0)
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            found.append(Check(node.name, doc[0] if doc else "", points))
    return tuple(found)


def budget(task: Task) -> int:
    """Seconds a cell of this task may run in a kernel (the public checks of the heavy tasks train)."""
    return int(60 + 10 * task.cost + task.limits.start_timeout)


def plan(tasks: list[str] | None = None) -> tuple[list[TaskMaterial], dict[str, str]]:
    """The tasks that get a notebook, and the reason each other task is skipped."""
    chosen = [t for t in TASKS if tasks is None or t.name in tasks]
    ready, skipped = [], {}
    for task in chosen:
        solution, note = SOLUTIONS / task.file, REFERENCE / f"{task.name}.md"
        files = task.check_files()
        kinds = {p.parent.name: p for p in files}
        missing = [str(p.relative_to(ROOT)) for p in (solution, note) if not p.exists()]
        missing += [f"grader/checks/{k}/test_{task.name}.py" for k in ("public", "hidden") if k not in kinds]
        if missing:
            skipped[task.name] = "missing " + ", ".join(missing)
            continue
        public, hidden = read_checks(kinds["public"]), read_checks(kinds["hidden"])
        total = sum(c.points for c in public + hidden)
        if total != task.points:
            skipped[task.name] = f"its checks declare {total:g} points, the rubric {task.points}"
            continue
        ready.append(TaskMaterial(task, solution, note, public, hidden, kinds["hidden"].read_text(encoding="utf-8")))
    return ready, skipped


# -- cells -------------------------------------------------------------------------------------
def _meta(
    grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = True, points: float | None = None
) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _no_delimiters(text: str, where: str) -> None:
    for word in DELIMITERS:
        if word in text:
            raise NotebookError(f"{where} contains {word!r}: nbgrader would treat that line as a delimiter")


def _sections(note: str) -> list[str]:
    """The note without generated-block comments, split before each ``## `` heading."""
    text = "\n".join(
        ln for ln in note.splitlines() if not re.fullmatch(r"\s*<!-- (BEGIN|END) GENERATED: .* -->\s*", ln)
    )
    parts = re.split(r"(?m)^(?=## )", text.strip() + "\n")
    return [p.strip() + "\n" for p in parts if p.strip()]


def _with_figures(text: str) -> tuple[str, dict]:
    """Embed ``![alt](figures/x.png)`` as a cell attachment (or say where the figure is drawn)."""
    attachments: dict = {}

    def embed(match: re.Match) -> str:
        alt, name = match.group(1), match.group(2)
        path = FIGURES / name
        if path.is_file():
            attachments[name] = {"image/png": base64.b64encode(path.read_bytes()).decode("ascii")}
            return f"![{alt}](attachment:{name})"
        return f"*(Figure: {alt}. Drawn by `course figures` into reference/figures/{name}.)*"

    return re.sub(r"!\[([^\]]*)\]\(figures/([\w.-]+\.png)\)", embed, text), attachments


def _markdown(cell_id: str, text: str) -> nbformat.NotebookNode:
    text, attachments = _with_figures(text)
    cell = v4.new_markdown_cell(text.rstrip("\n"), id=cell_id, metadata=_meta(cell_id))
    if attachments:
        cell.attachments = attachments
    return cell


def _points_text(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def _howto(m: TaskMaterial) -> str:
    t = m.task
    return textwrap.dedent(f"""\
        ## How this notebook is graded

        Task {t.number} is worth **{_points_text(t.points)}**. Write your code in the code cell under
        *Your code*, in place of each `raise NotImplementedError(...)` line; keep the given signatures,
        docstrings and helpers. That cell is your module `{t.file}`. Every code cell you add becomes
        part of the module too, so delete scratch cells (or give them the tag `{SKIP_TAG}`) before you
        submit; lines starting with `%` or `!` are left out.

        The two test cells at the end hold the points: {_points_text(m.public_points)} for the public
        checks (listed in the first; running it checks your **saved** notebook with `grade --public`
        where the course's grader is installed) and {_points_text(m.hidden_points)} for hidden checks.
        At grading time the course's isolated grader runs all of them on the code of this notebook, in
        a separate sandboxed process: nothing your kernel prints or changes affects the score. The
        feedback you get back shows every check, its points and what went wrong.
        """)


def _public_cell(m: TaskMaterial) -> str:
    t = m.task
    lines = [
        f"# Public checks of Task {t.number} ({t.file}): {_points_text(m.public_points)} of {t.points}.",
        f"# grader/checks/public/test_{t.name}.py:",
    ]
    lines += [f"#   - {c.name} ({_points_text(c.points)}): {c.title}" for c in m.public]
    lines += [
        "# At grading time the course's isolated grader runs these checks and the hidden ones on the",
        "# code of this notebook and writes its score here. Running this cell runs the public checks",
        "# on the SAVED notebook (save first), where the course's `grade` command is installed.",
        "import os as _os",
        "import warnings as _warnings",
        "",
        '_os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"',
        '_warnings.filterwarnings("ignore")',
        "",
        "",
        "def _bplab_public_checks(task):",
        "    import re, shutil, subprocess",
        '    if _os.environ.get("NBGRADER_EXECUTION") == "autograde":',
        '        raise RuntimeError("backprop-lab: this cell is scored by the isolated grader; autograde with the "',
        '                           "course\'s nbgrader_config.py (IsolatedGrade preprocessor)")',
        '    grade = shutil.which("grade")',
        "    if grade is None:",
        '        print("The course\'s grader (command `grade`) is not installed here: the checks run when you are graded.")',
        "        return",
        '    env = dict(_os.environ, NO_COLOR="1", TERM="dumb", COLUMNS="110", TF_CPP_MIN_LOG_LEVEL="3")',
        '    env.pop("FORCE_COLOR", None)',
        '    done = subprocess.run([grade, "--public", "--task", task, "."], capture_output=True, text=True, env=env)',
        '    text = re.sub(r"\\x1b\\[[0-9;]*m", "", done.stdout + done.stderr)',
        "    print(text)",
        '    score = re.search(r"Score: ([0-9.]+) / ([0-9.]+)", text)',
        "    if done.returncode != 0 or score is None or float(score[1]) < float(score[2]):",
        '        raise AssertionError(f"public checks of {task}: not all passed (see above)")',
        "",
        "",
        f"_bplab_public_checks({t.name!r})",
    ]
    return "\n".join(lines)


def _hidden_cell(m: TaskMaterial) -> str:
    t = m.task
    lines = [
        f"# Hidden checks of Task {t.number} ({t.file}): {_points_text(m.hidden_points)} of {t.points}, run only by",
        "# the course's isolated grader at grading time; your feedback shows their titles and results.",
        "import os as _os",
        "",
        'if _os.environ.get("NBGRADER_EXECUTION") == "autograde":',
        '    raise RuntimeError("backprop-lab: this cell is scored by the isolated grader; autograde with the "',
        '                       "course\'s nbgrader_config.py (IsolatedGrade preprocessor)")',
        BEGIN_HIDDEN,
        f"# grader/checks/hidden/test_{t.name}.py (for the instructor; never executed here):",
    ]
    lines += [f"# | {ln}".rstrip() for ln in m.hidden_source.splitlines()]
    lines.append(END_HIDDEN)
    return "\n".join(lines)


def build(m: TaskMaterial) -> nbformat.NotebookNode:
    """The source notebook of one task."""
    t = m.task
    code = m.solution.read_text(encoding="utf-8")
    note = m.note.read_text(encoding="utf-8")
    _no_delimiters(note, f"reference/{t.name}.md")
    _no_delimiters(m.hidden_source, f"grader/checks/hidden/test_{t.name}.py")
    if "### BEGIN SOLUTION" not in code:
        raise NotebookError(f"solutions/{t.file} has no ### BEGIN SOLUTION region")
    sections = _sections(note)
    cells = [_markdown(f"{t.name}_note_0", sections[0]), _markdown(f"{t.name}_howto", _howto(m))]
    cells += [_markdown(f"{t.name}_note_{i}", s) for i, s in enumerate(sections[1:], start=1)]
    cells.append(
        _markdown(
            f"{t.name}_code_intro",
            f"## Your code: `{t.file}`\n\nReplace each `raise NotImplementedError(...)` by your implementation.",
        )
    )
    run_meta = {"bplab": {"task": t.name, "timeout": budget(t)}}
    solution = v4.new_code_cell(
        code.rstrip("\n"),
        id=f"{t.name}_code",
        metadata={**_meta(f"{t.name}_code", solution=True, locked=False), **run_meta},
    )
    cells.append(solution)
    cells.append(_markdown(f"{t.name}_checks_intro", f"## Checks ({_points_text(t.points)})"))
    for kind, source, points in (
        ("public", _public_cell(m), m.public_points),
        ("hidden", _hidden_cell(m), m.hidden_points),
    ):
        if points:
            gid = f"{t.name}_{kind}"
            cells.append(
                v4.new_code_cell(source, id=gid, metadata={**_meta(gid, grade=True, points=points), **run_meta})
            )
    nb = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": dict(KERNELSPEC),
            "language_info": {"name": "python"},
            "bplab": {"task": t.name, "number": t.number, "points": t.points, "generated_by": "course nbgrader"},
        },
    )
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def expected_files(tasks: list[str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """{file name: text} of an assignment folder, and the skipped tasks with their reasons."""
    ready, skipped = plan(tasks)
    files = {f"{m.task.name}.ipynb": render(build(m)) for m in ready}
    for name in GIVEN_FILES:
        if (SOLUTIONS / name).exists():
            files[name] = (SOLUTIONS / name).read_text(encoding="utf-8")
    return files, skipped


def write(dest: Path, tasks: list[str] | None = None) -> tuple[list[Path], dict[str, str]]:
    """(Re)write the assignment folder ``dest``; return the files changed and the skipped tasks."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    files, skipped = expected_files(tasks)
    changed = []
    for name, text in files.items():
        target = dest / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    return changed, skipped


def check(dest: Path, tasks: list[str] | None = None, assignment: str = "backprop") -> list[str]:
    """Problems of the assignment folder ``dest``: ``stale: x``, ``missing: x``, ``unexpected: x``.

    ``dest`` is ``source/<assignment>/`` or the course directory holding it. ``unexpected`` names a
    task notebook that would not be generated now (its task is skipped). Other files (an
    instructor's extra notebook) are left alone.
    """
    dest = Path(dest)
    if (dest / "source" / assignment).is_dir():
        dest = dest / "source" / assignment
    files, _ = expected_files(tasks)
    problems = []
    for name, text in files.items():
        target = dest / name
        if not target.exists():
            problems.append(f"missing: {name}")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"stale: {name}")
    task_notebooks = {f"{t.name}.ipynb" for t in TASKS if tasks is None or t.name in tasks}
    problems += [
        f"unexpected: {p.name}"
        for p in sorted(dest.glob("*.ipynb"))
        if p.name in task_notebooks and p.name not in files
    ]
    return problems


def solution_cell(nb: dict, task: str) -> dict:
    """The solution cell of a task notebook (a notebook as a dict, e.g. ``json.load``-ed)."""
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"{task}_code":
            return cell
    raise KeyError(f"{task}: no solution cell")


def set_solution(path: Path, task: str, code: str) -> None:
    """Replace the code of a task notebook's solution cell (what a student does, for tests)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    solution_cell(nb, task)["source"] = code
    Path(path).write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
