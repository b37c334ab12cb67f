"""Task 9: training dynamics -- initialisation and depth, L2 weight decay, the learning rate,
data augmentation, the loss landscape, and what a gradient costs (numpy only).

Conventions (the whole module):

* ROW layout: X has shape (N, D), one sample per row; y has shape (N,) with integer class
  labels 0..C-1 (int64). Weights W have shape (out, in) as in the lecture and torch's
  ``Linear.weight``, so Z = X @ W.T + b with b of shape (out,).
* An MLP with layer sizes (n_0, n_1, ..., n_L) is a dict of float64 arrays
  ``{"W1": (n_1, n_0), "b1": (n_1,), ..., "WL": (n_L, n_{L-1}), "bL": (n_L,)}``, keys in this
  order. Hidden layers l = 1..L-1 apply the activation ("sigmoid", "relu" or "tanh") to
  z^(l) = a^(l-1) @ W^(l).T + b^(l); the output layer L is linear (the logits), followed by the
  mean softmax cross-entropy over the N samples (the lecture's 1/n).
* All arrays are float64 unless stated. No function mutates its arguments.

Given (backpropagation itself is Task 3): ``num_layers``, ``mlp_init``, ``mlp_loss``,
``mlp_loss_and_grads``, ``softmax_cross_entropy`` and ``line_loss_and_grad``. Your part: the
initialisers and the per-layer gradient norms, the L2 penalty, the learning-rate sweep, shift
augmentation, the loss surface and the descent paths on it, and counting what a gradient costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "INIT_SCHEMES",
    "num_layers",
    "mlp_init",
    "mlp_loss",
    "mlp_loss_and_grads",
    "softmax_cross_entropy",
    "line_loss_and_grad",
    "init_weights",
    "layer_gradient_norms",
    "l2_loss_and_grads",
    "log_grid",
    "lr_sweep",
    "best_lr",
    "shift_images",
    "augment_with_shifts",
    "loss_surface",
    "descent_path",
    "gradient_cost",
]

ACTIVATIONS = ("sigmoid", "relu", "tanh")
INIT_SCHEMES = ("normal", "xavier", "he")
#: Floor of the denominator of the relative error, as in Task 5.
REL_ERROR_FLOOR = 1e-8


# ----------------------------------------------------------------------------------------
# Given: an MLP of any depth with a known loss and gradient (not graded in this task)
# ----------------------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


def _activate(z: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (act(z), act'(z)) of a hidden activation, both of z's shape."""
    if activation == "sigmoid":
        a = _sigmoid(z)
        return a, a * (1.0 - a)
    if activation == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(np.float64)
    if activation == "tanh":
        a = np.tanh(z)
        return a, 1.0 - a * a
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def num_layers(params: dict[str, np.ndarray]) -> int:
    """Return L, the number of weight matrices W1..WL of an MLP dict."""
    return sum(1 for k in params if k.startswith("W"))


def mlp_init(sizes: Sequence[int], scheme: str = "he", seed: int | None = 0) -> dict[str, np.ndarray]:
    """Return an MLP dict with layer sizes (n_0, ..., n_L), W^(l) from init_weights and b^(l) = 0.

    One ``rng = np.random.default_rng(seed)`` draws W^(1), ..., W^(L) in this order with
    ``init_weights(n_{l-1}, n_l, scheme, rng)`` (uses your init_weights).
    """
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = init_weights(int(sizes[l - 1]), int(sizes[l]), scheme, rng)
        params[f"b{l}"] = np.zeros(int(sizes[l]))
    return params


def softmax_cross_entropy(Z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return L = (1/N) sum_i (logsumexp(z_i) - z_{i, y_i}) and dL/dZ = (softmax(Z) - onehot(y)) / N.

    Z: (N, C) float64 logits; y: (N,) int labels. Log-sum-exp with the row maximum subtracted
    (finite for any finite logits). Inputs are not mutated.
    """
    Z = np.asarray(Z, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n = Z.shape[0]
    shifted = Z - Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(n)
    loss = float(np.mean(lse - shifted[rows, y])) if n else 0.0
    P = np.exp(shifted - lse[:, None])
    P[rows, y] -= 1.0
    return loss, P / max(n, 1)


def _forward(params: dict[str, np.ndarray], X: np.ndarray, activation: str):
    L = num_layers(params)
    A = np.asarray(X, dtype=np.float64)
    cache = []  # (a^(l-1), act'(z^(l)) or None for the output layer), l = 1..L
    Z = A
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"].T + params[f"b{l}"]
        if l < L:
            A_next, slope = _activate(Z, activation)
        else:
            A_next, slope = Z, None
        cache.append((A, slope))
        A = A_next
    return Z, cache


def mlp_loss(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, activation: str = "relu") -> float:
    """Return the mean softmax cross-entropy of an MLP on (X, y) as a float (one forward pass)."""
    return softmax_cross_entropy(_forward(params, X, activation)[0], y)[0]


def mlp_loss_and_grads(
    params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, activation: str = "relu"
) -> tuple[float, dict[str, np.ndarray]]:
    """Return the mean cross-entropy L of an MLP and its gradients by the delta recursion delta^(l) = (delta^(l+1) @ W^(l+1)) * act'(z^(l)).

    delta^(L) = (softmax(z^(L)) - onehot(y)) / N; dL/dW^(l) = delta^(l).T @ a^(l-1),
    dL/db^(l) = delta^(l).sum(axis=0). One forward and one backward pass.
    params: an MLP dict; X (N, n_0); y (N,) int. Returns (loss, grads) with grads of the keys,
    order and shapes of params. Nothing is mutated.
    """
    Z, cache = _forward(params, X, activation)
    loss, D = softmax_cross_entropy(Z, y)
    grads: dict[str, np.ndarray] = {}
    for l in range(len(cache), 0, -1):
        A_prev = cache[l - 1][0]
        grads[f"W{l}"] = D.T @ A_prev
        grads[f"b{l}"] = D.sum(axis=0)
        if l > 1:
            D = (D @ params[f"W{l}"]) * cache[l - 2][1]
    return loss, {k: grads[k] for k in params}


def line_loss_and_grad(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the MSE L(w) = (1/N) sum_n (w_1 x_n + w_2 - y_n)^2 of the line y = w_1 x + w_2 and its gradient.

    The gradient is (2/N) [sum_n r_n x_n, sum_n r_n] with r_n = w_1 x_n + w_2 - y_n.
    w: (2,) float64; x, y: (N,) float64, N >= 1. Returns (loss float, grad (2,) float64).
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    r = w[0] * x + w[1] - y
    return float(np.mean(r * r)), np.array([2.0 * np.mean(r * x), 2.0 * np.mean(r)])


# ----------------------------------------------------------------------------------------
# 1. Initialisation and depth
# ----------------------------------------------------------------------------------------


def init_weights(fan_in: int, fan_out: int, scheme: str, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Draw W ~ N(0, s^2) of shape (fan_out, fan_in) with s = 1 ("normal"), sqrt(2 / (fan_in + fan_out)) ("xavier") or sqrt(2 / fan_in) ("he").

    Var(z) of a unit is fan_in Var(w) Var(a) for independent zero-mean weights, and the error
    delta is sent back through W.T with the same factor fan_out Var(w): Xavier/Glorot keeps both
    about 1 by averaging the two fans, for symmetric activations (tanh, sigmoid). He uses
    2 / fan_in because a ReLU zeroes half of its inputs. "normal" is the naive N(0, 1).

    Args:
        fan_in: n_{l-1} >= 1, the inputs of the layer; fan_out: n_l >= 1, its units.
        scheme: one of INIT_SCHEMES ("normal", "xavier", "he").
        rng: a ``np.random.Generator`` (used as is and advanced) or a seed (int or None) for
            ``np.random.default_rng``. The weights are exactly ONE call
            ``rng.normal(0.0, s, size=(fan_out, fan_in))``.
    Returns:
        (fan_out, fan_in) float64: one row per unit, as W^(l) in the lecture.
    Raises:
        ValueError: for an unknown scheme.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"scheme must be one of {INIT_SCHEMES}, got {scheme!r}")
    rng = np.random.default_rng(rng)
    ### BEGIN SOLUTION
    if scheme == "normal":
        std = 1.0
    elif scheme == "xavier":
        std = math.sqrt(2.0 / (fan_in + fan_out))
    else:
        std = math.sqrt(2.0 / fan_in)
    return rng.normal(0.0, std, size=(fan_out, fan_in))
    ### END SOLUTION


def layer_gradient_norms(
    params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, activation: str = "relu"
) -> np.ndarray:
    """Return g_l = ||dL/dW^(l)||_F = sqrt(sum_ij (dL/dW^(l)_ij)^2) for the layers l = 1..L of an MLP, input layer first.

    The gradient is the one of the given ``mlp_loss_and_grads(params, X, y, activation)``. The
    delta recursion multiplies the error by W^(l+1).T and act'(z^(l)) once per layer, so in a
    deep network these norms shrink (vanish) or grow (explode) geometrically from the output
    layer down to the input layer unless the initialisation keeps that factor near 1.

    Args:
        params: an MLP dict with L layers; X: (N, n_0) float64; y: (N,) int labels;
        activation: of the hidden layers ("sigmoid", "relu" or "tanh").
    Returns:
        (L,) float64; entry l - 1 is the Frobenius norm of the weight gradient of layer l
        (the biases are not included). Nothing is mutated.
    """
    ### BEGIN SOLUTION
    _, grads = mlp_loss_and_grads(params, X, y, activation)
    return np.array([np.linalg.norm(grads[f"W{l}"]) for l in range(1, num_layers(params) + 1)], dtype=np.float64)
    ### END SOLUTION


# ----------------------------------------------------------------------------------------
# 2. L2 regularisation (weight decay)
# ----------------------------------------------------------------------------------------


def l2_loss_and_grads(
    params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, lam: float, activation: str = "relu"
) -> tuple[float, dict[str, np.ndarray]]:
    """Return L_lam = L + (lam/2) sum_l ||W^(l)||_F^2 and its gradient: dL/dW^(l) + lam W^(l) for the weights, dL/db^(l) unchanged.

    L and dL/dparams come from the given ``mlp_loss_and_grads``. The biases are NOT penalised:
    they only shift a unit's input and do not make the function steeper, and pushing them to 0
    would only add bias. The factor 1/2 makes the gradient of the penalty exactly lam W. A
    gradient step on L_lam is W <- W - eta (dL/dW + lam W) = (1 - eta lam) W - eta dL/dW:
    every step first shrinks the weights by the factor (1 - eta lam), hence "weight decay".

    Args:
        params: an MLP dict; X: (N, n_0); y: (N,) int; lam >= 0 the regularisation strength;
        activation: of the hidden layers.
    Returns:
        (loss, grads): loss a float; grads a dict with the keys, order and shapes of params
        (float64, new arrays). Nothing is mutated.
    Raises:
        ValueError: if lam < 0.
    """
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    ### BEGIN SOLUTION
    loss, grads = mlp_loss_and_grads(params, X, y, activation)
    penalty = 0.0
    out: dict[str, np.ndarray] = {}
    for k, g in grads.items():
        if k.startswith("W"):
            W = np.asarray(params[k], dtype=np.float64)
            penalty += float(np.sum(W * W))
            out[k] = g + lam * W
        else:
            out[k] = np.array(g, dtype=np.float64)
    return float(loss + 0.5 * lam * penalty), out
    ### END SOLUTION


# ----------------------------------------------------------------------------------------
# 3. The learning rate
# ----------------------------------------------------------------------------------------


def log_grid(low: float, high: float, num: int) -> np.ndarray:
    """Return num values from low to high evenly spaced on a log scale: low * (high / low)^(k / (num - 1)) for k = 0..num-1.

    Consecutive values have the same ratio (e.g. 1e-3, 1e-2, ..., 1e1 for num = 5), as in
    ``np.geomspace(low, high, num)``: the first value is low and the last is high, exactly.
    Learning rates are searched like this because what matters is their order of magnitude.

    Args: 0 < low <= high; num >= 1 (num = 1 gives [low]).
    Returns: (num,) float64.
    """
    if not (0 < low <= high) or num < 1:
        raise ValueError(f"need 0 < low <= high and num >= 1, got low={low}, high={high}, num={num}")
    ### BEGIN SOLUTION
    return np.geomspace(float(low), float(high), int(num))
    ### END SOLUTION


def lr_sweep(
    loss_and_grads: Callable[[dict[str, np.ndarray]], tuple[float, dict[str, np.ndarray]]],
    params0: dict[str, np.ndarray],
    lrs: Sequence[float],
    steps: int,
    blowup: float = 10.0,
) -> list[dict[str, Any]]:
    """For each lr in lrs, take `steps` steps theta <- theta - lr * grad L(theta) from params0 and report the final loss, or inf if the run diverged.

    The run of one learning rate (the contract the grader checks):

    1. ``params = {k: float64 copy of params0[k]}``: every run starts from params0 itself.
    2. For s = 0, 1, ..., steps: ``loss_s, grads = loss_and_grads(params)`` (the loss after s
       updates). If loss_s is NaN or +-inf, or ``loss_s > blowup * loss_0``, the run has
       DIVERGED: stop it. Otherwise, if s < steps, update every k:
       ``params[k] = params[k] - lr * grads[k]``.
    3. A run that does not diverge calls loss_and_grads steps + 1 times and makes `steps`
       updates; its final loss is loss_steps.

    A diverging run must not crash the sweep: overflow to inf and NaN are expected there (run
    the arithmetic under ``np.errstate(over="ignore", invalid="ignore")``). The lesson of the
    sweep: the loss falls faster as lr grows, until just below the value where it diverges,
    so start small and multiply lr by about 3 while the loss keeps improving.

    Args:
        loss_and_grads: maps a params dict to (loss, grads) with grads of the same keys and shapes.
        params0: dict of float64 arrays, the common starting point (never mutated).
        lrs: the learning rates (> 0), e.g. ``log_grid(1e-3, 10, 9)``.
        steps: number of updates per run, >= 0; blowup: divergence threshold factor, > 1.
    Returns:
        one dict per lr, in the order of lrs: ``lr`` (float), ``final_loss`` (float: loss_steps,
        or inf if the run diverged), ``diverged`` (bool), ``steps_run`` (int: the updates made,
        i.e. steps, or s for a run that diverged at loss_s).
    """
    if steps < 0 or not blowup > 1:
        raise ValueError(f"need steps >= 0 and blowup > 1, got steps={steps}, blowup={blowup}")
    ### BEGIN SOLUTION
    results = []
    for lr in lrs:
        lr = float(lr)
        params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params0.items()}
        loss0 = None
        diverged = False
        steps_run = 0
        loss = math.nan
        with np.errstate(over="ignore", invalid="ignore"):
            for s in range(steps + 1):
                loss, grads = loss_and_grads(params)
                loss = float(loss)
                if loss0 is None:
                    loss0 = loss
                if not math.isfinite(loss) or loss > blowup * loss0:
                    diverged = True
                    break
                if s < steps:
                    for k in params:
                        params[k] = params[k] - lr * np.asarray(grads[k], dtype=np.float64)
                    steps_run += 1
        results.append(
            {"lr": lr, "final_loss": math.inf if diverged else loss, "diverged": diverged, "steps_run": steps_run}
        )
    return results
    ### END SOLUTION


def best_lr(results: Sequence[dict[str, Any]]) -> float | None:
    """Return the lr of the run with the lowest final loss among the runs that did not diverge (the smaller lr on a tie), or None if all diverged.

    Args: results as returned by ``lr_sweep``. Returns a float or None.
    """
    ### BEGIN SOLUTION
    best = None
    for r in results:
        if r["diverged"]:
            continue
        key = (float(r["final_loss"]), float(r["lr"]))
        if best is None or key < best:
            best = key
    return None if best is None else best[1]
    ### END SOLUTION


# ----------------------------------------------------------------------------------------
# 4. Data augmentation
# ----------------------------------------------------------------------------------------


def shift_images(X: np.ndarray, shifts: np.ndarray, shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Move image i of X down by dy and right by dx pixels, (dy, dx) = shifts[i]: out_i[r, c] = img_i[r - dy, c - dx], and 0 where r - dy or c - dx is off the image.

    Pixels moved past the edge are dropped, not wrapped around to the other side (as
    ``np.roll`` would do); the uncovered pixels become 0, the background of the digits.
    Negative dy moves up, negative dx moves left.

    Args:
        X: (N, H * W) float64, row i the image of shape ``shape`` = (H, W) flattened row by row.
        shifts: (N, 2) int array of (dy, dx) with |dy| < H and |dx| < W.
        shape: (H, W).
    Returns:
        (N, H * W) float64, a new array. X is not mutated.
    """
    X = np.asarray(X, dtype=np.float64)
    shifts = np.asarray(shifts)
    h, w = (int(v) for v in shape)
    if X.ndim != 2 or X.shape[1] != h * w or shifts.shape != (X.shape[0], 2):
        raise ValueError(f"need X of shape (N, {h * w}) and shifts of shape (N, 2), got {X.shape} and {shifts.shape}")
    ### BEGIN SOLUTION
    images = X.reshape(-1, h, w)
    out = np.zeros_like(images)
    for i, (dy, dx) in enumerate(shifts.astype(np.int64)):
        dy, dx = int(dy), int(dx)
        out[i, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
            i, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
        ]
    return out.reshape(X.shape[0], h * w)
    ### END SOLUTION


def augment_with_shifts(
    X: np.ndarray,
    y: np.ndarray,
    copies: int = 2,
    max_shift: int = 1,
    seed: int | None = 0,
    shape: tuple[int, int] = (8, 8),
) -> tuple[np.ndarray, np.ndarray]:
    """Return X followed by `copies` randomly shifted copies of it, and the labels repeated to match: a digit moved by a pixel keeps its class.

    ``rng = np.random.default_rng(seed)`` once; copy k = 1..copies is
    ``shift_images(X, rng.integers(-max_shift, max_shift + 1, size=(N, 2)), shape)``: each
    image gets its own (dy, dx), uniform on {-max_shift, ..., max_shift}^2 ((0, 0) included),
    new for every copy. Augment the TRAINING split only; the held-out data stay as they are.

    Args:
        X: (N, H * W) float64 images; y: (N,) int labels; copies >= 0; max_shift >= 0;
        seed: seed of the shifts (the same seed gives the same result); shape: (H, W).
    Returns:
        (X_aug, y_aug): X_aug ((copies + 1) N, H * W) float64 with rows 0..N-1 equal to X and
        rows kN..(k+1)N-1 copy k; y_aug ((copies + 1) N,) int64 = ``np.tile(y, copies + 1)``
        (row j of X_aug has the label of the image it came from). X and y are not mutated.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or copies < 0 or max_shift < 0:
        raise ValueError("need y of shape (N,), copies >= 0 and max_shift >= 0")
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    parts = [X.copy()]
    for _ in range(copies):
        parts.append(shift_images(X, rng.integers(-max_shift, max_shift + 1, size=(n, 2)), shape))
    return np.concatenate(parts, axis=0), np.tile(y.astype(np.int64), copies + 1)
    ### END SOLUTION


# ----------------------------------------------------------------------------------------
# 5. The loss landscape
# ----------------------------------------------------------------------------------------


def loss_surface(x: np.ndarray, y: np.ndarray, w1_values: np.ndarray, w2_values: np.ndarray) -> np.ndarray:
    """Return S[i, j] = (1/N) sum_n (w1_values[j] x_n + w2_values[i] - y_n)^2, the MSE of the line y = w_1 x + w_2 on a grid of its two parameters.

    Rows follow w_2 (the vertical axis of the plot) and columns follow w_1, the layout that
    ``matplotlib.pyplot.contour(w1_values, w2_values, S)`` expects (and ``np.meshgrid`` makes).

    Args: x, y: (N,) float64; w1_values: (J,); w2_values: (I,).
    Returns: (I, J) float64. Nothing is mutated.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    W1, W2 = np.meshgrid(np.asarray(w1_values, dtype=np.float64), np.asarray(w2_values, dtype=np.float64))
    R = W1[..., None] * x + W2[..., None] - y
    return np.mean(R * R, axis=-1)
    ### END SOLUTION


def descent_path(
    x: np.ndarray,
    y: np.ndarray,
    w0: np.ndarray,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int | None = 0,
) -> np.ndarray:
    """Return w0 and the parameters w = (w_1, w_2) of the line after every update of mini-batch gradient descent on its MSE.

    batch_size >= N is batch gradient descent, batch_size = 1 is SGD.

    ``rng = np.random.default_rng(seed)`` once; epoch e = 1..epochs visits the batches of
    ``rng.permutation(N)`` cut into chunks of batch_size (the last, partial chunk kept), as in
    Task 6; each batch gives one update ``w <- w - lr * grad`` with
    ``_, grad = line_loss_and_grad(w, x[idx], y[idx])`` (the mean over the batch).

    Args:
        x, y: (N,) float64; w0: (2,) the start; lr > 0; epochs >= 0; batch_size >= 1;
        seed: of the shuffling.
    Returns:
        (1 + epochs * ceil(N / B), 2) float64: row 0 is w0, row t the parameters after t
        updates. Nothing is mutated.
    """
    if batch_size < 1 or epochs < 0:
        raise ValueError(f"need batch_size >= 1 and epochs >= 0, got {batch_size}, {epochs}")
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.array(w0, dtype=np.float64, copy=True)
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    path = [w.copy()]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            _, grad = line_loss_and_grad(w, x[idx], y[idx])
            w = w - lr * grad
            path.append(w.copy())
    return np.array(path, dtype=np.float64)
    ### END SOLUTION


# ----------------------------------------------------------------------------------------
# 6. Why backprop: the cost of a gradient
# ----------------------------------------------------------------------------------------


def gradient_cost(
    loss: Callable[[dict[str, np.ndarray]], float],
    loss_and_grads: Callable[[dict[str, np.ndarray]], tuple[float, dict[str, np.ndarray]]],
    params: dict[str, np.ndarray],
    numerical_gradient: Callable[[Callable[[np.ndarray], float], np.ndarray], np.ndarray],
) -> dict[str, Any]:
    """Count the loss calls of finite differences for the whole gradient against the one loss_and_grads call of backprop, and compare the two gradients.

    Pass your Task 5 ``numerical_gradient(f, x)`` (2 calls of f per entry: centred
    differences) and your Task 3 backprop (or the given ``mlp_loss_and_grads``) wrapped as
    functions of a params dict. Finite differences need about 2P forward passes for P
    parameters; backprop one forward and one backward pass, whatever P is.

    The procedure (the grader watches the calls, so count them, do not compute the count):

    1. ``work = {k: float64 copy of params[k]}``.
    2. For each name k of params, in order: ``numeric[k] = numerical_gradient(f_k, work[k].copy())``
       where ``f_k(v) = loss({**work, k: v})``; every call of ``loss`` counts one.
    3. ``_, grads = loss_and_grads(work)`` once; every call counts one.

    Returns:
        dict: ``n_params`` (int, the number of entries sum_k params[k].size), ``fd_loss_calls``
        (int, the calls of loss made in step 2), ``backprop_calls`` (int, the calls of
        loss_and_grads, 1), ``max_rel_error`` (float, the maximum over all entries of
        |a - n| / max(1e-8, |a| + |n|) between grads (a) and numeric (n); 0.0 without entries).
    Nothing is mutated.
    """
    ### BEGIN SOLUTION
    work = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    counts = {"loss": 0, "backprop": 0}

    def counted_loss(p: dict[str, np.ndarray]) -> float:
        counts["loss"] += 1
        return loss(p)

    numeric = {}
    for k in work:

        def f(v: np.ndarray, k: str = k) -> float:
            return counted_loss({**work, k: v})

        numeric[k] = np.asarray(numerical_gradient(f, work[k].copy()), dtype=np.float64)
    counts["backprop"] += 1
    _, grads = loss_and_grads(work)
    worst = 0.0
    for k in work:
        a = np.asarray(grads[k], dtype=np.float64)
        n = numeric[k]
        if a.size:
            worst = max(worst, float(np.max(np.abs(a - n) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(n)))))
    return {
        "n_params": int(sum(v.size for v in work.values())),
        "fd_loss_calls": counts["loss"],
        "backprop_calls": counts["backprop"],
        "max_rel_error": worst,
    }
    ### END SOLUTION
