"""``course nbgrader COURSE_DIR``: create or refresh an nbgrader course directory.

Writes ``COURSE_DIR/nbgrader_config.py`` (course id, exchange root, the course's preprocessors:
see ``grader.course.nbgrader_preprocessors``) and ``COURSE_DIR/source/<assignment>/`` with one
notebook per task (``grader.course.notebooks``) and the given ``data.py``. Running it again
refreshes both; the instructor's own settings belong in ``nbgrader_config_local.py``, which the
generated config loads last. The standard nbgrader commands then run unchanged in COURSE_DIR.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from grader.course import notebooks

DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"  # nbgrader's own default
CONFIG = "nbgrader_config.py"
LOCAL_CONFIG = "nbgrader_config_local.py"

CONFIG_TEMPLATE = '''\
"""nbgrader configuration of the course {course_id!r}, written by `course nbgrader` (backprop-lab).

`course nbgrader` rewrites this file when it refreshes the course: put your own settings in
{local} next to it (loaded last, so it overrides everything here).
"""
import os

c = get_config()  # noqa: F821

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = {course_id!r}
# The exchange root must exist and be writable by every student (e.g. chmod 1777):
c.Exchange.root = {exchange!r}

# Scores come from the course's isolated grader, never from the student's kernel: the
# IsolatedGrade preprocessor grades each task notebook out of the kernel and writes the scores
# into its graded cells before nbgrader saves them. With EXECUTE_STUDENT_KERNEL = False (the
# default) nbgrader does not execute the submitted notebooks at all; set it to True to have
# the student's own outputs in the feedback (their code then runs unsandboxed as you, in a kernel).
EXECUTE_STUDENT_KERNEL = {execute!r}

# nbgrader only logs an exception raised here and goes on with its defaults (in-kernel scores),
# so any failure stops nbgrader instead (SystemExit).
try:
    from grader.course.nbgrader_preprocessors import configure
    configure(c, execute_kernel=EXECUTE_STUDENT_KERNEL, seed={seed!r})
except Exception as exc:
    raise SystemExit(f"nbgrader_config.py: the backprop-lab grader is not usable in this Python "
                     f"({{type(exc).__name__}}: {{exc}}); install it with pip install 'backprop-lab[nbgrader]'")

load_subconfig({local!r})  # noqa: F821
'''


def _existing(config: Path, key: str) -> str | None:
    if not config.exists():
        return None
    match = re.search(rf"^c\.{re.escape(key)} = (['\"])(.*?)\1\s*$", config.read_text(encoding="utf-8"), re.M)
    return match.group(2) if match else None


def config_text(course_id: str, exchange: str, seed: int, execute: bool = False) -> str:
    return CONFIG_TEMPLATE.format(
        course_id=course_id, exchange=exchange, seed=seed, execute=execute, local=LOCAL_CONFIG
    )


def create(
    course_dir: Path,
    course_id: str = "backprop-lab",
    exchange: Path | str | None = None,
    assignment: str = "backprop",
    tasks: list[str] | None = None,
) -> dict:
    """Create or refresh the course directory; return what was written and what was skipped."""
    from grader.runner import DEFAULT_SEED

    course_dir = Path(course_dir).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    config = course_dir / CONFIG
    if exchange is None:
        exchange = _existing(config, "Exchange.root") or DEFAULT_EXCHANGE
    exchange = str(Path(exchange).expanduser().resolve())
    old = config.read_text(encoding="utf-8") if config.exists() else None
    execute = bool(old and re.search(r"^EXECUTE_STUDENT_KERNEL = True\s*$", old, re.M))
    text = config_text(course_id, exchange, DEFAULT_SEED, execute)
    written = []
    if old != text:
        config.write_text(text, encoding="utf-8")
        written.append(config)
    source = course_dir / "source" / assignment
    changed, skipped = notebooks.write(source, tasks)
    written += changed
    released = course_dir / "release" / assignment
    return {
        "course_dir": course_dir,
        "config": config,
        "source": source,
        "exchange": exchange,
        "written": written,
        "skipped": skipped,
        "notebooks": sorted(p.name for p in source.glob("*.ipynb")),
        "rerelease": bool(changed) and released.exists(),
    }


def main(args: argparse.Namespace) -> int:
    info = create(args.course_dir, args.course_id, args.exchange, args.assignment)
    root = info["course_dir"]
    for path in info["written"]:
        print(f"wrote {path.relative_to(root)}")
    for task, reason in info["skipped"].items():
        print(f"skipped {task}: {reason}")
    if not info["written"]:
        print("up to date")
    print(
        f"course {args.course_id!r}: {len(info['notebooks'])} notebooks in {info['source'].relative_to(root)}, "
        f"exchange {info['exchange']}"
    )
    if not Path(info["exchange"]).is_dir():
        print(
            f"note: create the exchange root, writable by students: mkdir -p {info['exchange']} && "
            f"chmod 1777 {info['exchange']}"
        )
    if info["rerelease"]:
        print(
            f"note: the source changed after a release: nbgrader generate_assignment {args.assignment} --force "
            f"(and release_assignment --force before students fetch)"
        )
    print(
        f"next, in {root}: nbgrader generate_assignment {args.assignment} && "
        f"nbgrader release_assignment {args.assignment}"
    )
    return 0
