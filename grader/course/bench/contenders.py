"""What the comparisons run: ``grade`` subprocesses under one environment, and the submissions.

A class is made of reference copies and broken variants (the blank stubs, a syntax error, a
planted mistake from ``tests/mistakes/``: the bench runs from a checkout, so it may use them).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from grader.sandbox.process import LIBRARIES_ONE_THREAD

ROOT = Path(__file__).resolve().parents[3]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
MISTAKES = ROOT / "tests" / "mistakes"
SINGLE_THREAD = {**LIBRARIES_ONE_THREAD, "PYTHONWARNINGS": "ignore"}


def grading_env() -> dict[str, str]:
    """The same environment for every contender: this one, with single-threaded libraries (as in
    the grader's own lanes and workers) and without a parent's isolation hand-over, so that each
    ``grade`` decides its isolation as it does when a person runs it."""
    env = {k: v for k, v in os.environ.items() if k != "BPLAB_ISOLATION_PROBED"}
    env.update(SINGLE_THREAD)
    return env


def copy_modules(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.py")):
        if path.name != "__init__.py":
            shutil.copyfile(path, dest / path.name)
    return dest


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 3600, what: str = "") -> float:
    """Run a command; return its wall time; raise with the tail of its output if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stdout.decode(errors="replace").strip()[-600:]
        raise RuntimeError(f"{what or shlex.join(cmd[:4])} exited {proc.returncode}: {tail}")
    return elapsed


def task_args(tasks: list[str]) -> list[str]:
    """``--task`` options, unless every task is graded (then ``grade`` runs as is)."""
    from grader.rubric import TASKS

    if sorted(tasks) == sorted(t.name for t in TASKS):
        return []
    return [a for t in tasks for a in ("--task", t)]


def grade_cmd(sub: Path, tasks: list[str], json_out: Path | None = None, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "grader.cli", str(sub), "--quiet", *task_args(tasks), *extra]
    return cmd + (["--json", str(json_out)] if json_out else [])


def batch_cmd(folder: Path, out: Path, tasks: list[str]) -> list[str]:
    return [sys.executable, "-m", "grader.cli", str(folder), "--batch", "--out", str(out), "--quiet", *task_args(tasks)]


def json_score(path: Path) -> tuple[float, float] | None:
    try:
        data = json.loads(path.read_text())
        return float(data["score"]), float(data["max_score"])
    except Exception:
        return None


def score_text(score: tuple[float, float] | None) -> str:
    return f"{score[0]:g}/{score[1]:g}" if score else "?"


# ---------------------------------------------------------------------------------------------
# the class: reference copies and broken variants
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Variant:
    key: str
    label: str
    build: Callable[[Path], Path]
    patch: tuple[str, str, str] | None = None  # (task, find, replace) for the notebook version


def planted_mistakes(task: str) -> dict[str, dict]:
    """tests/mistakes/<task>.py's catalog (name -> find, replace, ...) whose text is in the reference;
    {} without one."""
    path = MISTAKES / f"{task}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"bplab_bench_mistakes_{task}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = (SOLUTIONS / f"{task}.py").read_text()
    return {name: m for name, m in module.MISTAKES.items() if m.get("find") and m["find"] in source}


def mistake_catalog(tasks: list[str]) -> tuple[str, str, dict] | None:
    """The first planted mistake of tests/mistakes/<task>.py (for the tasks graded) that applies."""
    for task in tasks:
        try:
            found = planted_mistakes(task)
        except Exception:
            continue
        for name, m in found.items():
            return task, name, m
    return None


def variants(tasks: list[str]) -> list[Variant]:
    """The reference and the broken variants a class is made of (the reference first)."""
    out = [Variant("reference", "reference copy", lambda d: copy_modules(SOLUTIONS, d))]
    if ASSIGNMENTS.is_dir() and any(ASSIGNMENTS.glob("*.py")):
        out.append(Variant("stubs", "blank stubs (assignments/)", lambda d: copy_modules(ASSIGNMENTS, d)))
    target = tasks[-1] if tasks else "losses"
    broken_def = "\n\ndef broken(:\n    pass\n"

    def syntax(d: Path) -> Path:
        copy_modules(SOLUTIONS, d)
        with open(d / f"{target}.py", "a") as fh:
            fh.write(broken_def)
        return d

    out.append(Variant("syntax", f"syntax error in {target}.py", syntax, (target, "", broken_def)))
    found = mistake_catalog(tasks)
    if found:
        task, name, m = found

        def planted(d: Path) -> Path:
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


def composition(members: list[Variant]) -> str:
    counts: dict[str, int] = {}
    for v in members:
        counts[v.label] = counts.get(v.label, 0) + 1
    return ", ".join(f"{k} x{c}" for k, c in counts.items())
