"""Trusted numerics for the checks: finite differences, relative error, and mistake diagnosis.

Every assertion raises ``CheckFailure`` whose text is what the student reads: what was called
with which input shapes, the expected and received shape, the worst entry (index, expected,
received), the max absolute and relative error, and where a pattern matches, the likely mistake
("off by exactly N = 5: did you average over the batch?"). Checks can pass ``mistakes``: named
wrong answers computed with the reference (e.g. the gradient with σ'(a) in place of σ'(z)); a
received value that matches one is named.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np


class CheckFailure(AssertionError):
    """A check failed; the message is written for the student."""


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Entrywise |a - b| / max(1e-8, |a| + |b|) (NUMERICS.md), same shape as the inputs."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5,
                       indices: list[tuple[int, ...]] | None = None) -> np.ndarray:
    """Central differences (f(x+h e_i) - f(x-h e_i)) / 2h in float64, at all or some entries.

    ``x`` is not modified (a float64 copy is perturbed); entries not in ``indices`` are NaN.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.full(x.shape, np.nan) if indices is not None else np.zeros_like(x)
    for idx in indices if indices is not None else np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = float(f(x.copy()))
        x[idx] = old - h
        minus = float(f(x.copy()))
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def sample_indices(shape: tuple[int, ...], count: int, seed: int) -> list[tuple[int, ...]]:
    """A seeded sample of ``count`` distinct entries (all of them when the array is small)."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= count else np.random.default_rng(seed).choice(size, count, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in np.sort(flat)]


def _fmt(x: Any) -> str:
    if isinstance(x, np.ndarray):
        if x.size > 6:
            return np.array2string(x.ravel()[:6], precision=6, separator=", ")[:-1] + ", ...]"
        return np.array2string(x, precision=6, separator=", ")
    if isinstance(x, float):
        return f"{x:.10g}"
    return repr(x)[:120]


def describe_inputs(inputs: Mapping[str, Any] | None) -> str:
    if not inputs:
        return ""
    parts = []
    for name, value in inputs.items():
        arr = value if isinstance(value, np.ndarray) else None
        parts.append(f"{name}: shape {arr.shape}" if arr is not None else f"{name}={_fmt(value)}")
    return " with " + ", ".join(parts)


def _as_array(got: Any, what: str) -> np.ndarray:
    if isinstance(got, (bool, np.bool_)) or got is None or isinstance(got, str):
        raise CheckFailure(f"{what} returned {type(got).__name__} {_fmt(got)}, expected numbers")
    if isinstance(got, (int, float, np.number, np.ndarray)):
        return np.asarray(got, dtype=np.float64)
    if isinstance(got, (list, tuple)):
        try:
            return np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    raise CheckFailure(f"{what} returned a {getattr(got, 'type_name', type(got).__name__)}, "
                       f"expected a number or a numpy array")


def ratio_hint(got: np.ndarray, expected: np.ndarray, batch: int | None = None) -> str:
    """Name a constant factor between got and expected (N, 1/N, 2, 1/2, -1)."""
    mask = np.abs(expected) > 1e-12
    if not mask.any():
        return ""
    ratios = got[mask] / expected[mask]
    r = float(np.median(ratios))
    if not np.allclose(ratios, r, rtol=1e-6, atol=0):
        return ""
    names = {-1.0: "the sign is flipped (check the direction of the difference, e.g. y_pred - y_true)",
             2.0: "off by a factor of 2 (a derivative of a square, or a 1/2 in the loss?)",
             0.5: "off by a factor of 1/2 (a derivative of a square, or a 1/2 in the loss?)"}
    if batch and batch > 2:
        names[float(batch)] = f"off by exactly N = {batch}: did you average over the batch (divide by N)?"
        names[1.0 / batch] = f"off by exactly 1/N = 1/{batch}: you divided by N once too often"
    for value, text in names.items():
        if abs(r - value) <= 1e-6 * max(1.0, abs(value)):
            return text
    return ""


def shape_hint(got_shape: tuple, expected_shape: tuple) -> str:
    got_shape, expected_shape = tuple(got_shape), tuple(expected_shape)
    if len(got_shape) == 2 and got_shape == tuple(reversed(expected_shape)) and got_shape != expected_shape:
        return "the result is transposed (check W @ x vs x @ W.T and dW = delta.T @ a_prev)"
    if len(got_shape) == 2 and len(expected_shape) == 1 and got_shape[1] == expected_shape[0]:
        if got_shape[0] == 1:
            return f"a (1, {expected_shape[0]}) row came back where a ({expected_shape[0]},) vector belongs (ravel it)"
        if got_shape[0] == got_shape[1]:
            return ("an (N,) array met an (N, 1) array and broadcast to (N, N), or a bias gradient was not "
                    "summed over the batch (axis 0)")
        return "a bias gradient must be summed over the batch (axis 0), one value per unit"
    if len(got_shape) == 2 and got_shape[0] == got_shape[1] and expected_shape == (got_shape[0], 1):
        return "an (N,) array met an (N, 1) array and broadcast to (N, N): reshape one of them"
    return ""


def assert_close(got: Any, expected: Any, what: str, inputs: Mapping[str, Any] | None = None,
                 rtol: float = 1e-6, atol: float = 1e-9, batch: int | None = None,
                 mistakes: Mapping[str, Any] | None = None, show_expected: bool = True,
                 nonfinite_hint: str | None = None) -> np.ndarray:
    """Assert the student's value equals the reference's; return it as a float64 array."""
    where = f"{what}{describe_inputs(inputs)}"
    arr = _as_array(got, what)
    exp = np.asarray(expected, dtype=np.float64)
    if arr.shape != exp.shape:
        hint = shape_hint(arr.shape, exp.shape)
        raise CheckFailure(f"{where}: expected shape {exp.shape}, got {arr.shape}" + (f". Likely: {hint}" if hint else ""))
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        hint = nonfinite_hint or "use a numerically stable form: subtract the max before exp, log1p, clipping"
        raise CheckFailure(f"{where}: got {arr[bad] if arr.ndim else arr} at index {bad}; expected finite values. "
                           f"Likely: {hint}")
    if np.allclose(arr, exp, rtol=rtol, atol=atol):
        return arr
    err = np.abs(arr - exp)
    rel = relative_error(arr, exp)
    worst = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    idx = tuple(int(i) for i in worst)
    detail = (f"{where}: wrong values; worst entry at index {idx}: "
              + (f"expected {exp[worst]:.10g}, " if show_expected else "")
              + f"got {arr[worst]:.10g}; max abs error {err.max():.3g}, max rel error {rel.max():.3g}")
    hint = _mistake_hint(arr, exp, batch, mistakes)
    raise CheckFailure(detail + (f". Likely: {hint}" if hint else ""))


def _mistake_hint(arr: np.ndarray, exp: np.ndarray, batch: int | None, mistakes: Mapping[str, Any] | None) -> str:
    for name, wrong in (mistakes or {}).items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == arr.shape and np.allclose(arr, wrong, rtol=1e-6, atol=1e-9):
            return name
    if arr.shape == exp.shape:
        return ratio_hint(arr, exp, batch)
    return ""


def assert_grad_close(got: Any, expected: Any, param: str, what: str,
                      inputs: Mapping[str, Any] | None = None, tol: float = 1e-6, batch: int | None = None,
                      mistakes: Mapping[str, Any] | None = None) -> np.ndarray:
    """Gradient check of one parameter by max relative error (NUMERICS.md), naming the worst entry."""
    where = f"{what}: gradient {param}{describe_inputs(inputs)}"
    arr = _as_array(got, f"{what} ({param})")
    exp = np.asarray(expected, dtype=np.float64)
    if arr.shape != exp.shape:
        hint = shape_hint(arr.shape, exp.shape)
        raise CheckFailure(f"{where}: expected shape {exp.shape}, got {arr.shape}" + (f". Likely: {hint}" if hint else ""))
    if not np.all(np.isfinite(arr)):
        raise CheckFailure(f"{where}: contains NaN or Inf")
    mask = ~np.isnan(exp)
    rel = np.where(mask, relative_error(arr, np.nan_to_num(exp)), 0.0)
    if rel.max(initial=0.0) <= tol:
        return arr
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), rel.shape))
    detail = (f"{where}: max relative error {rel.max():.3g} > {tol:g} at index {worst} "
              f"(expected {exp[worst]:.10g}, got {arr[worst]:.10g})")
    masked = {name: np.where(mask, np.asarray(w, dtype=np.float64), 0) for name, w in (mistakes or {}).items()
              if np.shape(w) == arr.shape}
    hint = _mistake_hint(np.where(mask, arr, 0), np.where(mask, np.nan_to_num(exp), 0), batch, masked)
    raise CheckFailure(detail + (f". Likely: {hint}" if hint else ""))


def assert_finite_differences(analytic: Any, f: Callable[[np.ndarray], float], x: np.ndarray, param: str,
                              what: str, tol: float = 1e-6, h: float = 1e-5, samples: int | None = 10,
                              seed: int = 0, batch: int | None = None, inputs: Mapping[str, Any] | None = None,
                              mistakes: Mapping[str, Any] | None = None) -> None:
    """Compare a student's analytic gradient with trusted central differences of ``f`` at ``x``.

    Sampled entries only (``samples``, seeded); ``mistakes`` are full-shape wrong gradients, compared
    on the sampled entries.
    """
    indices = sample_indices(np.shape(x), samples, seed) if samples else None
    numeric = numerical_gradient(f, x, h=h, indices=indices)
    assert_grad_close(analytic, numeric, param, f"{what} vs central differences", tol=tol, batch=batch,
                      inputs=inputs, mistakes=mistakes)


def assert_unchanged(before: np.ndarray, after: np.ndarray, what: str) -> None:
    if not np.array_equal(before, after):
        raise CheckFailure(f"{what} changed its input in place; work on a copy")


def assert_true(condition: bool, message: str) -> None:
    """A plain assertion with a student-facing message (bare ``assert`` is not used in checks)."""
    if not condition:
        raise CheckFailure(message)
