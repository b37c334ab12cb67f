"""3. Where the time of one ``grade`` goes: start-up costs, then each task in a lane of its own."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from grader.course.bench.contenders import SOLUTIONS, copy_modules, grading_env, run_timed
from grader.course.bench.settings import Settings
from grader.course.bench.stats import Skipped, alternate, median, secs, spread
from grader.course.bench.table import Table


def startup_table(settings: Settings, work: Path, log: Callable[[str], None]) -> Table:
    from grader.sandbox.isolation import bwrap_args, isolation

    env, py = grading_env(), sys.executable
    box = work / "where" / "box"
    (box / "submission").mkdir(parents=True, exist_ok=True)
    (box / "home").mkdir(exist_ok=True)  # the mount point of the worker's HOME tmpfs
    iso = isolation()
    commands: dict[str, list[str] | str] = {
        "python -c pass (interpreter)": [py, "-c", "pass"],
        "python -I -c 'import numpy'": [py, "-I", "-c", "import numpy"],
        "python -c 'import torch'": [py, "-c", "import torch"],
        "python -c 'import tensorflow'": [py, "-c", "import tensorflow"],
        "lane imports (pytest, hypothesis, grader.plugin)": [py, "-c", "import pytest, hypothesis, grader.plugin"],
        "sandbox start: bwrap + python -I -c 'import numpy'": (
            bwrap_args(iso.bwrap, box) + [py, "-I", "-c", "import numpy"]
        )
        if iso.sandboxed
        else "bubblewrap unavailable on this machine (rlimits only)",
    }
    if settings.quick:
        commands["python -c 'import torch'"] = "--quick (seconds per import; run the full bench)"
        commands["python -c 'import tensorflow'"] = "--quick (about 10 s per import; run the full bench)"

    def runner_for(cmd: list[str] | str) -> Callable[[], float]:
        def run() -> float:
            if isinstance(cmd, str):
                raise Skipped(cmd)
            return run_timed(cmd, work / "where", env, what=cmd[-1])

        return run

    samples, dropped = alternate(
        {k: runner_for(c) for k, c in commands.items()}, settings.import_reps, 0 if settings.quick else 1, log
    )
    t = Table(
        f"Start-up costs ({settings.import_reps} round(s))", ["what", "median s", "min-max s", "minus interpreter s"]
    )
    base = median(samples["python -c pass (interpreter)"]) if "python -c pass (interpreter)" in samples else 0.0
    for name in commands:
        if name in samples:
            s = samples[name]
            t.add(name, secs(median(s)), spread(s, secs), secs(max(0.0, median(s) - base)))
        else:
            t.add(name, dropped.get(name, "not run"))
    t.notes.append(
        "Each lane pays the interpreter and the lane imports once; each task's worker pays a "
        "sandbox start plus the imports of the student's module (torch for torch_training, "
        "tensorflow for keras_training)."
    )
    return t


def lanes_table(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> Table:
    from grader.rubric import BY_NAME
    from grader.runner import DEFAULT_SEED
    from grader.sandbox.isolation import isolation, isolation_env

    env = grading_env()  # what grader.runner gives a lane: the isolation decided once, no bytecode written
    env.update(isolation_env(isolation()), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    sub = copy_modules(SOLUTIONS, work / "where" / "solutions-copy")
    details: dict[str, list[dict]] = {}

    def lane_for(task: str) -> Callable[[], float]:
        def run() -> float:
            out = work / "where" / f"lane-{task}.json"
            wall = run_timed(
                [
                    sys.executable,
                    "-m",
                    "grader.lane",
                    "--submission",
                    str(sub),
                    "--tasks",
                    task,
                    "--seed",
                    str(DEFAULT_SEED),
                    "--out",
                    str(out),
                ],
                work / "where",
                env,
                what=f"lane {task}",
            )
            report = json.loads(out.read_text())
            details.setdefault(task, []).append(
                {
                    "wall": wall,
                    "pytest": report["seconds"],
                    "checks": sum(o["duration"] for o in report["outcomes"]),
                    "tests": len(report["outcomes"]),
                }
            )
            return wall

        return run

    tasks = settings.tasks
    samples, dropped = alternate({t: lane_for(t) for t in tasks}, settings.lane_reps, 0, log)
    t = Table(
        f"One lane per task ({settings.lane_reps} round(s)): where each task's time goes",
        [
            "task",
            "tests",
            "lane wall s (min-max)",
            "lane start s",
            "collect + worker start s",
            "checks s",
            "share of serial total",
        ],
    )
    total = sum(median(s) for s in samples.values()) or 1.0
    for task in tasks:
        if task not in samples:
            t.add(task, dropped.get(task, "not run"))
            continue
        d = details[task][-len(samples[task]) :]
        wall = [x["wall"] for x in d]
        label = f"{BY_NAME[task].number}. {task}" + (" (training)" if task.endswith("_training") else "")
        t.add(
            label,
            d[-1]["tests"],
            f"{secs(median(wall))} ({spread(wall, secs)})",
            secs(median([x["wall"] - x["pytest"] for x in d])),
            secs(median([max(0.0, x["pytest"] - x["checks"]) for x in d])),
            secs(median([x["checks"] for x in d])),
            f"{100 * median(wall) / total:.0f} %",
        )
    t.add("sum (one lane after another)", "", secs(total))
    one = ctx.get("one", {})
    if one.get("grade"):
        t.add("`grade` (lanes in parallel, from comparison 2)", "", secs(median(one["grade"])))
    missing = [name for name in BY_NAME if not BY_NAME[name].check_files()]
    if missing:
        t.notes.append("No checks yet for: " + ", ".join(missing) + ".")
    t.notes.append(
        "lane start = lane wall - pytest's own time (interpreter, imports of pytest/grader, JSON); "
        "collect + worker start = pytest's time - the checks' call phases (collection, the "
        "sandboxed worker's start and the import of the module, teardown); checks = sum of the "
        "tests' call durations."
    )
    return t


def bench_where(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    return [startup_table(settings, work, log), lanes_table(settings, work, ctx, log)]
