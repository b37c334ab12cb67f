"""The grading processes: each grades one student at a time and commits that student's files."""

from __future__ import annotations

import json
import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

from grader import runner, submission
from grader import text as _text
from grader.batch.keys import content_hash, make_key
from grader.options import GradeOptions
from grader.results import write_atomic
from grader.sandbox.isolation import die_with_parent

# ---------------------------------------------------------------------------------------------
# the grading processes
# ---------------------------------------------------------------------------------------------
_writing = False
_kill_pending = False
_graded_here = 0  # submissions this grading process has graded (its first grade starts its templates)


def _kill_my_group(*_: Any) -> None:
    """SIGTERM (the batch died or was interrupted): kill this process and its lanes, unless mid-write."""
    global _kill_pending
    if _writing:
        _kill_pending = True
        return
    os.killpg(os.getpgrp(), signal.SIGKILL)


def init_worker(parent: int) -> None:
    os.setpgrp()  # lanes join this group; Ctrl-C reaches only the batch, which then stops us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _kill_my_group)
    try:
        die_with_parent(signal.SIGTERM)  # the batch died: stop (see _kill_my_group)
    except Exception:
        pass
    if os.getppid() != parent:  # the batch died before we could ask
        os.killpg(os.getpgrp(), signal.SIGKILL)


def _commit(folder: Path, data: dict, feedback: str) -> None:
    """results.json first (it carries the key and makes the result final), then feedback.md. When
    feedback.md cannot be written, results.json goes too: the student is graded again next run."""
    global _writing
    text = json.dumps(data, indent=2) + "\n"  # rendered before anything is written
    _writing = True
    try:
        write_atomic(folder / "results.json", text)
        try:
            write_atomic(folder / "feedback.md", feedback)
        except BaseException:
            (folder / "results.json").unlink(missing_ok=True)
            raise
    finally:
        _writing = False
        if _kill_pending:
            os.killpg(os.getpgrp(), signal.SIGKILL)


def grade_one(job: dict) -> dict:
    """Grade one student's entry and commit its files; never raises (errors come back as a record)."""
    global _graded_here
    student, path = job["student"], Path(job["path"])
    start = time.monotonic()
    warm = _graded_here > 0
    try:
        with submission.load(path) as sub:
            content = content_hash(sub.folder)
            options = GradeOptions(**job["options"])
            key = make_key(content, job["fingerprint"], options.seed, list(options.tasks), options.public_only)
            results = runner.grade(sub.folder, options, lanes=job["lanes"], in_process=True)
            results.notes = list(sub.notes)
        results.variant = job.get("variant")
        data = results.to_json()
        data["extra_data"]["batch"] = {
            "student": _text.clean_line(student),
            "source": _text.clean_line(str(path), 4096),
            "key": key,
            "content_sha256": content,
            "grader": job["fingerprint"],
            "run_id": job["run_id"],
            "graded_at": time.time(),
            "seconds": round(time.monotonic() - start, 2),
            "warm": warm,  # not this grading process's first submission
            "variant": (job.get("variant") or {}).get("id"),
            "mistakes": sorted({m["id"] for t in results.tests for m in t.mistakes}),
        }
        _commit(Path(job["out"]) / student, data, results.feedback_markdown(student))
        _graded_here += 1  # only a grade that ran started what later grades here reuse
        return {"student": student, "state": "graded", "data": data}
    except submission.SubmissionError as exc:
        return {"student": student, "state": "error", "error": _text.clean(exc, 1000)}
    except Exception as exc:  # costs only this student: an error row, graded again on the next run
        tail = _text.clean(traceback.format_exc()[-1200:], 1200)
        return {
            "student": student,
            "state": "grader_error",
            "error": f"{_text.type_name(type(exc).__name__)}: {_text.clean(exc, 1000)}",
            "trace": tail,
        }
