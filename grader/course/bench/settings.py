"""``Settings``: what one run of ``course bench`` measures, from its command-line flags.

The flags are declared with the ``bench`` subcommand in ``grader.course.cli`` (so that an install
without this package still parses them and says where the bench runs); ``from_args`` turns them
into settings. Nothing here reads the environment.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from grader.course.bench.contenders import ROOT

REPORT = ROOT / "reference" / "benchmarks.md"
QUICK_TASKS = ("losses", "chain_rule")
DEFAULT_REPS, QUICK_REPS = 3, 2
DEFAULT_CLASS, QUICK_CLASS = 6, 2
COMPARISONS = ("class", "one", "where", "engines", "memory", "similarity")  # the sections of the report, in order


@dataclasses.dataclass
class Settings:
    quick: bool
    reps: int  # rounds of every comparison (after ``warmup``)
    warmup: int
    tasks: list[str]  # graded everywhere a grade runs
    tasks_note: str
    class_size: int
    class_reps: int
    sequential_sample: int  # students graded one after another in the class comparison (the first ones)
    only: list[str]  # the comparisons run (``COMPARISONS``)
    import_reps: int
    lane_reps: int
    engine_reps: int
    engine_steps: int
    out: Path
    command: str  # the command line that reproduces the run


def with_checks() -> list[str]:
    from grader.rubric import TASKS

    return [t.name for t in TASKS if t.check_files()]


def parse_tasks(text: str) -> list[str]:
    """``a,b`` into task names in rubric order; ValueError naming what is unknown."""
    from grader.rubric import BY_NAME

    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in BY_NAME]
    if unknown or not names:
        raise ValueError(f"--tasks: unknown task(s) {', '.join(unknown) or '(none given)'}; known: {','.join(BY_NAME)}")
    return sorted(set(names), key=lambda n: BY_NAME[n].number)


def parse_only(text: str) -> list[str]:
    """``class,memory`` into comparison names in report order; ValueError naming what is unknown."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in COMPARISONS]
    if unknown or not names:
        raise ValueError(
            f"--only: unknown comparison(s) {', '.join(unknown) or '(none given)'}; known: {','.join(COMPARISONS)}"
        )
    return [c for c in COMPARISONS if c in names]


def command_line(args, flags: tuple[str, ...]) -> str:
    parts = ["course", "bench"] + (["--quick"] if getattr(args, "quick", False) else [])
    for flag in flags:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        parts += [flag, str(value)] if value is not None else []
    return shlex.join(parts)


def from_args(args) -> Settings:
    """Settings from the namespace of ``course bench`` (``--quick --reps --class-size --sequential-sample
    --tasks --only --out``)."""
    quick = bool(getattr(args, "quick", False))
    reps_flag, size_flag = getattr(args, "reps", None), getattr(args, "class_size", None)
    tasks_flag, out_flag = getattr(args, "tasks", None), getattr(args, "out", None)
    sample_flag, only_flag = getattr(args, "sequential_sample", None), getattr(args, "only", None)
    for name, value in (("--reps", reps_flag), ("--class-size", size_flag), ("--sequential-sample", sample_flag)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    class_size = size_flag or (QUICK_CLASS if quick else DEFAULT_CLASS)
    if sample_flag is not None and sample_flag > class_size:
        raise ValueError(f"--sequential-sample must be at most the class size ({class_size}), got {sample_flag}")
    available = with_checks()
    if tasks_flag is not None:
        tasks, note = parse_tasks(tasks_flag), "set by --tasks"
    elif quick:
        tasks = [t for t in QUICK_TASKS if t in available] or available[:2]
        note = "--quick: two small tasks"
    else:
        tasks, note = available, "every task with checks"
    reps = reps_flag or (QUICK_REPS if quick else DEFAULT_REPS)
    return Settings(
        quick=quick,
        reps=reps,
        warmup=1,
        tasks=tasks,
        tasks_note=note,
        class_size=class_size,
        class_reps=reps_flag or (1 if quick else reps),
        sequential_sample=sample_flag or class_size,
        only=parse_only(only_flag) if only_flag is not None else list(COMPARISONS),
        import_reps=1 if quick and reps_flag is None else reps,
        lane_reps=1 if quick and reps_flag is None else reps,
        engine_reps=3 if quick else max(reps, 7),
        engine_steps=10 if quick else 40,
        out=Path(out_flag) if out_flag is not None else REPORT,
        command=command_line(args, ("--reps", "--class-size", "--sequential-sample", "--tasks", "--only", "--out")),
    )
