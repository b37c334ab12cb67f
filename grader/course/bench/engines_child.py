"""Comparison 4 in a single-threaded child: one SGD step of the reference engines, PyTorch and
Keras (in ``keras_server``) on the lecture's 784-256-10 network, and two gradient checks.

``python -m grader.course.bench.engines_child --reps R --steps S [--no-keras REASON] --out FILE``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.course.bench.contenders import ROOT
from grader.course.bench.stats import alternate


def step_contenders(steps: int, X, y, lr: float, init: list) -> dict[str, Callable[[], float]]:
    import torch

    from solutions import autograd, backprop

    def per_step(fn: Callable[[], None]) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps

    contenders: dict[str, Callable[[], float]] = {}
    for dtype in ("float32", "float64"):
        Xd = X.astype(dtype)
        st_np = {"p": [(W.astype(dtype), b.astype(dtype)) for W, b in init]}

        def np_step(st=st_np, Xd=Xd) -> None:
            st["p"], _ = backprop.train_step(st["p"], Xd, y, lr, hidden="relu", output="softmax")

        contenders[f"numpy|{dtype}"] = lambda f=np_step: per_step(f)

        ag_params = [autograd.Tensor(a.astype(dtype), requires_grad=True) for W, b in init for a in (W, b)]

        def ag_step(ps=ag_params, Xd=Xd) -> None:
            autograd.train_step(ps, Xd, y, lr, activation="relu")

        contenders[f"autograd|{dtype}"] = lambda f=ag_step: per_step(f)

        tdt = getattr(torch, dtype)
        model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(tdt)
        with torch.no_grad():
            for layer, (W, b) in zip((model[0], model[2]), init):
                layer.weight.copy_(torch.from_numpy(W))
                layer.bias.copy_(torch.from_numpy(b))
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        Xt, yt = torch.from_numpy(Xd), torch.from_numpy(y).long()

        def torch_step(model=model, opt=opt, Xt=Xt) -> None:
            opt.zero_grad()
            loss_fn(model(Xt), yt).backward()
            opt.step()

        contenders[f"torch|{dtype}"] = lambda f=torch_step: per_step(f)
    return contenders


def gradient_checks(X, y, init: list, reps: int) -> dict:
    """check_gradients of the 2-2-1 network (every entry) and of 784-256-10 (10 sampled entries per parameter)."""
    from solutions import backprop, gradcheck

    ex = backprop.EXAMPLE_221
    p221 = {k: ex[k] for k in ("W1", "b1", "W2", "b2")}

    def layers(p: dict) -> list:
        return [(p["W1"], p["b1"]), (p["W2"], p["b2"])]

    def f221(p: dict) -> float:
        cache = backprop.forward(ex["x"][None, :], layers(p), "sigmoid", "sigmoid")
        return backprop.loss(cache["A"][-1], ex["y"][None, :], "sigmoid")

    g = backprop.backward(
        backprop.forward(ex["x"][None, :], layers(p221), "sigmoid", "sigmoid"),
        layers(p221),
        ex["y"][None, :],
        "sigmoid",
        "sigmoid",
    )
    g221 = {"W1": g[0][0], "b1": g[0][1], "W2": g[1][0], "b2": g[1][1]}

    def fbig(p: dict) -> float:
        cache = backprop.forward(X, layers(p), "relu", "softmax")
        return backprop.loss(cache["A"][-1], y, "softmax", Z_L=cache["Z"][-1])

    pbig = {"W1": init[0][0], "b1": init[0][1], "W2": init[1][0], "b2": init[1][1]}
    g = backprop.backward(backprop.forward(X, init, "relu", "softmax"), init, y, "relu", "softmax")
    gbig = {"W1": g[0][0], "b1": g[0][1], "W2": g[1][0], "b2": g[1][1]}
    errors: dict[str, float] = {}

    def check(name: str, f: Callable, params: dict, grads: dict, samples: int | None) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            report = gradcheck.check_gradients(f, params, grads, h=1e-5, num_samples=samples, seed=0)
            elapsed = time.perf_counter() - start
            errors[name] = max(r["max_rel_error"] for r in report.values())
            return elapsed

        return run

    n221 = sum(v.size for v in p221.values())
    nbig = sum(min(10, v.size) for v in pbig.values())
    names = {
        f"2-2-1 network, every entry ({n221} entries, {2 * n221} loss evaluations)": "221",
        f"784-256-10 network, batch 64, 10 sampled entries per parameter ({nbig} entries, "
        f"{2 * nbig} loss evaluations)": "big",
    }
    runs = {"221": check("221", f221, p221, g221, None), "big": check("big", fbig, pbig, gbig, 10)}
    samples, dropped = alternate({label: runs[key] for label, key in names.items()}, reps, 1)
    return {"samples": samples, "dropped": dropped, "errors": {label: errors.get(key) for label, key in names.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.course.bench.engines_child")
    p.add_argument("--reps", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--no-keras", default="")
    p.add_argument("--out", type=Path, required=True)
    ns = p.parse_args(argv)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from solutions import backprop

    rng = np.random.default_rng(0)
    X, y, lr = rng.normal(size=(64, 784)), rng.integers(0, 10, size=64), 0.01
    init = backprop.init_params([784, 256, 10], seed=0)
    result: dict[str, Any] = {"steps": {}, "dropped": {}}
    contenders = step_contenders(ns.steps, X, y, lr, init)
    server = None
    if ns.no_keras:
        result["dropped"]["keras"] = f"skipped: {ns.no_keras}"
    else:
        npz = ns.out.with_suffix(".npz")
        np.savez(npz, X=X, y=y, lr=lr, W1=init[0][0], b1=init[0][1], W2=init[1][0], b2=init[1][1])
        server = subprocess.Popen(
            [sys.executable, "-m", "grader.course.bench.keras_server", str(npz)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=str(ROOT),
        )
        hello = server.stdout.readline()
        if not hello:
            result["dropped"]["keras"] = "failed: the Keras server did not start"
            server = None
        else:
            result["keras_versions"] = json.loads(hello)

            def keras_block(dtype: str) -> float:
                server.stdin.write(json.dumps({"dtype": dtype, "steps": ns.steps}) + "\n")
                server.stdin.flush()
                line = server.stdout.readline()
                if not line:
                    raise RuntimeError("the Keras server died")
                return json.loads(line)["seconds"]

            for dtype in ("float32", "float64"):
                contenders[f"keras|{dtype}"] = lambda d=dtype: keras_block(d)
    samples, dropped = alternate(contenders, ns.reps, 1)
    result["steps"] = samples
    result["dropped"].update(dropped)
    if server is not None:
        server.stdin.close()
        server.wait(timeout=60)
    result["gradcheck"] = gradient_checks(X, y, init, ns.reps)
    result["versions"] = {"numpy": np.__version__, "torch": torch.__version__}
    ns.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
