"""Tasks, points and visibility: the rubric of the assignment (100 points in all).

Points per test are declared next to each check with ``@pytest.mark.points(n)``; the total per
task must equal ``Task.points`` here (a test of this project checks it). ``course rubric`` prints
the table from the collected checks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from grader.sandbox import Limits

CHECKS = Path(__file__).resolve().parent / "checks"
VISIBILITY = {"public": "visible", "hidden": "after_published"}


@dataclasses.dataclass(frozen=True)
class Task:
    number: int
    name: str  # module name, e.g. "losses"; the file is f"{name}.py"
    title: str
    points: int
    cost: float  # rough seconds of a full grade, used to spread tasks over lanes
    limits: Limits = Limits()
    libraries: tuple[str, ...] = ("numpy",)  # what the module imports (a template worker has them imported)

    @property
    def file(self) -> str:
        return f"{self.name}.py"

    def check_files(self, public_only: bool = False) -> list[Path]:
        kinds = ("public",) if public_only else ("public", "hidden")
        return [p for kind in kinds if (p := CHECKS / kind / f"test_{self.name}.py").exists()]


TASKS: tuple[Task, ...] = (
    Task(1, "losses", "Loss functions and their gradients", 14, 1.0),
    Task(2, "chain_rule", "The chain rule and a single neuron", 8, 0.5),
    Task(3, "backprop", "Backpropagation: the delta recursion", 16, 1.5),
    Task(4, "autograd", "A computational-graph autograd engine", 16, 2.0),
    Task(5, "gradcheck", "Gradient checking", 8, 1.0),
    Task(6, "minibatch", "Mini-batch gradient descent and training tips", 10, 2.0),
    Task(
        7,
        "torch_training",
        "Training in PyTorch",
        10,
        8.0,
        Limits(call_timeout=60, start_timeout=90, task_budget=300),
        ("numpy", "torch", "torch._dynamo"),  # a first optimizer imports torch._dynamo: 1.3 s per worker
    ),
    Task(
        8,
        "keras_training",
        "Training in Keras",
        10,
        14.0,
        Limits(call_timeout=90, start_timeout=120, task_budget=400),
        ("numpy", "keras"),
    ),
    Task(9, "dynamics", "Training dynamics: initialisation, L2, learning rate, augmentation, landscape", 8, 1.5),
)
BY_NAME = {t.name: t for t in TASKS}
TOTAL_POINTS = sum(t.points for t in TASKS)
assert TOTAL_POINTS == 100
