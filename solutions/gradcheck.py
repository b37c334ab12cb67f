"""Task 5: numerical gradients and gradient checking (numpy only).

The lecture's "numerical" approach: approximate each partial derivative of a scalar loss by a
centred difference (f(x + h e_i) - f(x - h e_i)) / (2h), whose error is O(h^2) (a forward
difference (f(x + h e_i) - f(x)) / h is only O(h)), and compare it entry by entry with the
gradient from backpropagation using a relative error.

Debugging advice built into these functions:
* centred differences, in float64 (in float32 the check is useless);
* h around 1e-5 (smaller h loses digits to round-off, larger h to truncation);
* a relative error per entry, |a - n| / max(1e-8, |a| + |n|), reported as a max per parameter;
* check each parameter on its own (a bug in a bias is diluted if everything is concatenated);
* for large tensors, check a seeded sample of entries;
* keep inputs away from kinks (ReLU at 0, max ties), where the derivative jumps.

All arrays are float64 unless stated. Row layout (N, D) applies to whatever network ``f``
evaluates; these functions only see flat parameters and a scalar loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Default pass threshold of check_gradients for smooth functions (use ~1e-4 near ReLU kinks).
DEFAULT_TOL = 1e-6
# Floor of the denominator of the relative error, so two (near-)zero gradients compare as equal.
REL_ERROR_FLOOR = 1e-8


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient g_i = (f(x + h e_i) - f(x - h e_i)) / (2h) of a scalar function f at x.

    f: maps an array of x's shape to a scalar (a float or a 0-d / size-1 array).
    x: float64 array of any shape (a non-float64 or non-array x is first copied to float64).
    h: step, default 1e-5 (best for float64 losses of order 1).
    Returns float64 of x's shape. Cost: 2 * x.size calls of f.
    Mutation: each entry of x is perturbed IN PLACE, one at a time, while f is called (so an f
    that reads x through a closure sees the perturbation), and is restored to its exact
    original value right after -- also if f raises -- so x is unchanged on return.
    """
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64):
        x = np.array(x, dtype=np.float64)
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = float(np.asarray(f(x)).reshape(()))
            x[idx] = old - h
            f_minus = float(np.asarray(f(x)).reshape(()))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * h)
    return grad
    ### END SOLUTION


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Maximum entrywise relative error max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|).

    a, b: arrays (or scalars) of the same shape, compared as float64. Returns a float in
    [0, 1] (0.0 for empty arrays). The 1e-8 floor keeps the ratio finite where both are 0 and
    makes tiny absolute differences of near-zero entries count as small. Symmetric in a, b.
    Inputs not mutated.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    ### BEGIN SOLUTION
    if a.size == 0:
        return 0.0
    err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))
    return float(err.max())
    ### END SOLUTION


def check_gradients(
    f: Callable[[dict[str, np.ndarray]], float],
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    h: float = 1e-5,
    num_samples: int | None = None,
    seed: int = 0,
    tol: float = DEFAULT_TOL,
) -> dict[str, dict]:
    """Per-parameter gradient check: max_i |g_i - n_i| / max(1e-8, |g_i| + |n_i|) with n_i the centred difference of f at params.

    f: maps a dict {name: array} (same keys and shapes as params) to the scalar loss.
    params: {name: float64 array}; grads: {name: analytic gradient of the same shape}.
    h: step of the centred differences. num_samples: if given and smaller than a parameter's
    size, only that many distinct entries of that parameter are checked, drawn with
    numpy.random.default_rng(seed) (a fresh generator per parameter, so the sample of one
    parameter does not depend on the others); otherwise every entry. tol: pass threshold.
    Returns {name: {"max_rel_error": float, "worst_index": tuple[int, ...] (index into that
    parameter of the worst checked entry), "analytic": float, "numeric": float (both at the
    worst index), "passed": bool (max_rel_error < tol)}} -- one report per parameter, in the
    order of params. f is called on float64 COPIES (one entry perturbed at a time); params
    and grads are never mutated.
    """
    missing = [name for name in params if name not in grads]
    if missing:
        raise KeyError(f"no analytic gradient for {missing}")
    ### BEGIN SOLUTION
    work = {name: np.array(p, dtype=np.float64) for name, p in params.items()}
    report: dict[str, dict] = {}
    for name, p in work.items():
        g = np.asarray(grads[name], dtype=np.float64)
        if g.shape != p.shape:
            raise ValueError(f"{name}: gradient shape {g.shape} != parameter shape {p.shape}")
        if num_samples is not None and num_samples < p.size:
            rng = np.random.default_rng(seed)
            flat = np.sort(rng.choice(p.size, size=num_samples, replace=False))
        else:
            flat = np.arange(p.size)
        best = {"max_rel_error": 0.0, "worst_index": (0,) * p.ndim, "analytic": 0.0, "numeric": 0.0}
        first = True
        for k in flat:
            idx = tuple(int(i) for i in np.unravel_index(int(k), p.shape))
            old = p[idx]
            p[idx] = old + h
            f_plus = float(np.asarray(f(work)).reshape(()))
            p[idx] = old - h
            f_minus = float(np.asarray(f(work)).reshape(()))
            p[idx] = old
            numeric = (f_plus - f_minus) / (2.0 * h)
            analytic = float(g[idx])
            err = abs(analytic - numeric) / max(REL_ERROR_FLOOR, abs(analytic) + abs(numeric))
            if first or err > best["max_rel_error"]:
                best = {"max_rel_error": err, "worst_index": idx, "analytic": analytic, "numeric": numeric}
                first = False
        best["passed"] = bool(best["max_rel_error"] < tol)
        report[name] = best
    return report
    ### END SOLUTION
