"""Census of the planted-mistake catalog: per task, how many entries are caught, how many named.

``python tests/mistakes/census.py [TASK...] [--json FILE]`` grades every entry (its own task only;
each task's catalog as one class, with ``grade --batch``) and prints per task the entries, the caught ones (the task lost points) and the named ones (a
failing check of the task carries a named mistake, i.e. a "Likely: ..." with an id), then the
class-wide named rate. Slow (one grade per entry); the test suite asserts the same per entry.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run_catalog import grade_catalog  # noqa: E402

from grader.rubric import TASKS  # noqa: E402


def census(tasks: list[str]) -> dict:
    rows = {}
    for task in tasks:
        start = time.perf_counter()
        graded = grade_catalog(task)  # the task's whole catalog as one class
        seconds = round((time.perf_counter() - start) / max(len(graded), 1), 2)
        for name, res in graded.items():
            failing = [t for t in res.tests if t.task == task and not t.passed]
            ids = sorted({m["id"] for t in failing for m in t.mistakes})
            rows[f"{task}.{name}"] = {
                "task": task,
                "score": res.score,
                "max": res.max_score,
                "caught": res.score < res.max_score,
                "named": ids,
                "likely_without_id": any("Likely" in t.output and not t.mistakes for t in failing),
                "seconds": seconds,
            }
            print(f"{task}.{name}: {res.score:g}/{res.max_score:g} named={ids}", flush=True)
    return rows


def main() -> None:
    args = sys.argv[1:]
    out = None
    if "--json" in args:
        i = args.index("--json")
        out = args[i + 1]
        del args[i : i + 2]
    tasks = args or [t.name for t in TASKS]
    rows = census(tasks)
    print()
    for task in tasks:
        mine = [r for r in rows.values() if r["task"] == task]
        print(
            f"{task:16} entries {len(mine):3}  caught {sum(r['caught'] for r in mine):3}  "
            f"named {sum(bool(r['named']) for r in mine):3}"
        )
    total = len(rows)
    named = sum(bool(r["named"]) for r in rows.values())
    print(
        f"{'all':16} entries {total:3}  caught {sum(r['caught'] for r in rows.values()):3}  "
        f"named {named:3}  named rate {named / max(total, 1):.0%}"
    )
    if out:
        Path(out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
