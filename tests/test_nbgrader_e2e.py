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
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "jupyter_config_dir"),
               JUPYTER_DATA_DIR=str(home / "jupyter_data_dir"), JUPYTER_RUNTIME_DIR=str(home / "jupyter_runtime_dir"),
               JUPYTER_NO_CONFIG="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               PYTHONDONTWRITEBYTECODE="1")
    return env


STEPS: list[tuple[str, float]] = []  # (command, seconds) of every CLI call, printed by test_timings


def _run(args: list[str], cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    start = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    STEPS.append((" ".join(a for a in args[1:5] if not a.startswith("/")), time.monotonic() - start))
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} (in {cwd}) exited {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
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
    return "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                     for c in nb["cells"] if kind is None or c["cell_type"] == kind)


def _hidden_lines(task: str) -> set[str]:
    """Lines of the hidden checks that appear nowhere else (public checks, solution)."""
    hidden = (ROOT / "grader" / "checks" / "hidden" / f"test_{task}.py").read_text()
    elsewhere = (ROOT / "grader" / "checks" / "public" / f"test_{task}.py").read_text() + \
        (ROOT / "solutions" / f"{task}.py").read_text()
    others = {ln.strip() for ln in elsewhere.splitlines()}
    return {ln.strip() for ln in hidden.splitlines() if len(ln.strip()) >= 20 and ln.strip() not in others}


def _solution_lines(task: str) -> set[str]:
    """Lines inside the solution's marker regions that appear nowhere outside them."""
    source = (ROOT / "solutions" / f"{task}.py").read_text()
    lines = source.splitlines()
    inside: set[str] = set()
    spans = stubs.regions(source)
    for begin, end, _, _ in spans:
        inside |= {ln.strip() for ln in lines[begin:end - 1]}
    outside = {ln.strip() for i, ln in enumerate(lines, start=1) if not any(b <= i <= e for b, e, _, _ in spans)}
    return {ln for ln in inside - outside if len(ln) >= 8}


def _gradebook(course: Path, tasks: list[str], students) -> dict:
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        for s in students:
            out[s] = {t: gb.find_submission_notebook(t, ASSIGNMENT, s).score for t in tasks}
            out[s]["_cells"] = {f"{t}_{k}": gb.find_grade(f"{t}_{k}", t, ASSIGNMENT, s).score
                                for t in tasks for k in ("public", "hidden")}
    return out


def _grade_folder(folder: Path, tasks: list[str], env: dict) -> dict[str, float]:
    """``grade`` in this process, its lanes in the environment the nbgrader commands had."""
    from grader import runner, submission
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with submission.load(folder) as sub:
            results = runner.grade(sub.folder, tasks=tasks)
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

    _run([sys.executable, "-m", "grader.course.cli", "nbgrader", str(course), "--course-id", COURSE_ID,
          "--exchange", str(exchange), "--assignment", ASSIGNMENT], ROOT, env)
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
        list(pool.map(lambda s: _run(_nbgrader("submit", ASSIGNMENT, *student_flags,
                                               f"--CourseDirectory.student_id={s}"), homes[s], env), STUDENTS))
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
    _run([sys.executable, "-m", "grader.cli", str(submitted["alice"]), *task_flags, "--quiet",
          "--json", str(tmp / "alice.json")], tmp, env)
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
    info["kernel_outputs"] = {t: json.dumps(json.loads((course / "autograded" / "dave" / ASSIGNMENT / f"{t}.ipynb")
                                                       .read_text())["cells"]) for t in tasks}
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
        want = stubs.make_stub((ROOT / "solutions" / f"{task}.py").read_text(), BY_NAME[task].number, f"{task}.py")
        assert _code(path, task).strip() == want.split("\n", 1)[1].strip(), "stub differs from assignments/"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"


@slow
def test_reference_code_scores_the_rubric_maximum(flow):
    row = flow["export"]["alice"]
    assert float(row["score"]) == float(row["max_score"]) == _max(flow["tasks"])
    assert {t: flow["gradebook"]["alice"][t] for t in flow["tasks"]} == {t: float(BY_NAME[t].points) for t in flow["tasks"]}
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
        for attack, word in zip((ATTACK_NUMPY, ATTACK_TRANSFORMER, ATTACK_READ_HIDDEN),
                                ("numpy", "transformer", "hidden tests read")):
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
    print(f"\nnbgrader timings ({len(flow['tasks'])} tasks: {', '.join(flow['tasks'])}): "
          f"autograde one student {times['autograde_one']:.1f} s, grade on the same notebooks "
          f"{times['grade_one']:.1f} s")
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
        want = stubs.make_stub(material.solution.read_text(), task.number, task.file)
        assert cell.source.strip() == want.split("\n", 1)[1].strip()
    assert issubclass(TaskStubs, ClearSolutions)


@pytest.mark.parametrize("execute", [False, True])
def test_configure_puts_the_isolated_grader_before_saving_grades(execute):
    from nbgrader.preprocessors import ClearSolutions, Execute, SaveAutoGrades
    from traitlets.config import Config
    from grader.course.nbgrader_preprocessors import (FeedbackClearHiddenTests, IsolatedGrade, TaskStubs,
                                                      cell_timeout, configure)
    c = Config()
    configure(c, execute_kernel=execute, seed=7)
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
    config.write_text(course_nbgrader.config_text("x", "/tmp/exchange", 1).replace(
        "from grader.course.nbgrader_preprocessors import configure", "from grader.course.no_such_module import configure"))
    code = ("from traitlets.config.loader import PyFileConfigLoader as L; "
            f"L('nbgrader_config.py', {str(tmp_path)!r}).load_config()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0 and "backprop-lab grader is not usable" in done.stderr
