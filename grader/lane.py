"""One trusted grading process: runs pytest over the checks of some tasks, writes outcomes as JSON.

``python -m grader.lane --submission DIR --tasks losses,backprop --seed 0 [--public] [--timeout-scale X]
--out FILE [--progress FILE]`` (the flags of ``GradeOptions.lane_args``).
Started by ``grader.runner`` (several lanes run in parallel); student code never runs here, only
in the workers this process starts through the ``student`` fixture.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import pytest

from grader.options import GradeOptions
from grader.plugin import GradingPlugin
from grader.rubric import BY_NAME, CHECKS


def run(submission: Path, tasks: list[str], options: GradeOptions, progress: Path | None = None) -> dict:
    plugin = GradingPlugin(submission, options, progress)
    files = [str(p) for t in tasks for p in BY_NAME[t].check_files(options.public_only)]
    start = time.monotonic()
    args = [
        "-c",
        os.devnull,
        "--rootdir",
        str(CHECKS),
        "--import-mode=importlib",
        "--assert=plain",
        "--strict-markers",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:warnings",
        "-p",
        "no:unraisableexception",  # its gc.collect() at the end of every session costs more than a small task
        "-q",
        "--no-header",
        "--tb=native",  # feedback comes from the exception; the default style parses each frame's file (50 ms a failure)
        "-o",
        "python_files=test_*.py",
        *files,
    ]
    code = pytest.main(args, plugins=[plugin]) if files else 0
    return {
        "outcomes": [dataclasses.asdict(o) for o in plugin.outcomes],
        "import_errors": plugin.import_errors,
        "collect_errors": plugin.collect_errors,
        "pytest_exit": int(code),
        "seconds": round(time.monotonic() - start, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.lane")
    parser.add_argument("--submission", required=True, type=Path)
    parser.add_argument("--tasks", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--public", action="store_true")
    parser.add_argument("--timeout-scale", type=float, default=1.0)
    parser.add_argument("--expected", default="auto")
    parser.add_argument("--expected-dir", default=None)
    parser.add_argument("--worker-start", default="auto")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--progress", type=Path, default=None)
    ns = parser.parse_args(argv)
    tasks = [t for t in ns.tasks.split(",") if t]
    options = GradeOptions(
        tasks=tuple(tasks),
        seed=ns.seed,
        public_only=ns.public,
        timeout_scale=ns.timeout_scale,
        expected=ns.expected,
        expected_dir=ns.expected_dir,
        worker_start=ns.worker_start,
    )
    result = run(ns.submission, tasks, options, ns.progress)
    tmp = ns.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, ns.out)
    return 0


if __name__ == "__main__":
    sys.stdout = sys.stderr  # pytest's own chatter stays out of any caller's stdout parsing
    sys.exit(main())
