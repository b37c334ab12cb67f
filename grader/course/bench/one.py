"""2. One submission: ``grade``, the same without bubblewrap, the insecure in-process grader, nbgrader."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.course.bench.contenders import (
    SOLUTIONS,
    copy_modules,
    grade_cmd,
    grading_env,
    json_score,
    run_timed,
    score_text,
    variants,
)
from grader.course.bench.nbcourse import NbCourse
from grader.course.bench.settings import Settings
from grader.course.bench.stats import Skipped, alternate, median, paired_ratio, ratio_text, secs, spread
from grader.course.bench.table import Table

TARGET_ISOLATION = 1.3  # grade / the in-process grader
TARGET_NBGRADER = 0.5  # grade / nbgrader autograde


def bench_one(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    from grader.rubric import BY_NAME
    from grader.runner import DEFAULT_SEED, plan_lanes

    env = grading_env()
    tasks = settings.tasks
    out = work / "one"
    sub = copy_modules(SOLUTIONS, out / "solutions-copy")
    lanes = len(plan_lanes([BY_NAME[t] for t in tasks], os.cpu_count() or 1))
    scores: dict[str, Any] = {}

    def grade(key: str, run_env: dict[str, str], *extra: str) -> Callable[[], float]:
        def run() -> float:
            js = out / f"{key.replace(' ', '-').replace(',', '')}.json"
            t = run_timed(grade_cmd(sub, tasks, js, *extra), out, run_env, what=key)
            scores[key] = json_score(js)
            return t

        return run

    def inprocess(n_lanes: int, key: str) -> Callable[[], float]:
        def run() -> float:
            js = out / f"inprocess-{n_lanes}.json"
            t = run_timed(
                [
                    sys.executable,
                    "-m",
                    "grader.course.bench.inprocess_child",
                    "grade",
                    "--submissions",
                    str(sub),
                    "--tasks",
                    ",".join(tasks),
                    "--seed",
                    str(DEFAULT_SEED),
                    "--lanes",
                    str(n_lanes),
                    "--out",
                    str(js),
                ],
                out,
                env,
                what=key,
            )
            scores[key] = json_score(js)
            return t

        return run

    course: dict[str, Any] = {}

    def nbgrader() -> float:
        if settings.quick:
            raise Skipped("--quick (building the nbgrader course takes about a minute; run the full `course bench`)")
        if "course" not in course:
            course["course"] = NbCourse(work / "nbcourse")
            course["course"].add_student("one", variants(tasks)[0], tasks)
            course["scope"], course["missing"] = course["course"].select(tasks)[1:]
        t = course["course"].autograde("one")
        scores["nbgrader autograde"] = course["course"].score("one")
        return t

    unsandboxed, same_lanes, one_process = "grade --no-sandbox", f"in-process, {lanes} lanes", "in-process, one process"
    contenders = {
        "grade": grade("grade", env),
        unsandboxed: grade(unsandboxed, env, "--allow-unsandboxed", "--no-sandbox"),
        same_lanes: inprocess(lanes, same_lanes),
        one_process: inprocess(1, one_process),
        "nbgrader autograde": nbgrader,
    }
    what = {
        "grade": f"`grade solutions-copy --quiet`: {lanes} trusted lane(s) in parallel, one sandboxed worker per task",
        unsandboxed: "`grade solutions-copy --quiet --no-sandbox --allow-unsandboxed`: the same lanes, worker "
        "processes, pipes and limits, without bubblewrap",
        same_lanes: "`grader.runner.grade` with in-process workers, one process per lane of the same lane "
        "plan (no sandbox, no worker processes, no pipes)",
        one_process: "`grader.runner.grade` with in-process workers in ONE process: the plain insecure grader",
        "nbgrader autograde": "`nbgrader autograde` of the same work as notebooks in a temporary course "
        "(the course's config: each task notebook graded by the isolated grader)",
    }
    samples, dropped = alternate(contenders, settings.reps, settings.warmup, log)
    t = Table(
        f"One submission ({len(tasks)} task(s)), {settings.reps} rounds after {settings.warmup} warm-up",
        ["contender", "what runs", "median s", "min-max s", "ratio to grade", "score"],
    )
    base = samples.get("grade")
    for name in contenders:
        if name in samples:
            s = samples[name]
            t.add(
                name,
                what[name],
                secs(median(s)),
                spread(s, secs),
                ratio_text(s, base) if base else "n/a",
                score_text(scores.get(name)),
            )
        else:
            t.add(name, what[name], dropped.get(name, "not run"))
    if base:
        for name, label in (
            (same_lanes, "same lanes"),
            (one_process, "one process"),
            (unsandboxed, "bubblewrap alone"),
        ):
            if name not in samples:
                continue
            if scores.get(name) != scores.get("grade"):  # different work done: no fair ratio
                t.notes.append(
                    f"Price of isolation ({label}): NOT COMPARABLE, the scores differ "
                    f"({scores.get(name)} vs {scores.get('grade')})."
                )
                continue
            m = paired_ratio(base, samples[name])[0]
            target = (
                f" (target <= {TARGET_ISOLATION:g}x: {'met' if m <= TARGET_ISOLATION else 'not met'})"
                if name != unsandboxed
                else ""
            )
            t.notes.append(f"Price of isolation ({label}): `grade` takes {m:.2f}x the time of {name}{target}.")
        if "nbgrader autograde" in samples:
            m = paired_ratio(base, samples["nbgrader autograde"])[0]
            extra = (
                f"; graded tasks without a notebook: {', '.join(course['missing'])}" if course.get("missing") else ""
            )
            t.notes.append(
                f"`grade` takes {m:.2f}x the time of `nbgrader autograde` (target <= {TARGET_NBGRADER:g}x: "
                f"{'met' if m <= TARGET_NBGRADER else 'not met'}); nbgrader got {course['scope']}{extra}."
            )
    t.notes.append(f"Tasks: {', '.join(tasks)} ({settings.tasks_note}).")
    t.notes.append(
        "Ratios are per round (the contenders alternate, order rotated every round): median "
        "(min-max) of contender_i / grade_i."
    )
    ctx["one"] = samples
    return [t]
