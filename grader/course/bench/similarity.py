"""6. The class report's code similarity: every pair measured from the fingerprints' shared positions
against copydetect's ``compare_files`` on every pair, on a class of distinct submissions."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from grader.course.bench.contenders import ASSIGNMENTS, SOLUTIONS, planted_mistakes
from grader.course.bench.settings import Settings
from grader.course.bench.stats import alternate, median, ratio_text, secs, spread
from grader.course.bench.table import Table

SIZE, QUICK_SIZE = 40, 12  # students: distinct files, so every pair is measured


def distinct_class(n: int, tasks: list[str]) -> dict[str, dict[str, str]]:
    """task -> folder -> code: the reference with 1-4 planted mistakes of the catalog and a comment of
    its own per student (seeded), every tenth student the untouched stub."""
    rng = random.Random(0)
    codes: dict[str, dict[str, str]] = {t: {} for t in tasks}
    for task in tasks:
        reference, stub = (SOLUTIONS / f"{task}.py").read_text(), (ASSIGNMENTS / f"{task}.py").read_text()
        found = list(planted_mistakes(task).values())
        for i in range(n):
            if i % 10 == 9:
                codes[task][f"s{i:03d}"] = stub
                continue
            code = reference
            for m in rng.sample(found, min(len(found), rng.randint(1, 4))):
                code = code.replace(m["find"], m["replace"])
            codes[task][f"s{i:03d}"] = code + f"\n# student {i}\n"
    return codes


def bench_similarity(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    from grader.course import report, stubs
    from grader.rubric import BY_NAME

    n = QUICK_SIZE if settings.quick else SIZE
    tasks = settings.tasks
    codes = distinct_class(n, tasks)
    stub_files = stubs.expected_files()
    names = {folder: {"folder": folder, "name": folder} for folder in codes[tasks[0]]}
    sections: dict[str, list] = {}

    def contender(measure: str) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            found = [
                report.similar_pairs(
                    t, stub_files.get(BY_NAME[t].file, ""), codes[t], names, report.SIMILARITY_THRESHOLD, measure
                )
                for t in tasks
            ]
            seconds = time.perf_counter() - start
            sections[measure] = found
            return seconds

        return run

    screen, every = "report (every pair from the shared positions)", "copydetect's compare_files on every pair"
    samples, dropped = alternate(
        {screen: contender("screen"), every: contender("copydetect")}, settings.reps, settings.warmup, log
    )
    t = Table(
        f"Code similarity of a class of {n} distinct submissions, {len(tasks)} task(s), one process "
        f"({settings.reps} round(s) after {settings.warmup} warm-up)",
        ["contender", "what runs", "s (min-max)", "speed-up (compare_files on every pair / this)"],
    )
    what = {
        screen: "`report.similar_pairs` as `grade --batch` and `course report` run it: copydetect's numbers "
        "recomputed for every pair, `compare_files` only for the slices of the pairs shown",
        every: "the same with `compare_files` measuring every pair (the report before)",
    }
    for name in (screen, every):
        if name not in samples:
            t.add(name, what[name], dropped.get(name, "not run"), "")
            continue
        t.add(
            name,
            what[name],
            f"{secs(median(samples[name]))} ({spread(samples[name], secs)})",
            ratio_text(samples[every], samples[name]) if every in samples else "n/a",
        )
    files = n - n // 10  # every tenth student is the stub
    t.notes.append(
        f"Class: the reference with 1-4 planted mistakes of the catalog per file (seeded), every tenth student the "
        f"untouched stub (left out, as the report does): {files} files per task, {len(tasks) * files * (files - 1) // 2} "
        f"pairs in all. Both contenders read every file into copydetect fingerprints (most of the screen's time)."
    )
    if "screen" in sections and "copydetect" in sections:
        t.notes.append(
            "Sections identical (pairs, order, percentages, highlighted code): "
            + ("yes" if sections["screen"] == sections["copydetect"] else "NO")
            + ". Ratio: per-round compare_files_i / contender_i."
        )
    return [t]
