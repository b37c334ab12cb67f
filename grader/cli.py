"""``grade PATH...``: grade a submission (or a class with --batch), print the table, write reports.

Exit status: 0 when grading ran (whatever the score), 2 for a usage error with a one-line reason,
3 when it refused to grade because no sandbox can run here (``--allow-unsandboxed`` overrides it,
and every result records that), 1 only for a bug of the grader itself.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from grader.options import GradeOptions
from grader.rubric import BY_NAME

USAGE_ERROR = 2
NO_SANDBOX = 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade", description="Grade backprop-lab submissions with isolated, hidden checks."
    )
    p.add_argument("paths", nargs="+", type=Path, help="submission folder(s), .zip, or notebooks folder")
    p.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope-style results.json")
    p.add_argument("--feedback", type=Path, metavar="FILE", help="write the student-facing feedback.md")
    p.add_argument("--public", action="store_true", help="run only the public checks (what students run)")
    p.add_argument("--task", action="append", choices=sorted(BY_NAME), help="grade only this task (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed of the hidden inputs (fixed default)")
    p.add_argument("--batch", action="store_true", help="PATH is a folder of submissions, one per student")
    p.add_argument("--out", type=Path, help="results folder for batch mode")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel submissions in batch mode (default: one per core; one more when at least 8 "
        "students per core are left to grade)",
    )
    p.add_argument("--force", action="store_true", help="batch: regrade students already graded")
    p.add_argument(
        "--nbgrader",
        action="store_true",
        help="batch: PATH is an nbgrader course folder (or its submitted/); without this flag one is "
        "recognised only by its nbgrader_config.py or gradebook.db",
    )
    p.add_argument(
        "--assignment", metavar="NAME", help="batch, nbgrader tree: grade this assignment when students have several"
    )
    p.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="grade even where bubblewrap cannot run (student code then runs with your rights; "
        "recorded in every result)",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code without bubblewrap even where it works (needs --allow-unsandboxed "
        "unless --public; recorded in every result)",
    )
    p.add_argument(
        "--timeout-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="multiply every time limit of student code by X (a slow machine: 2; recorded in every result)",
    )
    p.add_argument(
        "--variants",
        type=Path,
        metavar="KEYFILE",
        help="per-student hidden inputs: each student's seed is a keyed hash (HMAC-SHA256) of this "
        "secret key file, the assignment and the student's name (batch: the entry's name)",
    )
    p.add_argument("--student", metavar="NAME", help="with --variants, grading one submission: whose variant it is")
    p.add_argument(
        "--expected-values",
        choices=["auto", "replay"],
        default="auto",
        help="public checks: compute expected values with the reference where it is installed "
        "(auto) or replay the recorded ones, as a student's copy does (replay)",
    )
    p.add_argument(
        "--worker-start",
        choices=["auto", "fresh", "template"],
        default="auto",
        help="how sandboxed workers start: a fresh interpreter each (fresh), or forked from a template that "
        "imported numpy, torch and keras once, each in namespaces, a uid and a cgroup of its own (template: "
        "needs root and cgroups, else fresh). auto: template for several submissions, fresh for one",
    )
    p.add_argument("--quiet", action="store_true", help="no table or progress bar")
    return p


@contextlib.contextmanager
def _progress_display(quiet: bool):
    """Per task, checks finished of checks collected, live on a terminal's stderr (nothing when
    quiet or not a terminal); yields the callback grader.runner.grade calls."""
    from rich.console import Console

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("checks"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as live:

        def show(counts: dict[str, tuple[int, int]]) -> None:
            for name in sorted(counts, key=lambda n: BY_NAME[n].number if n in BY_NAME else 99):
                done, total = counts[name]
                if name not in bars:
                    label = f"{BY_NAME[name].number}. {BY_NAME[name].file}" if name in BY_NAME else name
                    bars[name] = live.add_task(label, total=total)
                live.update(bars[name], completed=done, total=total)

        yield show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import os

    os.environ.pop("BPLAB_ISOLATION_PROBED", None)  # a hand-over between the grader's own processes only
    from grader import runner, submission
    from grader.sandbox import SandboxUnavailable

    seed = runner.DEFAULT_SEED if args.seed is None else args.seed
    several = args.batch or len(args.paths) > 1 or args.out
    variant = args.variant_key = None
    try:
        if args.variants is not None:
            if args.seed is not None:
                raise submission.SubmissionError(
                    "--seed and --variants exclude each other: with a key, each student's seed comes from the key"
                )
            if several and args.student is not None:
                raise submission.SubmissionError(
                    "--student names the student of one submission; a batch takes each student's name from their entry"
                )
            if not several and not args.student:
                raise submission.SubmissionError(
                    "--variants needs --student NAME to grade one submission (whose variant it is)"
                )
            args.variant_key = runner.read_variant_key(args.variants)
            if not several:
                variant = runner.variant_for(args.variant_key, args.student)
                seed = variant.seed
        elif args.student is not None:
            raise submission.SubmissionError("--student picks a student's variant: use it with --variants KEYFILE")
    except (submission.SubmissionError, runner.VariantKeyError) as exc:
        from grader.text import clean

        print(f"grade: {clean(exc, 2000)}", file=sys.stderr)
        return USAGE_ERROR
    try:
        options = GradeOptions(
            tasks=tuple(args.task or ()),
            seed=seed,
            public_only=args.public,
            allow_unsandboxed=args.allow_unsandboxed,
            sandbox=not args.no_sandbox,
            timeout_scale=args.timeout_scale,
            expected=args.expected_values,
            worker_start=args.worker_start,
        )
    except ValueError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        runner.isolation_line(options)  # refuse before reading anything
        if several:
            if not args.out:
                raise submission.SubmissionError("--out RESULTS_DIR is required to grade several submissions")
            from grader import batch

            return batch.main(args, options)
        with submission.load(args.paths[0]) as sub:
            with _progress_display(args.quiet) as show:
                results = runner.grade(sub.folder, options, progress=show)
            results.notes = list(sub.notes)
            if variant is not None:
                results.variant = variant.record()
    except SandboxUnavailable as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return NO_SANDBOX
    except submission.SubmissionError as exc:
        from grader.text import clean

        print(f"grade: {clean(exc, 2000)}", file=sys.stderr)
        return USAGE_ERROR
    if args.json:
        results.write_json(args.json)
    if args.feedback:
        from grader.results import write_atomic

        write_atomic(args.feedback, results.feedback_markdown(args.student))
    if not args.quiet:
        results.print_table()
    return 1 if results.grader_errors else 0


if __name__ == "__main__":
    sys.exit(main())
