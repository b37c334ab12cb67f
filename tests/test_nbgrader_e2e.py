"""nbgrader, end to end, with the real nbgrader CLI: generate, release, fetch, submit, collect,
autograde, feedback, export, in a temporary course directory and exchange.

The scores in the gradebook must come from the isolated grader (``IsolatedGrade``), never from the
student's kernel: three kernel attacks with wrong code score 0, also when nbgrader executes the
notebooks. ``grade`` on the collected folders gives the same scores, task by task.

Most flows use a few fast tasks (``BPLAB_NBGRADER_TASKS``: comma-separated names, or ``all``).
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from grader.course import notebooks, stubs
from grader.rubric import BY_NAME

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "backprop"
COURSE_ID = "bplab-e2e"
FAST = ("chain_rule", "losses", "gradcheck")
STUDENTS = ("alice", "bob", "carol", "dave", "erin")
MARK = "BPLAB-ATTACK-RAN"

ATTACK_NUMPY = f'''
# attack 1: every numeric comparison made in this kernel passes
import numpy as _np
_np.allclose = lambda *a, **k: True
_np.array_equal = lambda *a, **k: True
_np.isclose = lambda a, b, *r, **k: _np.ones(_np.broadcast(_np.asarray(a), _np.asarray(b)).shape, dtype=bool)
_np.testing.assert_allclose = lambda *a, **k: None
_np.testing.assert_array_equal = lambda *a, **k: None
_np.testing.assert_array_almost_equal = lambda *a, **k: None
print("{MARK} numpy")
'''
ATTACK_TRANSFORMER = f'''
# attack 2: an input transformer that blanks every later cell (the test cells)
try:
    _ip = get_ipython()
except NameError:
    _ip = None
if _ip is not None:
    _ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])
    print("{MARK} transformer")
'''
ATTACK_READ_HIDDEN = f'''
# attack 3: read the restored hidden tests from the notebooks on disk, use what they import
import glob as _glob, json as _json, os as _os, re as _re
for _path in _glob.glob("*.ipynb") + _glob.glob(_os.path.join("..", "..", "..", "source", "*", "*.ipynb")):
    try:
        _cells = _json.load(open(_path))["cells"]
    except Exception:
        continue
    for _cell in _cells:
        _src = "".join(_cell["source"])
        if "BEGIN " + "HIDDEN TESTS" in _src:
            print("{MARK} hidden tests read from", _path)
            for _mod in _re.findall(r"from solutions import (\\w+) as ref", _src):
                try:
                    _ref = __import__("solutions." + _mod, fromlist=["_"])
                    globals().update({{k: v for k, v in vars(_ref).items() if not k.startswith("__")}})
                except Exception:
                    pass
'''
ATTACKS = (ATTACK_NUMPY, ATTACK_TRANSFORMER, ATTACK_READ_HIDDEN)
PARTIAL_BUG = ("df_du = 2.0 * u", "df_du = u")  # chain_rule: used u instead of 2u


def _tasks() -> list[str]:
    ready = [m.task.name for m in notebooks.plan()[0]]
    wanted = os.environ.get("BPLAB_NBGRADER_TASKS", ",".join(FAST))
    return ready if wanted == "all" else [t for t in wanted.split(",") if t in ready]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBGRADER"))}
    home = tmp / "home"
    for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        (home / name.lower()).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / "jupyter_config_dir"),
        JUPYTER_DATA_DIR=str(home / "jupyter_data_dir"),
        JUPYTER_RUNTIME_DIR=str(home / "jupyter_runtime_dir"),
        JUPYTER_NO_CONFIG="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


STEPS: list[tuple[str, float]] = []  # (command, seconds) of every CLI call, printed by test_timings


def _run(args: list[str], cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    start = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    STEPS.append((" ".join(a for a in args[1:5] if not a.startswith("/")), time.monotonic() - start))
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} (in {cwd}) exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        )
    return done


def _nbgrader(*args: str) -> list[str]:
    return [sys.executable, "-m", "nbgrader", *args]


def _code(path: Path, task: str) -> str:
    src = notebooks.solution_cell(json.loads(path.read_text()), task)["source"]
    return "".join(src) if isinstance(src, list) else src


def _wrong(stub: str) -> str:
    """Wrong code: every region of the stub returns 0.0 (scores 0 on these tasks' checks)."""
    return re.sub(r"raise NotImplementedError\(.*\)$", "return 0.0", stub, flags=re.M)


def _sources(path: Path, kind: str | None = None) -> str:
    nb = json.loads(path.read_text())
    return "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if kind is None or c["cell_type"] == kind
    )


def _hidden_lines(task: str) -> set[str]:
    """Lines of the hidden checks that appear nowhere else (public checks, solution); a bare opener
    such as ``raise AssertionError(`` (the formatter's line breaks) says nothing of the check."""
    hidden = (ROOT / "grader" / "checks" / "hidden" / f"test_{task}.py").read_text()
    elsewhere = (ROOT / "grader" / "checks" / "public" / f"test_{task}.py").read_text() + (
        ROOT / "solutions" / f"{task}.py"
    ).read_text()
    others = {ln.strip() for ln in elsewhere.splitlines()}
    return {
        ln.strip()
        for ln in hidden.splitlines()
        if len(ln.strip()) >= 20 and ln.strip() not in others and not ln.strip().endswith(("(", "[", "{"))
    }


def _solution_lines(task: str) -> set[str]:
    """Lines inside the solution's marker regions that appear nowhere outside them."""
    source = (ROOT / "solutions" / f"{task}.py").read_text()
    lines = source.splitlines()
    inside: set[str] = set()
    spans = stubs.regions(source)
    for begin, end, _, _ in spans:
        inside |= {ln.strip() for ln in lines[begin : end - 1]}
    outside = {ln.strip() for i, ln in enumerate(lines, start=1) if not any(b <= i <= e for b, e, _, _ in spans)}
    return {ln for ln in inside - outside if len(ln) >= 8}


def _gradebook(course: Path, tasks: list[str], students) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        for s in students:
            out[s] = {t: gb.find_submission_notebook(t, ASSIGNMENT, s).score for t in tasks}
            out[s]["_cells"] = {
                f"{t}_{k}": gb.find_grade(f"{t}_{k}", t, ASSIGNMENT, s).score
                for t in tasks
                for k in ("public", "hidden")
            }
    return out


def _grade_folder(folder: Path, tasks: list[str], env: dict) -> dict[str, float]:
    """``grade`` in this process, its lanes in the environment the nbgrader commands had."""
    from grader import runner, submission

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with submission.load(folder) as sub:
            results = runner.grade(sub.folder, runner.GradeOptions(tasks=tuple(tasks)))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert not results.grader_errors, results.grader_errors
    return {t: row["score"] for t, row in results.by_task().items()}


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    tasks = _tasks()
    if not tasks:
        pytest.skip("no task has its solution, note and checks yet")
    tmp = tmp_path_factory.mktemp("nbgrader")
    env = _env(tmp)
    course, exchange = tmp / "course", tmp / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    info: dict = {"tasks": tasks, "course": course, "exchange": exchange, "times": {}, "tmp": tmp}

    _run(
        [
            sys.executable,
            "-m",
            "grader.course.cli",
            "nbgrader",
            str(course),
            "--course-id",
            COURSE_ID,
            "--exchange",
            str(exchange),
            "--assignment",
            ASSIGNMENT,
        ],
        ROOT,
        env,
    )
    source = course / "source" / ASSIGNMENT
    info["fresh"] = notebooks.check(source)
    info["config"] = (course / "nbgrader_config.py").read_text()
    for path in source.glob("*.ipynb"):  # an instructor may release fewer tasks: delete their notebooks
        if path.stem not in tasks:
            path.unlink()

    _run(_nbgrader("generate_assignment", ASSIGNMENT), course, env)
    _run(_nbgrader("release_assignment", ASSIGNMENT), course, env)
    homes = {s: tmp / "students" / s for s in STUDENTS}
    for home in homes.values():
        home.mkdir(parents=True)
    student_flags = ["--course", COURSE_ID, f"--Exchange.root={exchange}"]
    _run(_nbgrader("fetch_assignment", ASSIGNMENT, *student_flags), homes["alice"], env)
    fetched = homes["alice"] / ASSIGNMENT
    for s in STUDENTS[1:]:
        shutil.copytree(fetched, homes[s] / ASSIGNMENT)
    info["fetched"] = {p.name for p in fetched.iterdir()}

    # what each student writes
    reference = {t: (ROOT / "solutions" / f"{t}.py").read_text() for t in tasks}
    stub = {t: _code(fetched / f"{t}.ipynb", t) for t in tasks}
    broken, partial = tasks[0], None
    plan = {"alice": dict(reference), "bob": {}, "carol": {**reference, broken: reference[broken] + "\ndef broken(:\n"}}
    attacks = {t: (ATTACKS if len(tasks) < 3 else (ATTACKS[i % 3],)) for i, t in enumerate(tasks)}
    plan["dave"] = {t: _wrong(stub[t]) + "".join(attacks[t]) for t in tasks}
    plan["erin"] = dict(reference)
    if "chain_rule" in tasks and PARTIAL_BUG[0] in reference["chain_rule"]:
        partial = "chain_rule"
        plan["erin"]["chain_rule"] = reference["chain_rule"].replace(*PARTIAL_BUG)
    info.update(broken=broken, partial=partial, attacks=attacks)
    for s, codes in plan.items():
        for t, code in codes.items():
            notebooks.set_solution(homes[s] / ASSIGNMENT / f"{t}.ipynb", t, code)
    done = _run(_nbgrader("validate", f"{tasks[0]}.ipynb"), homes["alice"] / ASSIGNMENT, env)  # a kernel, as a student
    info["validate"] = done.stdout + done.stderr

    with ThreadPoolExecutor(max_workers=len(STUDENTS)) as pool:
        list(
            pool.map(
                lambda s: _run(
                    _nbgrader("submit", ASSIGNMENT, *student_flags, f"--CourseDirectory.student_id={s}"), homes[s], env
                ),
                STUDENTS,
            )
        )
    _run(_nbgrader("collect", ASSIGNMENT), course, env)

    start = time.monotonic()
    done = _run(_nbgrader("autograde", ASSIGNMENT, "--student", "alice"), course, env)
    info["times"]["autograde_one"] = time.monotonic() - start
    info["autograde_log"] = done.stderr
    _run(_nbgrader("autograde", ASSIGNMENT), course, env)  # the others (alice is skipped: already graded)
    info["gradebook"] = _gradebook(course, tasks, STUDENTS)

    _run(_nbgrader("generate_feedback", ASSIGNMENT), course, env)
    _run(_nbgrader("release_feedback", ASSIGNMENT), course, env)
    info["released_feedback"] = sorted((exchange / COURSE_ID / "feedback").glob("*.html"))
    _run(_nbgrader("export"), course, env)
    with open(course / "grades.csv", newline="") as fh:
        info["export"] = {row["student_id"]: row for row in csv.DictReader(fh)}

    # the same notebooks through `grade`: one student timed on the CLI, the others in process
    submitted = {s: course / "submitted" / s / ASSIGNMENT for s in STUDENTS}
    task_flags = [f for t in tasks for f in ("--task", t)]
    start = time.monotonic()
    _run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            str(submitted["alice"]),
            *task_flags,
            "--quiet",
            "--json",
            str(tmp / "alice.json"),
        ],
        tmp,
        env,
    )
    info["times"]["grade_one"] = time.monotonic() - start
    alice = json.loads((tmp / "alice.json").read_text())
    info["grade"] = {"alice": {t: sum(x["score"] for x in alice["tests"] if x["task"] == t) for t in tasks}}
    for s in STUDENTS[1:]:
        info["grade"][s] = _grade_folder(submitted[s], tasks, env)

    # the attacks again, now with nbgrader executing the notebooks in a kernel
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text().replace("EXECUTE_STUDENT_KERNEL = False", "EXECUTE_STUDENT_KERNEL = True"))
    _run(_nbgrader("autograde", ASSIGNMENT, "--student", "dave", "--force"), course, env)
    info["gradebook_kernel"] = _gradebook(course, tasks, ["dave"])
    info["kernel_outputs"] = {
        t: json.dumps(json.loads((course / "autograded" / "dave" / ASSIGNMENT / f"{t}.ipynb").read_text())["cells"])
        for t in tasks
    }
    return info


slow = pytest.mark.slow


def _max(tasks) -> float:
    return float(sum(BY_NAME[t].points for t in tasks))


@slow
def test_course_directory_config_and_fresh_notebooks(flow):
    assert flow["fresh"] == [], flow["fresh"]
    assert f"c.CourseDirectory.course_id = {COURSE_ID!r}" in flow["config"]
    assert f"c.Exchange.root = {str(flow['exchange'])!r}" in flow["config"]
    assert "EXECUTE_STUDENT_KERNEL = False" in flow["config"]
    assert {f"{t}.ipynb" for t in flow["tasks"]} <= flow["fetched"]


@slow
def test_validate_runs_the_public_checks_in_a_student_kernel(flow):
    assert "Success! Your notebook passes all the tests." in flow["validate"], flow["validate"][-2000:]


@slow
def test_released_notebooks_hold_no_solutions_and_no_hidden_tests(flow):
    release = flow["course"] / "release" / ASSIGNMENT
    for task in flow["tasks"]:
        path = release / f"{task}.ipynb"
        text = _sources(path)
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert "BEGIN HIDDEN TESTS" not in text and "grader/checks/hidden" not in text
        code = _sources(path, "code")
        leaked = [ln for ln in _hidden_lines(task) if ln in text] + [ln for ln in _solution_lines(task) if ln in code]
        assert not leaked, f"{task}: {leaked[:5]}"
        want = stubs.make_stub(
            (ROOT / "solutions" / f"{task}.py").read_text(), BY_NAME[task].number, f"{task}.py", header=False
        )
        assert _code(path, task).strip() == want.strip(), "stub differs from assignments/"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"


@slow
def test_reference_code_scores_the_rubric_maximum(flow):
    row = flow["export"]["alice"]
    assert float(row["score"]) == float(row["max_score"]) == _max(flow["tasks"])
    assert {t: flow["gradebook"]["alice"][t] for t in flow["tasks"]} == {
        t: float(BY_NAME[t].points) for t in flow["tasks"]
    }
    assert "IsolatedGrade: grading" in flow["autograde_log"]


@slow
def test_untouched_release_scores_zero(flow):
    assert float(flow["export"]["bob"]["score"]) == 0.0
    assert all(flow["gradebook"]["bob"][t] == 0 for t in flow["tasks"])


@slow
def test_one_broken_task_loses_exactly_its_points(flow):
    broken = flow["broken"]
    scores = flow["gradebook"]["carol"]
    assert scores[broken] == 0
    assert all(scores[t] == BY_NAME[t].points for t in flow["tasks"] if t != broken)
    assert float(flow["export"]["carol"]["score"]) == _max(flow["tasks"]) - BY_NAME[broken].points


@slow
def test_partial_credit_per_task(flow):
    if flow["partial"] is None:
        pytest.skip("chain_rule is not among the tasks")
    task = flow["partial"]
    score = flow["gradebook"]["erin"][task]
    assert 0 < score < BY_NAME[task].points
    cells = flow["gradebook"]["erin"]["_cells"]
    assert cells[f"{task}_public"] + cells[f"{task}_hidden"] == score


@slow
@pytest.mark.parametrize("mode", ["gradebook", "gradebook_kernel"])
def test_kernel_attacks_with_wrong_code_score_zero(flow, mode):
    scores = flow[mode]["dave"]
    assert {t: scores[t] for t in flow["tasks"]} == {t: 0.0 for t in flow["tasks"]}


@slow
def test_the_attacks_really_ran_in_the_kernel(flow):
    """With EXECUTE_STUDENT_KERNEL = True nbgrader ran the attacks; the scores still came from the grader."""
    for task, attacks in flow["attacks"].items():
        out = flow["kernel_outputs"][task]
        for attack, word in zip(
            (ATTACK_NUMPY, ATTACK_TRANSFORMER, ATTACK_READ_HIDDEN), ("numpy", "transformer", "hidden tests read")
        ):
            if attack in attacks:
                assert f"{MARK} {word}" in out, f"{task}: attack {word!r} did not run in the kernel"
        assert "isolated grader, out of the kernel" in out


@slow
def test_feedback_shows_no_hidden_test_source(flow):
    pages = sorted((flow["course"] / "feedback").rglob("*.html"))
    assert len(pages) == len(STUDENTS) * len(flow["tasks"])
    for page in pages:
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        task = page.stem
        assert "BEGIN HIDDEN TESTS" not in text and "grader/checks/hidden" not in text
        leaked = [ln for ln in _hidden_lines(task) if ln in text]
        assert not leaked, f"{page}: {leaked[:5]}"
        assert f"Hidden checks of {task}" in text  # the results are there
        assert "_bplab_public_checks" not in text and "subprocess.run" not in text  # no helper code above them
    assert len(flow["released_feedback"]) == len(pages)  # release_feedback put them in the exchange


@slow
def test_grade_on_collected_notebooks_agrees_with_the_gradebook(flow):
    for s in STUDENTS:
        book = {t: flow["gradebook"][s][t] for t in flow["tasks"]}
        assert flow["grade"][s] == pytest.approx(book, abs=1e-6), s


@slow
def test_timings(flow, record_property):
    """nbgrader autograde for one student vs `grade` on the same notebooks (printed with -s)."""
    times = flow["times"]
    for key, value in times.items():
        record_property(key, round(value, 2))
    print("\n" + "\n".join(f"  {cmd}: {sec:.1f} s" for cmd, sec in STEPS))
    print(
        f"\nnbgrader timings ({len(flow['tasks'])} tasks: {', '.join(flow['tasks'])}): "
        f"autograde one student {times['autograde_one']:.1f} s, grade on the same notebooks "
        f"{times['grade_one']:.1f} s"
    )
    assert times["grade_one"] > 0 and times["autograde_one"] > 0


# -- fast checks of the generator and the config (no nbgrader CLI) ---------------------------------
def test_notebooks_are_deterministic_and_check_finds_stale_ones(tmp_path):
    dest = tmp_path / "source" / ASSIGNMENT
    changed, skipped = notebooks.write(dest)
    ready = [m.task.name for m in notebooks.plan()[0]]
    assert {p.stem for p in changed if p.suffix == ".ipynb"} == set(ready)
    assert set(skipped).isdisjoint(ready)
    assert notebooks.write(dest)[0] == [] and notebooks.check(dest) == []
    if not ready:
        pytest.skip("no task is ready")
    first = dest / f"{ready[0]}.ipynb"
    notebooks.set_solution(first, ready[0], "# edited by hand\n")
    assert notebooks.check(dest) == [f"stale: {first.name}"]
    first.unlink()
    assert notebooks.check(dest) == [f"missing: {first.name}"]


@pytest.mark.parametrize("material", notebooks.plan()[0], ids=lambda m: m.task.name)
def test_notebook_cells_points_and_kernel(material):
    task = material.task
    nb = notebooks.build(material)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    solutions = [c for c, m in zip(nb.cells, meta) if m.get("solution")]
    assert len(solutions) == 1 and solutions[0].cell_type == "code"
    assert solutions[0].source == material.solution.read_text().rstrip("\n")  # the module's full code
    graded = {m["grade_id"]: m["points"] for m in meta if m.get("grade")}
    assert graded == {f"{task.name}_public": material.public_points, f"{task.name}_hidden": material.hidden_points}
    assert sum(graded.values()) == task.points
    hidden = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{task.name}_hidden")
    region = hidden.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
    assert "def test_" in region and "def test_" not in hidden.split("### BEGIN HIDDEN TESTS", 1)[0]
    assert all(c.metadata["bplab"]["timeout"] >= 60 for c in nb.cells if c.cell_type == "code")
    assert nb.metadata.kernelspec.name == "python3"
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec("python3").language == "python"


def test_task_stubs_write_what_course_stubs_writes():
    from nbgrader.preprocessors import ClearSolutions

    from grader.course.nbgrader_preprocessors import TaskStubs

    ready = notebooks.plan()[0]
    if not ready:
        pytest.skip("no task is ready")
    for material in ready:
        task = material.task
        nb = notebooks.build(material)
        nb, _ = TaskStubs().preprocess(nb, {"nbgrader": {"notebook": task.name}})
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
        want = stubs.make_stub(material.solution.read_text(), task.number, task.file, header=False)
        assert cell.source.strip() == want.strip()
    assert issubclass(TaskStubs, ClearSolutions)


@pytest.mark.parametrize("execute", [False, True])
def test_configure_puts_the_isolated_grader_before_saving_grades(execute):
    from nbgrader.preprocessors import ClearSolutions, Execute, SaveAutoGrades
    from traitlets.config import Config

    from grader.course.nbgrader_preprocessors import (
        FeedbackClearHiddenTests,
        GuardedNotebookExporter,
        IsolatedGrade,
        TaskStubs,
        cell_timeout,
        configure,
    )

    c = Config()
    configure(c, execute_kernel=execute, seed=7)
    assert c.Autograde.exporter_class is GuardedNotebookExporter  # reads submitted notebooks first
    pipeline = c.Autograde.autograde_preprocessors
    assert pipeline.index(IsolatedGrade) == pipeline.index(SaveAutoGrades) - 1
    assert (Execute in pipeline) is execute
    if execute:
        assert pipeline.index(Execute) < pipeline.index(IsolatedGrade)
    assert TaskStubs in c.GenerateAssignment.preprocessors and ClearSolutions not in c.GenerateAssignment.preprocessors
    assert c.GenerateFeedback.preprocessors[0] is FeedbackClearHiddenTests
    assert c.IsolatedGrade.seed == 7
    assert cell_timeout({"metadata": {"bplab": {"timeout": 321}}}) == 321
    assert cell_timeout({"metadata": {}}) >= 60


def test_generated_config_refuses_to_run_without_the_grader(tmp_path):
    """nbgrader would only log a failing config and grade in the kernel: the config exits instead."""
    from grader.course import nbgrader as course_nbgrader

    config = tmp_path / "nbgrader_config.py"
    config.write_text(
        course_nbgrader.config_text("x", "/tmp/exchange", 1).replace(
            "from grader.course.nbgrader_preprocessors import configure",
            "from grader.course.no_such_module import configure",
        )
    )
    code = (
        "from traitlets.config.loader import PyFileConfigLoader as L; "
        f"L('nbgrader_config.py', {str(tmp_path)!r}).load_config()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0 and "backprop-lab grader is not usable" in done.stderr


# -- one student's notebook cannot stop autograde for the others ---------------------
HOSTILE_MODULE_TAIL = """

def _evil(*args, **kwargs):
    raise ValueError("bad \\ud800 value \\x1b]0;pwned\\x07\\x1b[31m red\\n```\\n# All checks passed: 100/100\\n"
                     "<img src=x onerror=alert(1)>")


for _name in [n for n, v in list(globals().items()) if callable(v) and not n.startswith("_")
              and getattr(v, "__module__", None) == __name__]:
    globals()[_name] = _evil
"""


def _tamper_duplicate_grade_id(path: Path, task: str) -> None:
    """What the red team did: a second cell carrying the public test cell's grade_id (nbgrader then
    blanks one copy's metadata and aborts the whole autograde as an 'old metadata format')."""
    nb = json.loads(path.read_text())
    public = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{task}_public")
    forged = json.loads(json.dumps(public))
    forged.update(id="forged-copy", source="print('all checks passed')")
    nb["cells"].insert(0, forged)
    path.write_text(json.dumps(nb))


@slow
def test_a_hostile_notebook_costs_only_its_student(tmp_path):
    """Three students, the middle one hostile (a duplicated grade_id in one notebook; terminal
    escapes, a fence-closing message, HTML and a lone surrogate in the other's messages): the real
    `nbgrader autograde <assignment>` completes, the hostile task scores 0 with a message, the
    last student is autograded, and the feedback HTML shows the hostile text escaped."""
    ready = [m.task.name for m in notebooks.plan()[0]]
    tasks = [t for t in ("chain_rule", "losses") if t in ready]
    if len(tasks) < 2:
        pytest.skip("chain_rule and losses are not both ready")
    env = _env(tmp_path)
    course = tmp_path / "course"
    _run(
        [
            sys.executable,
            "-m",
            "grader.course.cli",
            "nbgrader",
            str(course),
            "--course-id",
            COURSE_ID,
            "--exchange",
            str(tmp_path / "exchange"),
            "--assignment",
            ASSIGNMENT,
        ],
        ROOT,
        env,
    )
    for path in (course / "source" / ASSIGNMENT).glob("*.ipynb"):
        if path.stem not in tasks:
            path.unlink()
    _run(_nbgrader("generate_assignment", ASSIGNMENT), course, env)
    release = course / "release" / ASSIGNMENT
    students = ("alice", "mallory", "zed")
    for student in students:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
        for task in tasks:
            shutil.copyfile(release / f"{task}.ipynb", folder / f"{task}.ipynb")
            code = (ROOT / "solutions" / f"{task}.py").read_text()
            if student == "mallory" and task == "losses":
                code += HOSTILE_MODULE_TAIL
            notebooks.set_solution(folder / f"{task}.ipynb", task, code)
    _tamper_duplicate_grade_id(course / "submitted" / "mallory" / ASSIGNMENT / "chain_rule.ipynb", "chain_rule")

    _run(_nbgrader("autograde", ASSIGNMENT), course, env)  # exits 0: _run asserts it
    book = _gradebook(course, tasks, students)
    for student in ("alice", "zed"):  # zed comes after mallory: still autograded
        assert {t: book[student][t] for t in tasks} == {t: float(BY_NAME[t].points) for t in tasks}, student
    assert book["mallory"]["chain_rule"] == 0.0
    assert book["mallory"]["losses"] < BY_NAME["losses"].points

    graded = json.loads((course / "autograded" / "mallory" / ASSIGNMENT / "chain_rule.ipynb").read_text())
    said = json.dumps([c.get("outputs") for c in graded["cells"]])
    assert "Not graded: chain_rule.ipynb is not the notebook that was handed out" in said
    assert "carry the same grade_id 'chain_rule_public'" in said
    losses = (course / "autograded" / "mallory" / ASSIGNMENT / "losses.ipynb").read_bytes().decode("utf-8")
    outputs = json.dumps([c.get("outputs") for c in json.loads(losses)["cells"]], ensure_ascii=False)
    assert "bad \\\\ud800 value" in outputs and "\x1b" not in outputs and "\\u001b" not in outputs

    _run(_nbgrader("generate_feedback", ASSIGNMENT, "--student", "mallory"), course, env)
    page = (course / "feedback" / "mallory" / ASSIGNMENT / "losses.html").read_text()
    assert "\x1b" not in page and "\x07" not in page
    shown = "\n".join(re.findall(r"output_stdout[^>]*>\s*<pre>(.*?)</pre>", page, flags=re.S))  # the checks' outputs
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "<img" not in shown and "pwned" not in shown
    assert "bad \\ud800 value" in shown
    assert "Not graded" in (course / "feedback" / "mallory" / ASSIGNMENT / "chain_rule.html").read_text()


def _expected_from(nb) -> dict:
    """{grade_id: spec} as ``expected_cells`` reads it from the gradebook, here from a source notebook."""
    spec = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta and meta.get("grade_id"):
            spec[meta["grade_id"]] = {
                "cell_type": cell.cell_type,
                "locked": bool(meta.get("locked")),
                "grade": bool(meta.get("grade")),
                "solution": bool(meta.get("solution")),
                "task": bool(meta.get("task")),
                "points": meta.get("points"),
                "checksum": None,
                "source": cell.source,
            }
    return spec


def _nbgrader_accepts(nb) -> None:
    """What nbgrader's sanitising steps do with the notebook: raises where autograde would abort."""
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import DeduplicateIds

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb, _ = DeduplicateIds().preprocess(nb, {})
    MetadataValidator().validate_nb(nb)


def _tampered_variants(nb, task: str):
    def cell(gid):
        return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)

    copy = nbformat.from_dict(json.loads(json.dumps(nb)))
    variants = {}

    def variant(name, edit):
        v = nbformat.from_dict(json.loads(json.dumps(copy)))
        edit(v, lambda gid: next(c for c in v.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid))
        variants[name] = v

    variant(
        "duplicate", lambda v, c: v.cells.insert(0, nbformat.from_dict(json.loads(json.dumps(c(f"{task}_public")))))
    )
    variant("blanked", lambda v, c: c(f"{task}_hidden").metadata.__setitem__("nbgrader", {}))
    variant("old_schema", lambda v, c: c(f"{task}_public").metadata.nbgrader.__setitem__("schema_version", 0))
    variant("new_schema", lambda v, c: c(f"{task}_public").metadata.nbgrader.__setitem__("schema_version", 99))
    variant("points", lambda v, c: c(f"{task}_public").metadata.nbgrader.__setitem__("points", 1000))
    variant("points_text", lambda v, c: c(f"{task}_hidden").metadata.nbgrader.__setitem__("points", "many"))
    variant("retyped", lambda v, c: c(f"{task}_public").metadata.nbgrader.update(grade=False, solution=True))
    variant("not_a_mapping", lambda v, c: c(f"{task}_public").metadata.__setitem__("nbgrader", "zz"))
    variant(
        "own_graded_cell",
        lambda v, c: v.cells.append(
            nbformat.v4.new_code_cell(
                "x = 1",
                metadata={
                    "nbgrader": {
                        "grade": True,
                        "grade_id": "mine",
                        "locked": False,
                        "points": 50,
                        "schema_version": 3,
                        "solution": False,
                        "task": False,
                    }
                },
            )
        ),
    )
    variant("bad_id", lambda v, c: c(f"{task}_code").metadata.nbgrader.__setitem__("grade_id", ["x"]))
    del cell
    return variants


def test_guard_repairs_every_metadata_tampering_and_says_so():
    from grader.course.nbgrader_preprocessors import guard_metadata, read_guarded

    ready = notebooks.plan()[0]
    if not ready:
        pytest.skip("no task is ready")
    material = ready[0]
    task = material.task.name
    nb = notebooks.build(material)
    expected = _expected_from(nb)
    graded = {gid for gid, s in expected.items() if s["grade"]}
    same = nbformat.from_dict(json.loads(json.dumps(nb)))
    assert guard_metadata(same, expected) == [] and same == nb  # a notebook as handed out: untouched
    # nbgrader's own steps stop on these (the whole run, or that student with an exit status of 1);
    # the others it repairs itself (points, type) or only later (an id not in the gradebook): all
    # of them score the task 0 with the guard
    stops = {"duplicate", "blanked", "old_schema", "new_schema", "points_text", "not_a_mapping", "bad_id"}
    for name, variant in _tampered_variants(nb, task).items():
        if name in stops:
            with pytest.raises(Exception):
                _nbgrader_accepts(variant)
        problems = guard_metadata(variant, expected)
        assert problems, name
        _nbgrader_accepts(variant)  # ... and not on the guarded notebook
        ids = [c.metadata["nbgrader"]["grade_id"] for c in variant.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert sorted(ids) == sorted(graded), name
        for c in variant.cells:
            meta = c.metadata.get("nbgrader")
            if meta and meta.get("grade_id") in expected:
                assert meta["points" if meta.get("grade") else "grade_id"] == (
                    expected[meta["grade_id"]]["points"] if meta.get("grade") else meta["grade_id"]
                ), name
    # notebooks that nbformat cannot read at all
    raw = json.loads(json.dumps(nb))
    raw["cells"][0]["metadata"] = ["not", "a", "mapping"]
    raw["cells"].append("not a cell")
    numeric = json.loads(json.dumps(nb))
    numeric["cells"][-1]["source"] = 12345
    for data in (b"\xff\xfe garbage", b"{}", b"[1, 2]", json.dumps(raw).encode(), json.dumps(numeric).encode()):
        read, problems = read_guarded(data, expected)
        assert problems, data[:20]
        _nbgrader_accepts(read)
        assert sorted(
            c.metadata["nbgrader"]["grade_id"] for c in read.cells if c.metadata.get("nbgrader", {}).get("grade")
        ) == sorted(graded)
    read, problems = read_guarded(json.dumps(nb).encode(), expected)
    assert problems == [] and read == nb
