"""How one submission is graded: parsed once where grading starts, passed down, recorded.

Every entry point (``grade``, ``grade --batch``, Gradescope's ``run_autograder``, nbgrader's
``IsolatedGrade``) turns its own flags or configuration into one ``GradeOptions`` and calls
``grader.runner.grade(submission, options)``; nothing below the entry points reads the
environment. Whatever changes a grade or the isolation is a field here and is written into
every results.json (``extra_data.options``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from grader.rubric import BY_NAME

DEFAULT_SEED = 20261201
WORKER_STARTS = ("auto", "fresh", "template")


@dataclasses.dataclass(frozen=True)
class GradeOptions:
    """``tasks``: the tasks to grade (empty: all); ``seed``: the hidden inputs; ``public_only``: a
    student's local check; ``allow_unsandboxed``: grade even without bubblewrap (student code then
    runs with the grader's rights); ``sandbox``: False runs without bubblewrap even where it exists
    (``--no-sandbox``, needs ``allow_unsandboxed`` unless ``public_only``); ``timeout_scale``:
    multiplies every time limit of the student's code (``--timeout-scale``, for slow machines);
    ``expected``/``expected_dir``: where the public checks take their expected values (see
    ``grader.expected``: ``auto``, ``replay`` as on a student's machine, ``record`` for ``course stubs``);
    ``worker_start``: ``fresh`` starts a new sandboxed interpreter per worker, ``template`` forks each
    worker from a pre-imported template in a room of its own (``grader.sandbox.template``; where
    the machine allows it, else fresh workers); ``auto``: template for a batch, fresh for one
    submission (whose one grade would pay the template's imports without reusing them)."""

    tasks: tuple[str, ...] = ()
    seed: int = DEFAULT_SEED
    public_only: bool = False
    allow_unsandboxed: bool = False
    sandbox: bool = True
    timeout_scale: float = 1.0
    expected: str = "auto"
    expected_dir: str | None = None
    worker_start: str = "auto"

    def __post_init__(self) -> None:
        unknown = [t for t in self.tasks or () if t not in BY_NAME]
        if unknown:
            raise ValueError(f"unknown task(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(BY_NAME))}")
        object.__setattr__(self, "tasks", tuple(sorted(set(self.tasks or ()), key=lambda t: BY_NAME[t].number)))
        if not 0.01 <= float(self.timeout_scale) <= 100:
            raise ValueError(f"timeout scale {self.timeout_scale} is outside 0.01..100")
        if self.expected not in ("auto", "replay", "record"):
            raise ValueError(f"expected values {self.expected!r}: one of auto, replay, record")
        if self.worker_start not in WORKER_STARTS:
            raise ValueError(f"worker start {self.worker_start!r}: one of {', '.join(WORKER_STARTS)}")

    def replace(self, **changes: Any) -> GradeOptions:
        return dataclasses.replace(self, **changes)

    def record(self) -> dict[str, Any]:
        """What results.json says about how it was graded."""
        return {
            "tasks": list(self.tasks),
            "seed": self.seed,
            "public_only": self.public_only,
            "allow_unsandboxed": self.allow_unsandboxed,
            "sandbox": self.sandbox,
            "timeout_scale": self.timeout_scale,
            "expected": self.expected,
            "worker_start": self.worker_start,
        }

    def lane_args(self) -> list[str]:
        """The options a lane process needs, as its command-line flags (grader.lane)."""
        args = [
            "--seed",
            str(self.seed),
            "--timeout-scale",
            repr(float(self.timeout_scale)),
            "--expected",
            self.expected,
        ]
        args += ["--expected-dir", self.expected_dir] if self.expected_dir else []
        args += ["--worker-start", self.worker_start] if self.worker_start != "auto" else []
        return args + (["--public"] if self.public_only else [])
