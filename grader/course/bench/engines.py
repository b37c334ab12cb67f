"""4. The reference engines against PyTorch and Keras (measured in ``engines_child``, one thread)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from grader.course.bench.contenders import grading_env, run_timed
from grader.course.bench.settings import Settings
from grader.course.bench.stats import median, ms, paired_ratio, ratio_text, spread
from grader.course.bench.table import Table

ENGINES = [
    ("numpy", "numpy delta-recursion (solutions/backprop.py train_step)"),
    ("autograd", "graph engine (solutions/autograd.py train_step: mlp_forward + softmax_cross_entropy + backward)"),
    ("torch", "PyTorch nn.Sequential + CrossEntropyLoss + SGD step"),
    ("keras", "Keras train_on_batch (SGD, from_logits)"),
]
TARGETS = {"numpy": 1.0, "autograd": 2.0}  # per step, against torch


def bench_engines(settings: Settings, work: Path, ctx: dict, log: Callable[[str], None]) -> list[Table]:
    out = work / "engines.json"
    env = grading_env()  # single-threaded libraries
    cmd = [
        sys.executable,
        "-m",
        "grader.course.bench.engines_child",
        "--reps",
        str(settings.engine_reps),
        "--steps",
        str(settings.engine_steps),
        "--out",
        str(out),
    ]
    if settings.quick:
        cmd += ["--no-keras", "--quick (importing TensorFlow takes ~10 s; run the full bench)"]
    log("engines: a single-threaded child process")
    run_timed(cmd, work, env, timeout=1800, what="engines child")
    res = json.loads(out.read_text())
    s = res["steps"]
    t = Table(
        f"784-256-10 MLP (ReLU), batch 64, one SGD step, one thread ({settings.engine_reps} rounds of "
        f"{settings.engine_steps} steps after a warm-up)",
        ["engine", "float32 ms/step (min-max)", "float32 vs torch", "float64 ms/step (min-max)", "float64 vs torch"],
    )
    for key, label in ENGINES:
        cells: list[str] = [label]
        for dtype in ("float32", "float64"):
            name = f"{key}|{dtype}"
            if name in s:
                note = " (computes in float64: the reference casts)" if dtype == "float32" and key in TARGETS else ""
                cells.append(f"{ms(median(s[name]))} ({spread(s[name], ms)}){note}")
                base = s.get(f"torch|{dtype}")
                cells.append(ratio_text(s[name], base) if base else "n/a")
            else:
                cells += [res["dropped"].get(name) or res["dropped"].get(key) or "not run", ""]
        t.add(*cells)
    for dtype in ("float32", "float64"):
        for key, target in TARGETS.items():
            if f"{key}|{dtype}" in s and f"torch|{dtype}" in s:
                m = paired_ratio(s[f"{key}|{dtype}"], s[f"torch|{dtype}"])[0]
                what = "numpy delta-recursion" if key == "numpy" else "graph engine"
                t.notes.append(
                    f"{dtype}: {what} / torch = {m:.2f}x (target <= {target:g}: {'met' if m <= target else 'not met'})."
                )
    t.notes.append(
        "Same inputs (seeded X (64, 784), labels (64,)) and the same initial weights for every engine; "
        "OMP/MKL/OpenBLAS/TF threads = 1 and torch.set_num_threads(1); Keras runs in its own process "
        "(TensorFlow's import stays out of the others) and is timed there, per block of steps."
    )
    g = res["gradcheck"]
    t2 = Table(
        f"Gradient checks (solutions/gradcheck.py check_gradients, float64, h = 1e-5; {settings.engine_reps} rounds)",
        ["check", "median ms", "min-max ms", "max relative error"],
    )
    for name, err in g["errors"].items():
        if name in g["samples"]:
            t2.add(
                name,
                ms(median(g["samples"][name])),
                spread(g["samples"][name], ms),
                f"{err:.2e}" if err is not None else "?",
            )
        else:
            t2.add(name, g["dropped"].get(name, "not run"))
    ctx["engines_versions"] = {**res.get("versions", {}), **res.get("keras_versions", {})}
    return [t, t2]
