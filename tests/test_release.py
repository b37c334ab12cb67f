"""The student bundle runs the public checks without the reference, leaks nothing, names only what
students have, and installs the grader's CPU builds with the one command its README gives."""

import ast
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from grader import expected
from grader.course import release, stubs
from grader.rubric import TASKS

ROOT = Path(__file__).resolve().parents[1]
NUMPY_TASKS = [t.name for t in TASKS if t.number <= 6]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return release.build(tmp_path_factory.mktemp("release") / "bundle")


def test_bundle_leaks_no_solution_and_no_hidden_check(bundle):
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert not (bundle / "solutions").exists()
    assert not (bundle / "grader" / "checks" / "hidden").exists()
    assert not (bundle / "grader" / "course").exists()
    for path in files:
        if path.suffix in (".py", ".md", ".json", ".toml"):
            text = path.read_text()
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path
    for path in (bundle / "grader").rglob("*.py"):  # the engine never imports the reference
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "solutions" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "solutions", path


def public_grade(bundle: Path, assignments: Path, out: Path) -> dict:
    env = dict(os.environ)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli",
            str(assignments),
            "--public",
            "--quiet",
            "--expected-values",
            "replay",  # the reference is not consulted, as at a student's
            "--json",
            str(out),
            *sum((["--task", t] for t in NUMPY_TASKS), []),
        ],
        cwd=bundle,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_public_checks_run_from_the_bundle(bundle, tmp_path):
    blank = public_grade(bundle, bundle / "assignments", tmp_path / "blank.json")
    assert blank["score"] == 0 and blank["max_score"] > 0
    assert all(t["visibility"] == "visible" for t in blank["tests"])
    work = tmp_path / "assignments"
    shutil.copytree(bundle / "assignments", work)  # the bundle itself stays as students get it
    for name in NUMPY_TASKS:
        shutil.copyfile(ROOT / "solutions" / f"{name}.py", work / f"{name}.py")
    done = public_grade(bundle, work, tmp_path / "done.json")
    failed = [f"{t['task']}: {t['output'][:200]}" for t in done["tests"] if t["status"] != "passed"]
    assert failed == [] and done["score"] == blank["max_score"]


def _same(new, old) -> bool:
    """Equal JSON, floats to a few ulps (BLAS sums in another order on another machine)."""
    if isinstance(new, float) and isinstance(old, (int, float)):
        return math.isclose(new, old, rel_tol=1e-12, abs_tol=1e-300) or (math.isnan(new) and math.isnan(old))
    if isinstance(new, list) and isinstance(old, list):
        return len(new) == len(old) and all(_same(a, b) for a, b in zip(new, old))
    if isinstance(new, dict) and isinstance(old, dict):
        return new.keys() == old.keys() and all(_same(new[k], old[k]) for k in new)
    return new == old


@pytest.mark.slow
def test_recorded_public_values_are_fresh(tmp_path):
    """What `course stubs` would record equals what is committed (and the reference passes with it)."""
    written = stubs.record_public_expected(tmp_path)
    committed = sorted(expected.DEFAULT_DIR.glob("*.json"))
    assert [p.name for p in written] == [p.name for p in committed]
    for new, old in zip(written, committed):
        assert _same(json.loads(new.read_text()), json.loads(old.read_text())), (
            f"{old.name} is stale: run `course stubs`"
        )


def test_release_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not a bundle"):
        release.build(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    again = release.build(tmp_path / "bundle")
    assert release.build(again) == again  # its own bundle is replaced


# --- what students read names only what they have ----------------------------------------------

INSTRUCTOR_ONLY = re.compile(
    r"\bsolutions\b|`course\b|\bcourse (?:stubs|rubric|release|handout|figures|"
    r"nbgrader|gradescope|bench|demo)\b|do not edit|edit the solution"
)


def student_text_files(bundle: Path) -> list[Path]:
    """What a student reads: the README, the notes, the stubs, the install files."""
    return [
        bundle / "README.md",
        bundle / "pyproject.toml",
        bundle / "constraints.txt",
        *sorted((bundle / "reference").rglob("*.md")),
        *sorted((bundle / "assignments").glob("*.py")),
    ]


def test_student_text_names_only_what_students_have(bundle):
    hits = []
    for path in student_text_files(bundle):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if INSTRUCTOR_ONLY.search(line):
                hits.append(f"{path.relative_to(bundle)}:{number}: {line.strip()}")
    assert hits == []
    assert "INSTRUCTOR" not in (bundle / "reference" / "rubric.md").read_text()
    assert not list((bundle / "reference").glob("benchmarks*.md"))  # the grader's speed is the course's business


def test_every_stub_says_it_is_the_students_file(bundle):
    for task in TASKS:
        first = (bundle / "assignments" / task.file).read_text().splitlines()[0]
        assert first.startswith(f"# Your work for Task {task.number} ("), first


def test_student_note_drops_instructor_blocks_and_refuses_leaks():
    text = "Intro.\n\n<!-- BEGIN INSTRUCTOR -->\nRun `course rubric`.\n<!-- END INSTRUCTOR -->\n\nMore.\n"
    assert release.student_note(text) == "Intro.\n\nMore.\n"
    inline = "Code: `x.py`<!-- BEGIN INSTRUCTOR --> (see solutions/x.py)<!-- END INSTRUCTOR -->.\n"
    assert release.student_note(inline) == "Code: `x.py`.\n"
    for leak in ("See `solutions/losses.py`.", "from solutions.autograd import Tensor", "Run `course rubric`."):
        with pytest.raises(SystemExit, match="students do not have"):
            release.student_note("ok\n" + leak, "reference/x.md")
    assert release.student_note("the losses used in the course") == "the losses used in the course"


# --- install: the grader's pins, CPU builds, dependencies that cover the imports -----------------


def documented_install(bundle: Path) -> list[str]:
    """The arguments of the README's `pip install` command (the one that installs every task)."""
    commands = [
        line.strip()
        for line in (bundle / "README.md").read_text().splitlines()
        if line.strip().startswith("pip install") and "[torch,tensorflow]" in line
    ]
    assert len(commands) == 1, commands
    return shlex.split(commands[0])[2:]


def test_bundle_ships_the_graders_pins_and_one_install_command(bundle):
    ours = {line for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines() if "==" in line}
    shipped = {line for line in (bundle / "constraints.txt").read_text().splitlines() if "==" in line}
    assert ours == shipped
    pins = {line.split("==")[0].lower().replace("_", "-") for line in shipped}
    assert {"torch", "tensorflow-cpu", "numpy", "scikit-learn", "mlxtend"} <= pins
    args = documented_install(bundle)
    assert args[:2] == ["-c", "constraints.txt"] and "https://download.pytorch.org/whl/cpu" in args
    assert args == release.INSTALL_ARGS


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _declared(pyproject: Path) -> set[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    names = _requirement_names(project["dependencies"])
    for extra in ("torch", "tensorflow"):
        names |= _requirement_names(project["optional-dependencies"][extra])
    return names


def test_bundle_dependencies_keep_up_with_the_project(bundle):
    assert _declared(ROOT / "pyproject.toml") <= _declared(bundle / "pyproject.toml")


def _imports(path: Path, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = (
        ast.walk(tree)
        if not module_level_only
        else [n for stmt in tree.body for n in ([stmt] if not isinstance(stmt, (ast.If, ast.Try)) else ast.walk(stmt))]
    )
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_bundle_dependencies_cover_what_its_files_import(bundle):
    """Every import of the stubs and data.py (at any depth), and of the engine at module level, is the
    standard library, the bundle itself, or a distribution the bundle's pyproject declares."""
    siblings = {"protocol", "calls", "worker"}  # the sandbox's programs import the modules copied next to them by name
    local = {p.stem for p in (bundle / "assignments").glob("*.py")} | {"grader"} | siblings
    used = {
        name: "assignments/" + p.name
        for p in (bundle / "assignments").glob("*.py")
        for name in _imports(p, module_level_only=False)
    }
    used |= {
        name: str(p.relative_to(bundle))
        for p in (bundle / "grader").rglob("*.py")
        for name in _imports(p, module_level_only=True)
    }
    declared = _declared(bundle / "pyproject.toml")
    distributions = metadata.packages_distributions()
    missing = []
    for name, where in sorted(used.items()):
        if name in sys.stdlib_module_names or name in local:
            continue
        dists = {d.lower().replace("_", "-") for d in distributions.get(name, [])}
        if not dists & declared:
            missing.append(f"{name} ({where}; distribution {sorted(dists) or 'unknown'})")
    assert missing == [], "the bundle's pyproject.toml does not declare these imports"
    assert {"scikit-learn", "mlxtend"} <= declared  # data.py


@pytest.mark.slow
def test_documented_install_pulls_no_cuda(bundle, tmp_path):
    """`pip install --dry-run` of the README's command resolves the CPU builds of the grader's pins:
    no nvidia-* package, no triton."""
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            "--retries",
            "1",
            "--timeout",
            "15",
            *documented_install(bundle),
        ],
        cwd=bundle,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    chosen = {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    cuda = sorted(n for n in chosen if n.startswith("nvidia-") or n == "triton")
    assert cuda == [], f"the documented install pulls GPU packages: {cuda}"
    pins = release.pins()
    for name in ("torch", "tensorflow-cpu", "numpy", "scikit-learn", "mlxtend"):
        assert chosen[name].split("+")[0] == pins[name], (name, chosen[name])


@pytest.mark.slow
def test_fresh_venv_install_of_the_bundle(bundle, tmp_path):
    """A fresh virtual environment, the README's numpy-only command: data.py loads its digits and the
    installed `grade` scores a finished task in full (from another folder: the installed package)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    readme = (bundle / "README.md").read_text()
    numpy_only = shlex.split(release.INSTALL_NUMPY_ONLY)
    assert release.INSTALL_NUMPY_ONLY in readme
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout", "15", *numpy_only[2:]],
        cwd=bundle,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run(
        [str(python), "-c", "import data; print(data.load_digits_8x8()[0].shape, data.load_mnist_subset()[0].shape)"],
        cwd=bundle / "assignments",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "(1797, 64) (5000, 784)" in proc.stdout, proc.stderr[-3000:]
    work = tmp_path / "work"
    shutil.copytree(bundle / "assignments", work)
    shutil.copyfile(ROOT / "solutions" / "chain_rule.py", work / "chain_rule.py")
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [
            str(venv / "bin" / "grade"),
            str(work),
            "--public",
            "--task",
            "chain_rule",
            "--quiet",
            "--json",
            str(out),
            "--expected-values",
            "replay",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] > 0, data["output"]
