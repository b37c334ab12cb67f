"""The run of every comparison, the machine it ran on, and ``reference/benchmarks.md``."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from grader.course.bench import engines, klass, memory, one, similarity, where
from grader.course.bench import settings as settings_mod
from grader.course.bench.settings import Settings
from grader.course.bench.stats import Skipped
from grader.course.bench.table import Table

SECTIONS: list[tuple[str, str, Callable[..., list[Table]]]] = [  # (name for --only, title, comparison)
    ("class", "1. A class: grade --batch against one grade after another, and the floor", klass.bench_class),
    (
        "one",
        "2. One submission: grade, without the sandbox, in-process, nbgrader (the price of isolation)",
        one.bench_one,
    ),
    ("where", "3. Where the time of one grade goes", where.bench_where),
    ("engines", "4. The reference engines against PyTorch and Keras", engines.bench_engines),
    ("memory", "5. Memory", memory.bench_memory),
    ("similarity", "6. The class report's code similarity", similarity.bench_similarity),
]


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def first_field(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> list[str]:
    from grader.sandbox.isolation import isolation

    model = first_field("/proc/cpuinfo", "model name") or "?"
    mem = first_field("/proc/meminfo", "MemTotal:")
    mem = f"{int(mem.split()[0]) / 1024**2:.1f} GiB" if mem else "?"
    tf = version("tensorflow-cpu") if version("tensorflow-cpu") != "not installed" else version("tensorflow")
    return [
        f"CPU: {os.cpu_count()} cores ({model}); memory {mem}; {platform.system()} {platform.release()}",
        f"Python {platform.python_version()}; numpy {version('numpy')}, torch {version('torch')}, "
        f"tensorflow-cpu {tf}, keras {version('keras')}, pytest {version('pytest')}, nbgrader {version('nbgrader')}",
        f"Isolation of `grade`: {isolation().description}",
    ]


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def render(s: Settings, started: str, load_start: str, sections: list[tuple[str, list[Table]]], seconds: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{s.command}` on {started} (UTC) in {seconds / 60:.1f} min. Do not edit by hand: "
        "rerun the command. Compare ratios, not absolute times: every ratio comes from contenders that "
        "ran alternately in this same run (a warm-up, then rounds in rotated order; medians and min-max "
        "over the rounds).",
        "",
        "Machine:",
        "",
    ]
    lines += [f"- {m}" for m in machine()]
    lines += [
        f"- Load average (1, 5, 15 min) at the start: {load_start}; at the end: {load()} "
        "(a shared machine: other jobs ran alongside)",
        "",
        "Settings:",
        "",
        f"- Rounds (`--reps`): {s.reps} after {s.warmup} warm-up (class: {s.class_reps}; start-up: "
        f"{s.import_reps}; lanes: {s.lane_reps}; engines: {s.engine_reps} x {s.engine_steps} steps)",
        f"- Class size (`--class-size`): {s.class_size}"
        + (
            f"; graded one after another: the first {s.sequential_sample} (`--sequential-sample`)"
            if s.sequential_sample < s.class_size
            else ""
        ),
        f"- Tasks graded (`--tasks`): {', '.join(s.tasks) or 'none'} ({s.tasks_note})",
        f"- Comparisons (`--only`): {', '.join(s.only)}",
        "",
    ]
    for title, tables in sections:
        lines += [f"## {title}", ""]
        lines += [t.markdown() for t in tables]
    return "\n".join(lines).rstrip() + "\n"


def main(args: Any) -> int:
    """``course bench``: run every comparison, print the tables, write the report (exit 1 if one broke)."""
    try:
        s = settings_mod.from_args(args)
    except ValueError as exc:
        print(f"course bench: {exc}", file=sys.stderr)
        return 2
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    load_start, t0 = load(), time.perf_counter()

    def log(msg: str) -> None:
        print(f"[bench {time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="bplab-bench-"))
    ctx: dict[str, Any] = {}
    done: list[tuple[str, list[Table]]] = []
    broken = False
    try:
        for name, title, fn in SECTIONS:
            if name not in s.only:
                continue
            log(title)
            try:
                tables = fn(s, work, ctx, log)
            except Skipped as exc:
                tables = [Table(title, ["comparison", "result"])]
                tables[0].skip(title, str(exc))
            except Exception as exc:
                broken = True
                traceback.print_exc()
                tables = [Table(title, ["comparison", "result"])]
                tables[0].fail(title, f"{type(exc).__name__}: {str(exc)[:500]}")
            done.append((title, tables))
            for t in tables:
                print("\n" + t.markdown(), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = render(s, started, load_start, done, time.perf_counter() - t0)
    s.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = s.out.with_name(f".{s.out.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, s.out)
    log(f"wrote {s.out}")
    return 1 if broken else 0
