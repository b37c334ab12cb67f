"""The in-process grader (``inprocess``) in a child process of the bench.

``python -m grader.course.bench.inprocess_child grade --submissions DIR --tasks a,b --seed N --out FILE
[--lanes K]``: one in-process grade, its score in FILE (``--lanes K``: K such children in parallel,
the lane plan of ``grader.runner.plan_lanes``, the scores summed).

``... floor --submissions DIR1,DIR2,...``: one warm-up grade of DIR1 (imports of pytest, the
checks, torch, tensorflow), then one grade of each folder, measured in CPU seconds (user + sys)
of this process: the checks' own compute, without interpreter start, imports or workers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.course.bench.inprocess import grade_here


def score(results) -> dict:
    return {"score": results.score, "max_score": results.max_score, "tests": len(results.tests)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.course.bench.inprocess_child")
    p.add_argument("role", choices=["grade", "floor"])
    p.add_argument("--submissions", required=True, help="comma-separated folders (grade: the first)")
    p.add_argument("--tasks", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--lanes", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    ns = p.parse_args(argv)
    subs = [Path(s) for s in ns.submissions.split(",") if s]
    tasks = [t for t in ns.tasks.split(",") if t]
    sys.stdout = sys.stderr
    if ns.role == "grade" and ns.lanes > 1:  # grader.runner's lane plan, one child per lane, in parallel
        from grader.rubric import BY_NAME
        from grader.runner import plan_lanes

        plan = plan_lanes([BY_NAME[t] for t in tasks], ns.lanes)
        parts = [ns.out.with_name(f"{ns.out.stem}-lane{i}.json") for i in range(len(plan))]
        cmds = [
            [
                sys.executable,
                "-m",
                "grader.course.bench.inprocess_child",
                "grade",
                "--submissions",
                str(subs[0]),
                "--tasks",
                ",".join(t.name for t in lane),
                "--seed",
                str(ns.seed),
                "--out",
                str(part),
            ]
            for lane, part in zip(plan, parts)
        ]
        with ThreadPoolExecutor(len(cmds)) as pool:
            codes = list(pool.map(lambda c: subprocess.run(c).returncode, cmds))
        reports = [json.loads(part.read_text()) for part in parts]
        ns.out.write_text(json.dumps({k: sum(r[k] for r in reports) for k in ("score", "max_score", "tests")}))
        return max(codes)
    if ns.role == "grade":
        ns.out.write_text(json.dumps(score(grade_here(subs[0], tasks, ns.seed))))
        return 0
    grade_here(subs[0], tasks, ns.seed)  # warm-up: imports of pytest, the checks, torch, tensorflow...
    measured = []
    for sub in subs:
        before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        results = grade_here(sub, tasks, ns.seed)
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        measured.append({"submission": str(sub), "cpu": cpu, "wall": wall, **score(results)})
    ns.out.write_text(json.dumps(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
