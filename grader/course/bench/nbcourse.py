"""A throw-away nbgrader course built by ``course nbgrader`` (the ``nbgrader autograde`` contender)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.course.bench.contenders import ROOT, Variant, grading_env, run_timed
from grader.course.bench.stats import Skipped

ASSIGNMENT = "backprop"  # the nbgrader assignment name (``course nbgrader --assignment``)


def notebook_for(task: str, notebooks: list[Path]) -> Path | None:
    hits = [nb for nb in notebooks if task in nb.stem]
    return min(hits, key=lambda p: len(p.stem)) if hits else None


class NbCourse:
    """A course built by ``course nbgrader`` in ``root``; students added on demand."""

    def __init__(self, root: Path):
        if importlib.util.find_spec("grader.course.nbgrader") is None:
            raise Skipped("grader.course.nbgrader does not exist yet (the nbgrader course generator)")
        bindir = str(Path(sys.executable).parent)
        self.env = grading_env()
        # nbgrader runs `alembic` when it creates a gradebook: the venv's bin must be on PATH
        self.env["PATH"] = bindir + os.pathsep + self.env.get("PATH", "")
        exe = shutil.which("nbgrader", path=self.env["PATH"])
        if exe is None:
            raise Skipped("the nbgrader command is not installed (pip install 'backprop-lab[nbgrader]')")
        self.exe, self.root = exe, root
        proc = subprocess.run(
            [sys.executable, "-m", "grader.course.cli", "nbgrader", str(root), "--assignment", ASSIGNMENT],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            raise Skipped(f"`course nbgrader` failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-300:]}")
        self.source = root / "source" / ASSIGNMENT
        self.release = root / "release" / ASSIGNMENT
        if not self.release.is_dir():
            run_timed(
                [exe, "generate_assignment", ASSIGNMENT, "--force"], root, self.env, 900, "nbgrader generate_assignment"
            )
        self.notebooks = sorted(self.source.glob("*.ipynb"))
        if not self.notebooks or not self.release.is_dir():
            raise Skipped(f"`course nbgrader` wrote no notebooks under source/{ASSIGNMENT}/")
        self.handed_in: dict[str, list[str]] = {}

    def select(self, tasks: list[str]) -> tuple[list[str], str, list[str]]:
        """(notebooks to hand in, a description, graded tasks that have no notebook)."""
        picked = {t: notebook_for(t, self.notebooks) for t in tasks}
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
        nb_path = notebook_for(task, [dest / n for n in chosen]) or dest / chosen[0]
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
        return run_timed(
            [self.exe, "autograde", ASSIGNMENT, "--force", f"--student={students_glob}"],
            self.root,
            self.env,
            3600,
            "nbgrader autograde",
        )

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
