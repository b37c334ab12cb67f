"""1. The headline: a class of N submissions, every task: ``grade --batch`` against N ``grade``
calls, beside the floor (the checks' own compute per student, spread over the cores)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.course.bench.contenders import (
    SOLUTIONS,
    batch_cmd,
    class_members,
    composition,
    copy_modules,
    grade_cmd,
    grading_env,
    json_score,
    run_timed,
    variants,
)
from grader.course.bench.settings import Settings
from grader.course.bench.stats import alternate, median, paired_ratio, ratio_text, secs, spread
from grader.course.bench.table import Table

TARGET_RATE = 2.5  # the batch's rate against one grade after another (2 cores)
TARGET_PER_STUDENT = 3.0  # seconds per student in a batch (2 cores)
PROJECTED = 300  # the class the targets are about


def met(ok: bool) -> str:
    return "met" if ok else "not met"


def batch_start(seconds: float, warm: float, n: int) -> float:
    """What a batch of ``n`` took beyond n students at its warm rate: its processes and templates starting."""
    return max(seconds - n * warm, 0.0)


def projected(batch: list[float], warm: list[float], sequential: list[float], n: int, size: int):
    """Per round, a class of ``size`` from a batch of ``n``: the batch's start once, then ``size`` students
    at the warm rate; and ``size`` grades one after another at that round's sequential rate. Returns
    (batch seconds per round, sequential seconds per round)."""
    big = [batch_start(b, w, n) + size * w for b, w in zip(batch, warm)]
    return big, [x / n * size for x in sequential]


def measure_floor(
    settings: Settings, work: Path, keys: list[str], folders: dict[str, Path], log: Callable[[str], None]
) -> dict[str, dict]:
    """CPU seconds (user + sys) of one in-process grade of each variant, in a warm process."""
    from grader.runner import DEFAULT_SEED

    out = work / "class" / "floor.json"
    log("floor: in-process grades in one warm process (" + ", ".join(keys) + ")")
    run_timed(
        [
            sys.executable,
            "-m",
            "grader.course.bench.inprocess_child",
            "floor",
            "--submissions",
            ",".join(str(folders[k]) for k in keys),
            "--tasks",
            ",".join(settings.tasks),
            "--seed",
            str(DEFAULT_SEED),
            "--out",
            str(out),
        ],
        work / "class",
        grading_env(),
        what="floor",
    )
    return dict(zip(keys, json.loads(out.read_text())))


def bench_class(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    env = grading_env()
    tasks, n, cores = settings.tasks, settings.class_size, os.cpu_count() or 1
    vs = variants(tasks)
    members = class_members(n, vs)
    names = [f"c{i + 1:03d}" for i in range(n)]
    here = work / "class"
    folder = here / "submissions"
    for name, v in zip(names, members):
        v.build(folder / name)
    log("class: one untimed grade first (file caches, the isolation probe)")
    run_timed(grade_cmd(copy_modules(SOLUTIONS, here / "warm-up"), tasks), here, env, what="warm-up grade")
    scores: dict[str, dict[str, Any]] = {"batch": {}, "sequential": {}}
    info: dict[str, Any] = {"runs": 0}
    warm: list[float] = []  # each batch's rate once its grading processes were warm (summary.json)

    def batch() -> float:
        info["runs"] += 1
        out = here / f"batch-out-{info['runs']}"
        t = run_timed(batch_cmd(folder, out, tasks), here, env, what="grade --batch")
        for name in names:
            scores["batch"][name] = json_score(out / name / "results.json")
        try:
            isolation = json.loads((out / names[0] / "results.json").read_text())["extra_data"]["isolation"]
            info["start"] = (
                "sandboxed workers forked from templates"
                if "forked from a template" in isolation
                else "a fresh sandboxed interpreter per worker"
            )
        except (OSError, ValueError, KeyError, IndexError):
            pass
        try:
            summary = json.loads((out / "summary.json").read_text())
            info["workers"] = f"{summary['workers']} worker(s) x {summary['lanes_per_submission']} lane(s)"
            if summary.get("steady_seconds_per_student"):
                warm.append(float(summary["steady_seconds_per_student"]))
        except (OSError, ValueError, KeyError):
            pass
        shutil.rmtree(out, ignore_errors=True)
        return t

    k = settings.sequential_sample
    sampled = names[:k]

    def sequential() -> float:
        total = 0.0
        for name in sampled:
            js = here / f"seq-{name}.json"
            total += run_timed(grade_cmd(folder / name, tasks, js), here, env, what=f"grade {name}")
            scores["sequential"][name] = json_score(js)
        return total * n / k  # the class's time at the sample's rate

    seq_name = f"{n} x grade" + (f" (the first {k} graded, x {n}/{k})" if k < n else "")
    samples, dropped = alternate({"grade --batch": batch, seq_name: sequential}, settings.class_reps, 0, log)
    by_key = {v.key: v for v in members}
    floor: dict[str, dict] = {}
    floor_error = ""
    try:
        floor = measure_floor(
            settings, work, list(by_key), {k: folder / names[members.index(v)] for k, v in by_key.items()}, log
        )
    except Exception as exc:
        floor_error = f"failed: {type(exc).__name__}: {str(exc)[:300]}"

    t = Table(
        f"A class of {n} submissions, {len(tasks)} task(s) each ({settings.class_reps} round(s), "
        f"{cores} cores): batch, sequential and the floor",
        [
            "contender",
            "what runs",
            "total s (min-max)",
            "s per student",
            "students/min",
            "rate vs sequential",
            "target",
        ],
    )
    seq, bat = samples.get(seq_name), samples.get("grade --batch")
    what = {
        "grade --batch": f"`grade CLASS --batch --out OUT --quiet`: {info.get('workers', 'the default workers')}"
        + (f", {info['start']}" if "start" in info else ""),
        seq_name: "`grade c00i --quiet --json FILE`, one student after another (a fresh sandboxed interpreter per worker)"
        + (
            f"; only the first {k} ({composition(members[:k])}) are graded, their time scaled to the class"
            if k < n
            else ""
        ),
    }
    for name in ("grade --batch", seq_name):
        if name not in samples:
            t.add(name, what[name], dropped.get(name, "not run"))
            continue
        s = samples[name]
        target = ""
        if name == "grade --batch":
            rate = paired_ratio(seq, s)[0] if seq else None
            target = (
                f">= {TARGET_RATE:g}x: {met(rate >= TARGET_RATE) if rate else 'n/a'}; "
                f"about {TARGET_PER_STUDENT:g} s per student: {met(median(s) / n <= TARGET_PER_STUDENT)}"
            )
        t.add(
            name,
            what[name],
            f"{secs(median(s))} ({spread(s, secs)})",
            secs(median(s) / n),
            f"{60 * n / median(s):.1f}",
            ratio_text(seq, s) if seq else "n/a",
            target,
        )
    warm_label = f"grade --batch, a class of {PROJECTED} (projected)"
    if bat and len(warm) == len(bat) and n < PROJECTED:  # a class of PROJECTED or more is measured above
        big, seq_big = projected(bat, warm, seq or [], n, PROJECTED)
        rate = paired_ratio(seq_big, big)[0] if seq else None
        t.add(
            warm_label,
            f"from the same batches: their start (a batch's time beyond {n} x its warm rate) once, then "
            f"{PROJECTED} students at the warm rate (the mean grade of a grading process past its first "
            "submission / the processes at work); report.html counted at this class's size (its code "
            "similarity grows with the class: about 70 s for 300 distinct submissions on 2 cores)",
            f"{secs(median(big))} ({spread(big, secs)})",
            secs(median(big) / PROJECTED),
            f"{60 * PROJECTED / median(big):.1f}",
            ratio_text(seq_big, big) if seq else "n/a",
            f">= {TARGET_RATE:g}x: {met(rate >= TARGET_RATE) if rate else 'n/a'}; about {TARGET_PER_STUDENT:g} s per "
            f"student: {met(median(big) / PROJECTED <= TARGET_PER_STUDENT)} (projected)",
        )
    elif bat and n < PROJECTED:
        t.add(warm_label, "", "no grading process graded a second submission (class size <= workers)")
    floor_label = "floor: the checks' own compute"
    if floor:
        per_student = sum(floor[v.key]["cpu"] for v in members) / n / cores
        rate = f"{median(seq) / n / per_student:.2f}x" if seq else "n/a"
        t.add(
            floor_label,
            f"CPU seconds (user + sys) of the in-process grade of each student in a warm process "
            f"(no interpreter start, imports or sandboxed workers), / {cores} cores",
            secs(per_student * n),
            secs(per_student),
            f"{60 / per_student:.1f}",
            rate,
            "",
        )
    else:
        t.add(floor_label, "", floor_error or "not run")

    if bat and seq:
        m = paired_ratio(seq, bat)[0]
        per = median(bat) / n
        line = (
            f"Batch rate = {m:.2f}x the sequential rate (target >= {TARGET_RATE:g}x on 2 cores: {met(m >= TARGET_RATE)}); "
            f"batch {per:.2f} s per student (target about {TARGET_PER_STUDENT:g} s: {met(per <= TARGET_PER_STUDENT)})"
        )
        if floor:
            line += (
                f"; the floor is {per_student:.2f} s per student, so the batch takes {per / per_student:.2f}x the floor"
            )
        t.notes.append(line + ".")
    if bat and len(warm) == len(bat):
        t.notes.append(
            f"Warm rate (the batches' summary.json, steady_seconds_per_student) = {median(warm):.2f} s per student "
            f"({spread(warm, secs)}); the start of a batch of {n} cost about {batch_start(median(bat), median(warm), n):.0f} s "
            f"beyond it (grading processes and their templates starting)."
            + (
                f" The projection assumes the class of {PROJECTED} is like this one (reference copies and broken "
                "variants, no time-outs)."
                if n < PROJECTED
                else ""
            )
        )
    if bat:
        t.notes.append(
            f"The batch's time includes its report.html. This class holds copies of {len(by_key)} submissions, and "
            "a file's copies are read and measured once: the report's code similarity costs a real class of "
            "distinct submissions more (about 70 s for 300 on 2 cores, most of it reading each file into "
            "fingerprints)."
        )
    if floor:
        t.notes.append(
            "Floor per variant (CPU s of one in-process grade; score): "
            + ", ".join(
                f"{v.label} {floor[v.key]['cpu']:.2f} s ({floor[v.key]['score']:g}/{floor[v.key]['max_score']:g})"
                for v in by_key.values()
            )
            + ". What a real grade adds per student and the floor leaves out: the "
            "sandboxed workers (start, imports of numpy / torch / tensorflow, the wire) and the lanes' start-up "
            "(a batch worker pays that once); see comparison 3."
        )
    t.notes.append(f"Class: {composition(members)}. Tasks: {', '.join(tasks)} ({settings.tasks_note}).")
    if bat:
        agree = [scores["batch"].get(name) == scores["sequential"].get(name) for name in sampled]
        t.notes.append(
            f"Scores of batch and sequential grading agree for {sum(agree)}/{len(sampled)} students"
            + (" (those graded both ways)." if k < n else ".")
        )
    t.notes.append(
        "Rate vs sequential: per-round ratio sequential_i / contender_i, median (min-max); the floor's "
        "is the sequential median per student / the floor."
    )
    ctx["class_samples"] = samples
    return [t]
