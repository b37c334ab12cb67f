"""Grade a whole class: one student per entry, in parallel, resumable, every file written atomically.

``grade SUBMISSIONS_DIR --batch --out RESULTS_DIR`` (or ``grade a/ b.zip c/ --out RESULTS_DIR``).
Entries are folders, ``.zip`` files, or an nbgrader course tree (``submitted/<student>/<assignment>/``,
recognised only from evidence: the course folder holds ``nbgrader_config.py`` or ``gradebook.db``,
or ``--nbgrader`` says so; ``--assignment NAME`` picks the assignment when students have
several). Every entry gets a gradebook row, graded or an error; none is dropped silently. Each
student gets ``RESULTS_DIR/<student>/results.json`` (Gradescope format, with the resume key in
``extra_data.batch``, which also lists the student's named mistakes and variant) and ``feedback.md``;
``RESULTS_DIR/gradebook.csv``, ``summary.json`` and the class report ``report.html``
(built by ``course report``) are rebuilt from the per-student results. With a variants key
(``--variants``) each student is graded on their own seed, ``runner.variant_for(key, student)``.

Resuming: the key of a result is a hash of the normalised submission content, the grader's own
code, the task's checks and every reference module they import (followed through the imports
themselves, ``reference_files``), the seed and the options; a rerun skips every student whose stored key matches
(``--force`` regrades). A result is written (temp file + rename) by the process that graded it, the
moment it exists, so killing the batch, even with SIGKILL, loses at most the submissions in flight.

Student text (names, messages) is cleaned by ``grader.text`` before it reaches a file or the
terminal; ``gradebook.csv`` cells are neutralised for spreadsheets (``csv_cell``). A student whose
report cannot be written gets an error row and is graded again on the next run; the others are
not affected.

Processes: the batch runs ``--workers`` grading processes (default: one per core, one more when at
least 8 students per core are left to grade: ``driver.default_workers``), each in its own process
group that dies with the batch; each grades one submission at a time with ``max(1, cores //
workers)`` lanes (``grader.runner``).
"""

from grader.batch.driver import main, run
from grader.batch.gradebook import gradebook_csv, limits_hit, row_for, status_of
from grader.batch.grading import grade_one
from grader.batch.intake import NBGRADER_EVIDENCE, Entry, discover
from grader.batch.keys import fingerprint_files, reference_files

__all__ = [
    "NBGRADER_EVIDENCE",
    "Entry",
    "discover",
    "fingerprint_files",
    "gradebook_csv",
    "grade_one",
    "limits_hit",
    "main",
    "reference_files",
    "row_for",
    "run",
    "status_of",
]
