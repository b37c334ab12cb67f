"""``grade PATH...``: grade a submission (or a class with --batch), print the table, write reports.

Exit status: 0 when grading ran (whatever the score), 2 for a usage error with a one-line reason,
3 when it refused to grade because no sandbox can run here (``--allow-unsandboxed`` overrides it,
and every result records that), 1 only for a bug of the grader itself.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.rubric import BY_NAME

USAGE_ERROR = 2
NO_SANDBOX = 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grade", description="Grade backprop-lab submissions with isolated, hidden checks.")
    p.add_argument("paths", nargs="+", type=Path, help="submission folder(s), .zip, or notebooks folder")
    p.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope-style results.json")
    p.add_argument("--feedback", type=Path, metavar="FILE", help="write the student-facing feedback.md")
    p.add_argument("--public", action="store_true", help="run only the public checks (what students run)")
    p.add_argument("--task", action="append", choices=sorted(BY_NAME), help="grade only this task (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed of the hidden inputs (fixed default)")
    p.add_argument("--batch", action="store_true", help="PATH is a folder of submissions, one per student")
    p.add_argument("--out", type=Path, help="results folder for batch mode")
    p.add_argument("--workers", type=int, default=None, help="parallel submissions in batch mode (default: cores)")
    p.add_argument("--force", action="store_true", help="batch: regrade students already graded")
    p.add_argument("--nbgrader", action="store_true",
                   help="batch: PATH is an nbgrader course folder (or its submitted/); without this flag one is "
                        "recognised only by its nbgrader_config.py or gradebook.db")
    p.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade even where bubblewrap cannot run (student code then runs with your rights; "
                        "recorded in every result)")
    p.add_argument("--variants", type=Path, metavar="KEYFILE",
                   help="per-student hidden inputs: each student's seed is a keyed hash (HMAC-SHA256) of this "
                        "secret key file, the assignment and the student's name (batch: the entry's name)")
    p.add_argument("--student", metavar="NAME", help="with --variants, grading one submission: whose variant it is")
    p.add_argument("--quiet", action="store_true", help="no table or progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from grader import runner, submission
    from grader.sandbox import SandboxUnavailable
    seed = runner.DEFAULT_SEED if args.seed is None else args.seed
    several = args.batch or len(args.paths) > 1 or args.out
    variant = args.variant_key = None
    try:
        if args.variants is not None:
            if args.seed is not None:
                raise submission.SubmissionError("--seed and --variants exclude each other: with a key, each "
                                                 "student's seed comes from the key")
            if several and args.student is not None:
                raise submission.SubmissionError("--student names the student of one submission; a batch takes "
                                                 "each student's name from their entry")
            if not several and not args.student:
                raise submission.SubmissionError("--variants needs --student NAME to grade one submission "
                                                 "(whose variant it is)")
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
        runner.isolation_line(args.public, args.allow_unsandboxed)  # refuse before reading anything
        if several:
            if not args.out:
                raise submission.SubmissionError("--out RESULTS_DIR is required to grade several submissions")
            from grader import batch
            return batch.main(args, seed)
        with submission.load(args.paths[0]) as sub:
            results = runner.grade(sub.folder, tasks=args.task, seed=seed, public_only=args.public,
                                   allow_unsandboxed=args.allow_unsandboxed)
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
        from grader.text import clean_line
        for note in sub.notes:  # notes name the submission's files: no control characters on the terminal
            print(f"note: {clean_line(note, 1000)}")
        results.print_table()
    return 1 if results.grader_errors else 0


if __name__ == "__main__":
    sys.exit(main())
