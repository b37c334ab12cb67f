"""Worked numbers of reference/gradcheck.md, computed by solutions.gradcheck and solutions.backprop.

Values are given to 10 significant digits; measured errors (which sit at the round-off level
and so depend on the last bits of the arithmetic) are given to 2 significant digits.
"""

from __future__ import annotations

import numpy as np

from solutions import backprop as bp
from solutions import gradcheck as gc

NAMES = ("W1", "b1", "W2", "b2")


def _g(v: float) -> str:
    return f"{float(v):.10g}"


def _e(v: float) -> str:
    return f"{float(v):.1e}"


# ---------------------------------------------------------------------------------------------
# sum(x^3): centred vs forward differences
# ---------------------------------------------------------------------------------------------

CUBE_X = np.array([-1.5, -0.5, 0.25, 1.0, 2.0])
CUBE_H = 1e-3


def _cube(x: np.ndarray) -> float:
    return float(np.sum(x**3))


def _forward_difference(f, x: np.ndarray, h: float) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    f0 = f(x)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        g[i] = (f(x) - f0) / h
        x[i] = old
    return g


def cube_table() -> str:
    x = CUBE_X.copy()
    exact = 3 * x**2
    centred = gc.numerical_gradient(_cube, x, h=CUBE_H)
    forward = _forward_difference(_cube, x, CUBE_H)
    lines = [
        f"| x | exact 3x^2 | centred, h={CUBE_H:g} | forward, h={CUBE_H:g} | centred abs. error | forward abs. error |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for i in range(x.size):
        lines.append(
            f"| {_g(x[i])} | {_g(exact[i])} | {_g(centred[i])} | {_g(forward[i])} | "
            f"{_e(abs(centred[i] - exact[i]))} | {_e(abs(forward[i] - exact[i]))} |"
        )
    lines.append(
        f"| max rel. error | | {_e(gc.relative_error(centred, exact))} | {_e(gc.relative_error(forward, exact))} | | |"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# A small sigmoid MLP with softmax cross-entropy
# ---------------------------------------------------------------------------------------------

N, D, H, C = 5, 4, 6, 3
SEED = 0


def mlp_problem() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """X (5, 4), labels (5,), params {W1 (6, 4), b1 (6,), W2 (3, 6), b2 (3,)}, seeded."""
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(N, D))
    y = rng.integers(0, C, size=N)
    params = {
        "W1": rng.normal(size=(H, D)),
        "b1": rng.normal(size=H),
        "W2": rng.normal(size=(C, H)),
        "b2": rng.normal(size=C),
    }
    return X, y, params


def _as_list(p: dict[str, np.ndarray]) -> bp.Params:
    return [(p["W1"], p["b1"]), (p["W2"], p["b2"])]


def mlp_loss(X: np.ndarray, y: np.ndarray, dtype=np.float64):
    """f(params) = mean softmax cross-entropy of the 2-layer sigmoid MLP, computed in ``dtype``."""

    def f(p: dict[str, np.ndarray]) -> float:
        Xd = X.astype(dtype)
        W1, b1, W2, b2 = (p[k].astype(dtype) for k in NAMES)
        a1 = (1 / (1 + np.exp(-(Xd @ W1.T + b1)))).astype(dtype)
        z2 = a1 @ W2.T + b2
        z2 = z2 - z2.max(axis=1, keepdims=True)
        log_p = z2 - np.log(np.exp(z2).sum(axis=1, keepdims=True))
        return float(-np.mean(log_p[np.arange(len(y)), y]))

    return f


def mlp_grads(X: np.ndarray, y: np.ndarray, p: dict[str, np.ndarray], bias_bug: bool = False) -> dict[str, np.ndarray]:
    """Analytic gradients from solutions.backprop; bias_bug replaces db = Delta.sum(0) by Delta.mean(0)."""
    params = _as_list(p)
    cache = bp.forward(X, params, hidden="sigmoid", output="softmax")
    grads = bp.backward(cache, params, y, hidden="sigmoid", output="softmax")
    out = {"W1": grads[0][0], "b1": grads[0][1], "W2": grads[1][0], "b2": grads[1][1]}
    if bias_bug:
        D = bp.deltas(cache, params, y, hidden="sigmoid", output="softmax")
        out["b1"] = D[0].mean(axis=0)
        out["b2"] = D[1].mean(axis=0)
    return out


H_VALUES = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9)


def h_sweep_table() -> str:
    X, y, p = mlp_problem()
    grads = mlp_grads(X, y, p)
    lines = [
        "| h | max rel. error, float64 | max rel. error, float32 |",
        "| --- | --- | --- |",
    ]
    for h in H_VALUES:
        cells = []
        for dtype in (np.float64, np.float32):
            rep = gc.check_gradients(mlp_loss(X, y, dtype), p, grads, h=h)
            cells.append(_e(max(r["max_rel_error"] for r in rep.values())))
        lines.append(f"| {h:.0e} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def bias_bug_table() -> str:
    X, y, p = mlp_problem()
    f = mlp_loss(X, y)
    good = gc.check_gradients(f, p, mlp_grads(X, y, p))
    bad_grads = mlp_grads(X, y, p, bias_bug=True)
    bad = gc.check_gradients(f, p, bad_grads)
    lines = [
        "| parameter | correct code: max rel. error | bias bug: max rel. error | bias bug: passed |",
        "| --- | --- | --- | --- |",
    ]
    for k in NAMES:
        lines.append(f"| `{k}` | {_e(good[k]['max_rel_error'])} | {_e(bad[k]['max_rel_error'])} | {bad[k]['passed']} |")
    # One relative error of the whole concatenated gradient vector (norm form).
    num = np.concatenate([gc.numerical_gradient(lambda v, k=k: f({**p, k: v}), p[k]).ravel() for k in NAMES])
    ana = np.concatenate([bad_grads[k].ravel() for k in NAMES])
    concat = np.linalg.norm(ana - num) / (np.linalg.norm(ana) + np.linalg.norm(num))
    lines.append(f"| all concatenated, norm form | | {concat:.2g} | |")
    return "\n".join(lines)


BLOCKS = {
    "gradcheck-cube": cube_table,
    "gradcheck-h-sweep": h_sweep_table,
    "gradcheck-bias-bug": bias_bug_table,
}
