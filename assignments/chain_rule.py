# Your work for Task 2 (The chain rule and a single neuron): fill in every place that raises
# NotImplementedError("Task 2.M: ..."). Keep the names and signatures of the functions.
"""Task 2: the chain rule, from the lecture's (x + 2)^2 to a single sigmoid neuron.

Conventions used throughout this module:

- Scalars in, Python floats out. The neuron's weight vector ``w`` and input ``x`` are 1-D
  float64 arrays of the same length D (one sample, so no batch dimension here; the
  batched ROW layout Z = X @ W.T + b comes in Task 3), ``b`` is a float.
- ``dA_dB`` names the derivative of A with respect to B; for example ``dL_dw`` is the
  gradient of the loss L with respect to the weights, an array of the shape of ``w``.
- Inputs are never modified; array results are new float64 arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike


def sigmoid(z: ArrayLike) -> float | np.ndarray:
    """Logistic sigmoid sigma(z) = 1 / (1 + exp(-z)), elementwise.

    Given helper. ``z``: a float or a float64 array of any shape. Returns a Python float
    for a scalar input, else a new float64 array of the same shape. Numerical stability:
    with e = exp(-|z|), uses 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0, so
    exp never overflows (finite for z = +-1000). The input is not modified.
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return float(s) if s.ndim == 0 else s


def _as_vectors(w: ArrayLike, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Float64 copies of the neuron's ``w`` and ``x``; ValueError unless both are 1-D of equal length.

    Given helper.
    """
    w = np.array(w, dtype=np.float64)
    x = np.array(x, dtype=np.float64)
    if w.ndim != 1 or x.ndim != 1 or w.shape != x.shape:
        raise ValueError(f"w and x must be 1-D arrays of the same length D, got shapes {w.shape} and {x.shape}")
    return w, x


def f_example(x: float) -> float:
    """The lecture's example f(x) = (x + 2)^2, written as f = u^2 with the inner function u = x + 2.

    ``x``: a Python float. Returns a Python float.
    """
    raise NotImplementedError("Task 2.1: implement f_example (The lecture's example f(x) = (x + 2)^2, written as f = u^2 with the inner function u = x + 2)")


def f_example_grad(x: float) -> float:
    """Derivative of f(x) = (x + 2)^2 by the chain rule, df/dx = (df/du) (du/dx) = 2u * 1 with u = x + 2.

    ``x``: a Python float. Returns a Python float (= 2x + 4).
    """
    raise NotImplementedError('Task 2.2: implement f_example_grad (Derivative of f(x) = (x + 2)^2 by the chain rule, df/dx = (df/du) (du/dx) = 2u * 1 with u = x + 2)')


def compose(
    f: Callable[[float], float],
    df: Callable[[float], float],
    g: Callable[[float], float],
    dg: Callable[[float], float],
) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """Chain rule for h = f o g: returns (h, dh) with h(x) = f(g(x)) and dh(x) = f'(g(x)) * g'(x).

    ``f``, ``g``: scalar functions float -> float; ``df``, ``dg``: their derivatives.
    Returns a pair of new functions float -> float (each returning a Python float);
    ``dh`` evaluates ``g`` once and ``dg`` once per call, and calls ``df`` at the inner
    value g(x), not at x. Nothing is evaluated until h or dh is called.
    """

    raise NotImplementedError("Task 2.3: implement compose (Chain rule for h = f o g: returns (h, dh) with h(x) = f(g(x)) and dh(x) = f'(g(x)) * g'(x))")


def neuron_forward(w: ArrayLike, x: ArrayLike, b: float) -> float:
    """Forward pass of one sigmoid neuron, y = sigma(z) with z = w . x + b = sum_j w_j x_j + b.

    ``w``, ``x``: float64 arrays of shape (D,); ``b``: a float. Returns y as a Python
    float in (0, 1) (exactly 0.0 or 1.0 only when |z| is huge). Use the given stable
    ``sigmoid``. Raises ValueError unless ``w`` and ``x`` are 1-D of the same length
    (the given ``_as_vectors`` does this). Inputs are not modified.
    """
    raise NotImplementedError('Task 2.4: implement neuron_forward (Forward pass of one sigmoid neuron, y = sigma(z) with z = w . x + b = sum_j w_j x_j + b)')


def neuron_backward(w: ArrayLike, x: ArrayLike, b: float, dL_dy: float) -> dict:
    """Backward pass of one sigmoid neuron by the chain rule, dL/dw = (dL/dy)(dy/dz)(dz/dw) = dL_dy * sigma(z)(1 - sigma(z)) * x.

    ``w``, ``x``: float64 arrays of shape (D,); ``b``: a float; ``dL_dy``: the upstream
    gradient, a float (how the loss L changes with the neuron's output y).
    Returns a dict with exactly these keys (Python floats, except the two (D,) arrays):

    - ``"z"``: w . x + b; ``"y"``: sigma(z);
    - ``"dL_dy"``: the given upstream gradient, as a float;
    - ``"dy_dz"``: sigma(z) (1 - sigma(z)), the local derivative of the sigmoid;
    - ``"dz_dw"``: x, a new float64 array of shape (D,); ``"dz_db"``: 1.0;
    - ``"dL_dz"``: dL_dy * dy_dz;
    - ``"dL_dw"``: dL_dz * x, a new float64 array of shape (D,);
    - ``"dL_db"``: dL_dz * 1.0.

    Raises ValueError unless ``w`` and ``x`` are 1-D of the same length (the given
    ``_as_vectors`` does this). Inputs are not modified.
    """
    raise NotImplementedError('Task 2.5: implement neuron_backward (Backward pass of one sigmoid neuron by the chain rule, dL/dw = (dL/dy)(dy/dz)(dz/dw) = dL_dy * sigma(z)(1 - sigma(z)) * x)')
