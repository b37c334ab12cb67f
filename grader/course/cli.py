"""``course``: instructor tooling (stubs, rubric, handout, figures, nbgrader, gradescope, bench, report)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _stubs(args: argparse.Namespace) -> int:
    from grader.course import stubs

    if args.check:
        stale = stubs.check()
        for name in stale:
            print(f"stale: assignments/{name}")
        return 1 if stale else 0
    for path in stubs.write():
        print(f"wrote {path.relative_to(stubs.ROOT)}")
    for path in stubs.record_public_expected():
        print(f"recorded {path.relative_to(stubs.ROOT)}")
    return 0


def _rubric(args: argparse.Namespace) -> int:
    from grader.course import rubric_table

    rows = rubric_table.collect()
    print("## Points per task\n")
    print(rubric_table.markdown(rows))
    print("\n## Every check (public checks ship to students; hidden checks run only when grading)\n")
    print(rubric_table.checks_markdown(rows))
    return 0


def _handout(args: argparse.Namespace) -> int:
    from grader.course import handout

    if args.check:
        stale = handout.stale_notes()
        for name in stale:
            print(f"stale: reference/{name}")
        return 1 if stale else 0
    for path in handout.write_notes():
        print(f"wrote {path.relative_to(handout.ROOT)}")
    return 0


def _figures(args: argparse.Namespace) -> int:
    from grader.course import handout

    for path in handout.write_figures():
        print(f"wrote {path.relative_to(handout.ROOT)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The main job: grade the reference solutions and the blank stubs, show both scores."""
    from grader import runner
    from grader.course import stubs

    for label, folder in (
        ("reference solutions (solutions/)", stubs.SOLUTIONS),
        ("blank student stubs (assignments/)", stubs.ASSIGNMENTS),
    ):
        print(f"\n=== {label} ===")
        results = runner.grade(folder, runner.GradeOptions(tasks=tuple(args.task or ())))
        results.print_table()
    return 0


BENCH_ELSEWHERE = "course bench runs from a source checkout of backprop-lab"


def _bench(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("grader.course.bench") is None:  # left out of the wheel
        print(BENCH_ELSEWHERE, file=sys.stderr)
        return 2
    from grader.course.bench import report

    return report.main(args)


def _delegate(module: str):
    def run(args: argparse.Namespace) -> int:
        import importlib

        return importlib.import_module(f"grader.course.{module}").main(args)

    return run


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("demo", help="grade the reference and the blank stubs, show the scores")
    s.add_argument("--task", action="append", default=None)
    s.set_defaults(func=_demo)
    s = sub.add_parser("stubs", help="write assignments/ from solutions/")
    s.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    s.set_defaults(func=_stubs)
    s = sub.add_parser("rubric", help="print the rubric: points per task, then every check with its points")
    s.set_defaults(func=_rubric)
    s = sub.add_parser("handout", help="recompute the worked numbers in reference/*.md")
    s.add_argument("--check", action="store_true")
    s.set_defaults(func=_handout)
    s = sub.add_parser("figures", help="draw reference/figures/*.png")
    s.set_defaults(func=_figures)
    s = sub.add_parser("nbgrader", help="create or refresh an nbgrader course directory")
    s.add_argument("course_dir", type=Path)
    s.add_argument("--course-id", default="backprop-lab")
    s.add_argument("--exchange", type=Path, default=None)
    s.add_argument("--assignment", default="backprop")
    s.set_defaults(func=_delegate("nbgrader"))
    s = sub.add_parser("release", help="the student bundle: stubs, public checks, grader engine")
    s.add_argument("out", type=Path, help="a folder, or a path ending in .zip")
    s.set_defaults(func=_delegate("release"))
    s = sub.add_parser("gradescope", help="build the Gradescope autograder.zip")
    s.add_argument("out", type=Path)
    s.add_argument(
        "--variants",
        type=Path,
        default=None,
        metavar="KEYFILE",
        help="grade each submitter on their own hidden inputs (key + their Gradescope id)",
    )
    s.set_defaults(func=_delegate("gradescope"))
    s = sub.add_parser(
        "report", help="rebuild RESULTS/report.html, the class report of a `grade --batch` results folder"
    )
    s.add_argument("results", type=Path, help="the results folder of grade --batch")
    s.add_argument("--out", type=Path, default=None, help="write the report here instead of RESULTS/report.html")
    s.add_argument(
        "--threshold",
        type=float,
        default=0.6,
        help="code similarity: list pairs where one side shares at least this fraction of its code (0.6)",
    )
    s.set_defaults(func=_delegate("report"))
    s = sub.add_parser(
        "bench",
        help="benchmarks, printed side by side and written to reference/benchmarks.md (runs from a source checkout)",
    )
    s.add_argument("--quick", action="store_true", help="a short run: two small tasks, a class of 2, no nbgrader")
    s.add_argument(
        "--reps",
        type=int,
        default=None,
        metavar="N",
        help="rounds of each comparison after its warm-up (default 3; --quick 2)",
    )
    s.add_argument(
        "--class-size",
        type=int,
        default=None,
        metavar="N",
        help="students in the class comparison (default 6; --quick 2)",
    )
    s.add_argument(
        "--tasks",
        default=None,
        metavar="a,b",
        help="comma-separated tasks to grade (default: every task; --quick: losses,chain_rule)",
    )
    s.add_argument(
        "--sequential-sample",
        type=int,
        default=None,
        metavar="K",
        help="in the class comparison, grade only the first K students one after another and scale their "
        "time to the class (default: all of them; for a large class)",
    )
    s.add_argument(
        "--only",
        default=None,
        metavar="a,b",
        help="run only these comparisons: class, one, where, engines, memory, similarity (default: all)",
    )
    s.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write the report (default: reference/benchmarks.md)",
    )
    s.set_defaults(func=_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
