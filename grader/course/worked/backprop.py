"""Worked numbers of reference/backprop.md, computed by solutions.backprop (10 significant digits)."""

from __future__ import annotations

import numpy as np

from solutions import backprop as bp


def _g(v: float) -> str:
    return f"{float(v):.10g}"


def _entries(name: str, arr: np.ndarray) -> list[tuple[str, float]]:
    """Name every entry of a vector or matrix with 1-based lecture indices, e.g. W1[2,1]."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 0:
        return [(name, float(arr))]
    out = []
    for idx in np.ndindex(arr.shape):
        label = ",".join(str(i + 1) for i in idx)
        out.append((f"{name}[{label}]", float(arr[idx])))
    return out


def _table(rows: list[tuple[str, str, float]]) -> str:
    lines = ["| quantity | formula | value |", "| --- | --- | --- |"]
    lines += [f"| `{q}` | {formula} | {_g(v)} |" for q, formula, v in rows]
    return "\n".join(lines)


def params_221() -> str:
    ex = bp.EXAMPLE_221
    rows: list[tuple[str, str, float]] = []
    for key, what in [
        ("x", "input"),
        ("y", "target"),
        ("W1", "hidden weights (out, in)"),
        ("b1", "hidden bias"),
        ("W2", "output weights (out, in)"),
        ("b2", "output bias"),
    ]:
        rows += [(q, what, v) for q, v in _entries(key, ex[key])]
    return _table(rows)


def forward_221() -> str:
    r = bp.example_221()
    rows: list[tuple[str, str, float]] = []
    rows += [(q, "$z^{(1)} = W^{(1)} x + b^{(1)}$", v) for q, v in _entries("z1", r["z1"])]
    rows += [(q, r"$a^{(1)} = \sigma(z^{(1)})$", v) for q, v in _entries("a1", r["a1"])]
    rows += [(q, "$z^{(2)} = W^{(2)} a^{(1)} + b^{(2)}$", v) for q, v in _entries("z2", r["z2"])]
    rows += [(q, r"$a^{(2)} = \sigma(z^{(2)})$", v) for q, v in _entries("a2", r["a2"])]
    rows.append(("loss", "$(a^{(2)} - y)^2$", r["loss"]))
    return _table(rows)


def backward_221() -> str:
    r = bp.example_221()
    rows: list[tuple[str, str, float]] = []
    rows += [(q, r"$\delta^{(2)} = 2(a^{(2)} - y)\,\sigma'(z^{(2)})$", v) for q, v in _entries("delta2", r["delta2"])]
    rows += [(q, r"$\partial L/\partial W^{(2)} = \delta^{(2)} (a^{(1)})^T$", v) for q, v in _entries("dW2", r["dW2"])]
    rows += [(q, r"$\partial L/\partial b^{(2)} = \delta^{(2)}$", v) for q, v in _entries("db2", r["db2"])]
    rows += [
        (q, r"$\delta^{(1)} = (W^{(2)})^T \delta^{(2)} \odot \sigma'(z^{(1)})$", v)
        for q, v in _entries("delta1", r["delta1"])
    ]
    rows += [(q, r"$\partial L/\partial W^{(1)} = \delta^{(1)} x^T$", v) for q, v in _entries("dW1", r["dW1"])]
    rows += [(q, r"$\partial L/\partial b^{(1)} = \delta^{(1)}$", v) for q, v in _entries("db1", r["db1"])]
    return _table(rows)


def step_221() -> str:
    """One gradient-descent step with lr = 0.5 on the example: new parameters and the new loss."""
    ex = bp.EXAMPLE_221
    params = [(ex["W1"], ex["b1"]), (ex["W2"], ex["b2"])]
    X, Y = ex["x"][None, :], ex["y"][None, :]
    lr = 0.5
    new, before = bp.train_step(params, X, Y, lr, hidden="sigmoid", output="sigmoid")
    cache = bp.forward(X, new, hidden="sigmoid", output="sigmoid")
    after = bp.loss(cache["A"][-1], Y, "sigmoid")
    rows: list[tuple[str, str, float]] = []
    for name, arr in [("W1", new[0][0]), ("b1", new[0][1]), ("W2", new[1][0]), ("b2", new[1][1])]:
        rows += [(q, f"{name} - {lr} * d{name}", v) for q, v in _entries(name, arr)]
    rows.append(("loss before", "at the old parameters", before))
    rows.append(("loss after", "at the new parameters", after))
    return _table(rows)


BLOCKS = {
    "backprop-221-params": params_221,
    "backprop-221-forward": forward_221,
    "backprop-221-backward": backward_221,
    "backprop-221-step": step_221,
}
