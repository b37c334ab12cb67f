# Your work for Task 6 (Mini-batch gradient descent and training tips): fill in every place that raises
# NotImplementedError("Task 6.M: ..."). Keep the names and signatures of the functions.
"""Task 6: batch gradient descent, SGD and mini-batch training with one loop.

Conventions (the whole module):

* ROW layout: X has shape (N, D), one sample per row; y has shape (N,) with integer class
  labels 0..C-1 (int64). Weights W have shape (out, in) as in the lecture and torch's
  ``Linear.weight``, so Z = X @ W.T + b with b of shape (out,).
* Losses are MEANS over the samples of a batch (the lecture's 1/n), so a gradient step on a
  batch of B samples uses the gradient of (1/B) sum_i L_i.
* All arrays are float64 unless stated. No function mutates its inputs (X, y, the model's
  parameter arrays); where a function changes the model it says so.

The model interface (given, not graded here: backprop is Task 3). A model is any object with

* ``params``: dict[str, np.ndarray] of float64 arrays,
* ``loss_and_grads(X, y, params=None) -> (loss: float, grads: dict)``, grads[k] of the same
  shape as params[k]; it evaluates at ``params`` when given, else at ``model.params``,
* ``loss(X, y, params=None) -> float``.

``LinearSoftmaxModel`` and ``TwoLayerNet`` below implement it. Your part is the iteration over
mini-batches, the training loop with early stopping and a NaN stop, standardisation of the
inputs, and the "overfit a tiny batch first" sanity check.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "LinearSoftmaxModel",
    "TwoLayerNet",
    "softmax_cross_entropy",
    "accuracy",
    "batch_indices",
    "iterate_minibatches",
    "num_updates_per_epoch",
    "train",
    "standardize_fit",
    "standardize_apply",
    "overfit_small_batch",
    "compare_methods",
    "method_name",
]


# ----------------------------------------------------------------------------------------
# Given: models with a known loss and gradient (not graded in this task)
# ----------------------------------------------------------------------------------------


def softmax_cross_entropy(Z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return L = (1/N) sum_i (logsumexp(z_i) - z_{i, y_i}) and dL/dZ = (softmax(Z) - onehot(y)) / N.

    Args:
        Z: (N, C) float64 logits; y: (N,) int labels in 0..C-1.
    Returns:
        (loss, dZ): loss a Python float, dZ (N, C) float64.
    Numerics: log-sum-exp with the row maximum subtracted, finite for logits of +-1000.
    Inputs are not mutated.
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


class LinearSoftmaxModel:
    """Softmax regression: logits Z = X @ W.T + b, mean cross-entropy loss.

    params: ``W`` (C, D) float64, ``b`` (C,) float64. Initialised W ~ N(0, weight_scale^2)
    from ``np.random.default_rng(seed)``, b = 0. Assign ``model.params = {...}`` to start from
    chosen weights.
    """

    def __init__(self, n_features: int, n_classes: int, seed: int | None = 0, weight_scale: float = 0.01):
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {
            "W": rng.normal(0.0, weight_scale, size=(n_classes, n_features)),
            "b": np.zeros(n_classes),
        }

    def _p(self, params: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        return self.params if params is None else params

    def logits(self, X: np.ndarray, params: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Return Z = X @ W.T + b, shape (N, C) float64, for X of shape (N, D)."""
        p = self._p(params)
        return np.asarray(X, dtype=np.float64) @ p["W"].T + p["b"]

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Return L = mean CE(X @ W.T + b, y) and {W: Delta^T @ X, b: Delta.sum(0)} with Delta = dL/dZ.

        X (N, D) float64, y (N,) int; grads have the shapes of params. Nothing is mutated.
        """
        p = self._p(params)
        X = np.asarray(X, dtype=np.float64)
        loss, delta = softmax_cross_entropy(self.logits(X, p), y)
        return loss, {"W": delta.T @ X, "b": delta.sum(axis=0)}

    def loss(self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None) -> float:
        """Return the mean cross-entropy of the model on (X, y) as a float."""
        return softmax_cross_entropy(self.logits(X, params), y)[0]

    def predict(self, X: np.ndarray, params: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Return argmax_c Z[:, c], shape (N,) int64."""
        return np.argmax(self.logits(X, params), axis=1).astype(np.int64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(np.float64)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a)),
}


class TwoLayerNet:
    """One hidden layer: A1 = act(X @ W1.T + b1), logits Z2 = A1 @ W2.T + b2, mean cross-entropy.

    params: ``W1`` (H, D), ``b1`` (H,), ``W2`` (C, H), ``b2`` (C,), float64. activation is
    ``"relu"`` (He init, std sqrt(2/fan_in)), ``"tanh"`` or ``"sigmoid"`` (Glorot-like init,
    std sqrt(1/fan_in)); biases 0; drawn from ``np.random.default_rng(seed)``.
    """

    def __init__(self, n_features: int, n_hidden: int, n_classes: int, seed: int | None = 0, activation: str = "relu"):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        rng = np.random.default_rng(seed)
        gain = 2.0 if activation == "relu" else 1.0
        self.params: dict[str, np.ndarray] = {
            "W1": rng.normal(0.0, math.sqrt(gain / n_features), size=(n_hidden, n_features)),
            "b1": np.zeros(n_hidden),
            "W2": rng.normal(0.0, math.sqrt(1.0 / n_hidden), size=(n_classes, n_hidden)),
            "b2": np.zeros(n_classes),
        }

    def _p(self, params: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        return self.params if params is None else params

    def _forward(self, X: np.ndarray, p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        act = _ACTIVATIONS[self.activation][0]
        Z1 = np.asarray(X, dtype=np.float64) @ p["W1"].T + p["b1"]
        A1 = act(Z1)
        Z2 = A1 @ p["W2"].T + p["b2"]
        return Z1, A1, Z2

    def logits(self, X: np.ndarray, params: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Return Z2 = act(X @ W1.T + b1) @ W2.T + b2, shape (N, C) float64."""
        return self._forward(X, self._p(params))[2]

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Return L = mean CE(Z2, y) and backprop grads dW = Delta^T @ A_prev, db = Delta.sum(0), Delta1 = (Delta2 @ W2) * act'(Z1).

        X (N, D) float64, y (N,) int; grads have the shapes of params. Nothing is mutated.
        """
        p = self._p(params)
        X = np.asarray(X, dtype=np.float64)
        Z1, A1, Z2 = self._forward(X, p)
        loss, D2 = softmax_cross_entropy(Z2, y)
        D1 = (D2 @ p["W2"]) * _ACTIVATIONS[self.activation][1](Z1, A1)
        grads = {"W1": D1.T @ X, "b1": D1.sum(axis=0), "W2": D2.T @ A1, "b2": D2.sum(axis=0)}
        return loss, grads

    def loss(self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None) -> float:
        """Return the mean cross-entropy of the model on (X, y) as a float."""
        return softmax_cross_entropy(self.logits(X, params), y)[0]

    def predict(self, X: np.ndarray, params: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Return argmax_c Z2[:, c], shape (N,) int64."""
        return np.argmax(self.logits(X, params), axis=1).astype(np.int64)


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None) -> float:
    """Return the fraction (1/N) sum_i [predict(x_i) == y_i] of correctly classified rows, a float."""
    return float(np.mean(model.predict(X, params) == np.asarray(y)))


def method_name(batch_size: int, n: int) -> str:
    """Return "batch" if batch_size >= n (one update per epoch), "sgd" if batch_size == 1, else "minibatch"."""
    if batch_size >= n:
        return "batch"
    if batch_size == 1:
        return "sgd"
    return "minibatch"


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")


# ----------------------------------------------------------------------------------------
# Task 6: your part
# ----------------------------------------------------------------------------------------


def batch_indices(
    n: int, batch_size: int, shuffle: bool = False, seed: int | np.random.Generator | None = None
) -> list[np.ndarray]:
    """Cut the order 0..n-1 (or default_rng(seed).permutation(n)) into ceil(n / B) chunks of B, the last shorter.

    Args:
        n: number of samples N >= 0.
        batch_size: B >= 1 (B >= N gives one batch of all N).
        shuffle: if False the order is 0, 1, ..., n-1; if True it is exactly
            ``np.random.default_rng(seed).permutation(n)`` (one call; a Generator passed as
            ``seed`` is used as is and advanced, so successive calls give new orders).
        seed: int, None, or a ``np.random.Generator``; ignored when shuffle is False.
    Returns:
        list of ceil(N / B) int64 arrays; all of length B except possibly the last
        (length N - B * floor(N / B) when B does not divide N); their concatenation is the
        order, so every index appears exactly once. N = 0 gives [].
    """
    _check_batch_size(batch_size)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    raise NotImplementedError('Task 6.1: implement batch_indices (Cut the order 0..n-1 (or default_rng(seed).permutation(n)) into ceil(n / B) chunks of B, the last shorter)')


def iterate_minibatches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = False,
    seed: int | np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Return an iterator over (X[idx], y[idx]) for idx in batch_indices(N, B, shuffle, seed): each sample once.

    Args:
        X: (N, D) array, one sample per row; y: (N,) labels (any dtype, same length as X).
        batch_size, shuffle, seed: as in ``batch_indices`` (the order is
            ``np.random.default_rng(seed).permutation(N)`` when shuffled).
    Returns:
        iterator of ceil(N / B) pairs (X_batch (b, D) float64, y_batch (b,) of y's dtype) with
        b = B except possibly the last batch, which is kept (never dropped). The batches are
        copies (fancy indexing): writing to them does not change X or y. X and y are not
        mutated. The arguments are checked when the function is called, not on first use.
    Raises:
        ValueError: if len(y) != len(X) or batch_size < 1.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[:1]} entries")
    raise NotImplementedError('Task 6.2: implement iterate_minibatches (Return an iterator over (X[idx], y[idx]) for idx in batch_indices(N, B, shuffle, seed): each sample once)')


def num_updates_per_epoch(n: int, batch_size: int) -> int:
    """Return the updates per epoch ceil(n / B): 1 for batch GD (B >= n), n for SGD (B = 1).

    Args: n >= 0 samples, batch_size >= 1. Returns a Python int.
    """
    _check_batch_size(batch_size)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    raise NotImplementedError('Task 6.3: implement num_updates_per_epoch (Return the updates per epoch ceil(n / B): 1 for batch GD (B >= n), n for SGD (B = 1))')


def train(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    lr: float,
    epochs: int,
    seed: int | None = None,
    shuffle: bool = True,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    patience: int | None = None,
) -> dict[str, Any]:
    """Train by theta <- theta - lr * grad L_batch(theta) per batch and epoch: batch GD at B = N, SGD at B = 1.

    The algorithm (the contract the grader checks):

    1. ``params = {k: copy of model.params[k]}`` (float64). All updates go to these copies,
       ``params[k] -= lr * grads[k]``, so the arrays the caller put in ``model.params`` are
       never written.
    2. ``rng = np.random.default_rng(seed)`` once. Epoch e = 1..epochs visits the batches of
       ``iterate_minibatches(X, y, batch_size, shuffle, seed=rng)``, i.e. (when shuffled) the
       e-th ``rng.permutation(N)`` cut into chunks of batch_size; each batch gives one update
       with ``loss, grads = model.loss_and_grads(X_batch, y_batch, params)``.
    3. History: ``train_loss[e]`` is ``model.loss(X, y, params)`` on the FULL training set
       after e epochs, for e = 0 (before any update) .. epochs_run; likewise ``val_loss[e]`` on
       (X_val, y_val) when given.
    4. NaN stop: if a batch loss (before its update), or an end-of-epoch loss, is NaN or
       +-Inf, raise ``FloatingPointError`` whose message contains ``"epoch {e}"`` and
       ``"step {s}"`` (1-based epoch e; 1-based step s within the epoch, for an end-of-epoch
       loss the epoch's last step; epoch 0, step 0 for the initial parameters).
    5. Early stopping (needs X_val, y_val and patience >= 1): epoch e improves if
       ``val_loss[e] < best`` strictly (best starts at val_loss[0]); ties do not improve.
       After ``patience`` consecutive epochs without improvement training stops, and the
       parameters of the best epoch (the earliest with the lowest val loss; possibly epoch
       0, the initial parameters) are restored. Without patience all epochs run and the final
       parameters are kept (best_epoch is still reported when X_val is given).

    Args:
        model: an object with ``params``, ``loss_and_grads(X, y, params)``, ``loss(X, y, params)``
            (see the module docstring), e.g. ``LinearSoftmaxModel``, ``TwoLayerNet``.
        X: (N, D) float64 training inputs; y: (N,) int training labels.
        batch_size: B >= 1; B >= N is batch gradient descent, 1 is SGD.
        lr: learning rate (step size) >= 0.
        epochs: maximal number of passes over the training set, >= 0.
        seed: seed of the shuffling (int or None); shuffle: reshuffle every epoch (else order 0..N-1).
        X_val, y_val: optional validation set, (M, D) and (M,).
        patience: optional int >= 1, early stopping as in 5.
    Returns:
        dict of plain data:
        ``train_loss``: list[float] of length epochs_run + 1;
        ``val_loss``: list[float] of length epochs_run + 1, or None without validation data;
        ``num_updates``: int, total parameter updates = epochs_run * ceil(N / B);
        ``updates_per_epoch``: int, ceil(N / B);
        ``epochs_run``: int, the epoch training stopped at (= epochs unless stopped early);
        ``stopped_early``: bool;
        ``best_epoch``: int index into val_loss of the lowest val loss, or None without validation;
        ``params``: dict of float64 arrays, the returned parameters (best epoch's with early
        stopping, else the final ones).
    Side effect: ``model.params`` is rebound (not written in place) to a dict of copies of the
    returned parameters. X, y, X_val, y_val are not mutated.
    Raises:
        FloatingPointError: on a NaN/Inf loss (see 4). ValueError: bad arguments, or patience
        without validation data.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    _check_batch_size(batch_size)
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if patience is not None and (X_val is None or patience < 1):
        raise ValueError("early stopping needs X_val, y_val and patience >= 1")
    raise NotImplementedError('Task 6.4: implement train (Train by theta <- theta - lr * grad L_batch(theta) per batch and epoch: batch GD at B = N, SGD at B = 1)')


def standardize_fit(X_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return mu_j = (1/N) sum_i x_ij, sigma_j = sqrt((1/N) sum_i (x_ij - mu_j)^2) (1 if constant) of X_train.

    Fit on the TRAINING split only, then apply the same (mu, sigma) to validation and test
    data: statistics from held-out data would leak it into training.

    Args:
        X_train: (N, D) with N >= 1.
    Returns:
        (mean, std): two (D,) float64 arrays; std uses ddof=0 (the 1/N above); a feature
        whose values are all equal (max == min, e.g. an always-blank pixel) gets std 1, so it
        maps to 0 instead of dividing by 0 (or by a rounding residue like 1e-17). X_train is
        not mutated.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.ndim != 2 or X_train.shape[0] < 1:
        raise ValueError(f"X_train must have shape (N, D) with N >= 1, got {X_train.shape}")
    raise NotImplementedError('Task 6.5: implement standardize_fit (Return mu_j = (1/N) sum_i x_ij, sigma_j = sqrt((1/N) sum_i (x_ij - mu_j)^2) (1 if constant) of X_train)')


def standardize_apply(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Return x'_ij = (x_ij - mu_j) / sigma_j, with (mu, sigma) from standardize_fit on the training split.

    Args: X (N, D); mean, std (D,) float64 (std > 0). Returns a new (N, D) float64 array;
    nothing is mutated.
    """
    raise NotImplementedError("Task 6.6: implement standardize_apply (Return x'_ij = (x_ij - mu_j) / sigma_j, with (mu, sigma) from standardize_fit on the training split)")


def overfit_small_batch(
    model: Any, X: np.ndarray, y: np.ndarray, n: int = 20, steps: int = 300, lr: float = 0.5
) -> float:
    """Take `steps` steps theta <- theta - lr * grad L(theta) on the first n samples; return their final loss L.

    The lecture's sanity check before a long run: a model that cannot drive the loss on 20
    samples towards 0 has a bug (or far too small a learning rate).

    Args:
        model: as in ``train``; X (N, D), y (N,); the first min(n, N) rows are used, in order.
        n: number of samples; steps: number of gradient steps; lr: learning rate.
    Returns:
        float: ``model.loss(X[:n], y[:n], params)`` after the last step (nan/inf if it diverged).
    The model is not changed: it works on copies of ``model.params``. Inputs are not mutated.
    """
    raise NotImplementedError('Task 6.7: implement overfit_small_batch (Take `steps` steps theta <- theta - lr * grad L(theta) on the first n samples; return their final loss L)')


# ----------------------------------------------------------------------------------------
# Given: the comparison used by the handout's table and figure (uses your train)
# ----------------------------------------------------------------------------------------


def compare_methods(
    X: np.ndarray,
    y: np.ndarray,
    batch_sizes: Sequence[int],
    epochs: int,
    lr: float | Sequence[float],
    seed: int = 0,
    hidden: int | None = None,
) -> list[dict[str, Any]]:
    """Train one model from the same initial weights per batch size B (batch GD, SGD, mini-batch) and report each run.

    Args:
        X: (N, D) float64 (standardise it first); y: (N,) int labels 0..C-1, C = max(y) + 1.
        batch_sizes: the batch sizes to compare, e.g. (N, 1, 32).
        epochs: epochs per run (same for all); lr: one learning rate for all runs, or one per
            batch size.
        seed: seed of the initial weights (the same for every run) and of the shuffling.
        hidden: None for ``LinearSoftmaxModel``, else the width of a ``TwoLayerNet`` (ReLU).
    Returns:
        one dict per batch size, in order: ``method`` ("batch" | "sgd" | "minibatch"),
        ``batch_size``, ``lr``, ``updates_per_epoch``, ``num_updates``, ``seconds`` (wall time
        of the run; varies between runs), ``final_loss`` (full training loss after the last
        epoch), ``train_loss`` (the history from ``train``, epochs + 1 floats).
    Inputs are not mutated.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, d = X.shape
    c = int(y.max()) + 1
    lrs = [float(lr)] * len(batch_sizes) if np.ndim(lr) == 0 else [float(v) for v in lr]  # type: ignore[arg-type]
    if len(lrs) != len(batch_sizes):
        raise ValueError("give one lr, or one per batch size")
    rows = []
    for bs, step in zip(batch_sizes, lrs):
        model = LinearSoftmaxModel(d, c, seed=seed) if hidden is None else TwoLayerNet(d, hidden, c, seed=seed)
        t0 = time.perf_counter()
        hist = train(model, X, y, batch_size=int(bs), lr=step, epochs=epochs, seed=seed, shuffle=True)
        seconds = time.perf_counter() - t0
        rows.append(
            {
                "method": method_name(int(bs), n),
                "batch_size": int(bs),
                "lr": step,
                "updates_per_epoch": hist["updates_per_epoch"],
                "num_updates": hist["num_updates"],
                "seconds": seconds,
                "final_loss": hist["train_loss"][-1],
                "train_loss": hist["train_loss"],
            }
        )
    return rows
