"""Worked numbers for reference/losses.md, computed by solutions.losses (10 significant digits)."""

from __future__ import annotations

import numpy as np

from grader.course.markdown import num as _g
from grader.course.markdown import table as _table
from grader.course.markdown import vec as _vec
from solutions import losses as L

# The inputs of every example (N = 3 samples, K = C = 3 outputs or classes).
MSE_PRED = np.array([[0.5, 1.0, -0.5], [2.0, 0.0, 1.0], [1.5, -1.0, 0.5]])
MSE_TRUE = np.array([[1.0, 1.0, 0.0], [1.0, 0.5, 1.0], [2.0, -1.0, -0.5]])
BCE_LOGITS = np.array([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0], [-0.5, 1.0, 4.0]])
BCE_TARGETS = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
CCE_PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5]])
CCE_LABELS = np.array([0, 2, 2])
SCE_LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [0.0, 0.0, 0.0]])
SCE_LABELS = np.array([0, 2, 1])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def mse_block() -> str:
    g = L.mse_grad(MSE_PRED, MSE_TRUE)
    rows = [
        [str(i), _vec(MSE_PRED[i]), _vec(MSE_TRUE[i]), _vec(MSE_PRED[i] - MSE_TRUE[i]), _vec(g[i])]
        for i in range(MSE_PRED.shape[0])
    ]
    table = _table(["i", "y_pred_i", "y_true_i", "y_pred_i - y_true_i", "dL/dy_pred_i"], rows)
    n, k = MSE_PRED.shape
    return (
        f"{table}\n\n"
        f"N = {n}, K = {k}, so the mean is over N*K = {n * k} elements: "
        f"`mse` = {_g(L.mse(MSE_PRED, MSE_TRUE))}, and every gradient entry is "
        f"2 (y_pred - y_true) / {n * k}."
    )


def mse_broadcast_block() -> str:
    y_pred = MSE_PRED[:, :1]  # shape (3, 1)
    y_true = MSE_TRUE[:, 0]  # shape (3,)
    silent = float(np.mean((y_pred - y_true) ** 2))  # broadcasts to (3, 3)
    right = L.mse(y_pred, y_true.reshape(-1, 1))
    rows = [
        ["`np.mean((y_pred - y_true) ** 2)`", str((y_pred - y_true).shape), _g(silent)],
        ["`mse(y_pred, y_true.reshape(-1, 1))`", str(y_pred.shape), _g(right)],
        ["`mse(y_pred, y_true)`", "-", "ValueError"],
    ]
    return f"y_pred = {_vec(y_pred[:, 0])} with shape (3, 1), y_true = {_vec(y_true)} with shape (3,).\n\n" + _table(
        ["expression", "shape of the difference", "value"], rows
    )


def bce_block() -> str:
    p = _sigmoid(BCE_LOGITS)
    gp = L.binary_cross_entropy_grad(p, BCE_TARGETS)
    gz = L.binary_cross_entropy_with_logits_grad(BCE_LOGITS, BCE_TARGETS)
    rows = [
        [str(i), _vec(BCE_LOGITS[i]), _vec(p[i]), _vec(BCE_TARGETS[i]), _vec(gp[i]), _vec(gz[i])]
        for i in range(p.shape[0])
    ]
    table = _table(["i", "z_i", "p_i = sigma(z_i)", "y_i", "dL/dp_i", "dL/dz_i"], rows)
    return (
        f"{table}\n\n"
        f"- `binary_cross_entropy(p, y)` = {_g(L.binary_cross_entropy(p, BCE_TARGETS))}\n"
        f"- `binary_cross_entropy_with_logits(z, y)` = "
        f"{_g(L.binary_cross_entropy_with_logits(BCE_LOGITS, BCE_TARGETS))}\n"
        f"- mean over all N*K = {p.size} elements; dL/dz = (sigma(z) - y) / {p.size} "
        f"= dL/dp * p (1 - p)"
    )


def bce_extremes_block() -> str:
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 1.0, 1.0, 0.0])
    z = np.array([-1000.0, 1000.0, 1000.0, -1000.0])
    rows = [
        ["`binary_cross_entropy(p, y)`", _g(L.binary_cross_entropy(p, y))],
        ["`binary_cross_entropy_grad(p, y)`", _vec(L.binary_cross_entropy_grad(p, y))],
        ["`binary_cross_entropy_with_logits(z, y)`", _g(L.binary_cross_entropy_with_logits(z, y))],
        ["`binary_cross_entropy_with_logits_grad(z, y)`", _vec(L.binary_cross_entropy_with_logits_grad(z, y))],
        ["log(EPS)", _g(np.log(L.EPS))],
    ]
    return (
        f"y = {_vec(y)}, p = {_vec(p)}, z = {_vec(z)} (N = 4; samples 0 and 1 are "
        f"confidently wrong, 2 and 3 confidently right).\n\n" + _table(["expression", "value"], rows)
    )


def cce_block() -> str:
    y = L.one_hot(CCE_LABELS, CCE_PROBS.shape[1])
    g = L.categorical_cross_entropy_grad(CCE_PROBS, y)
    rows = [
        [str(i), _vec(CCE_PROBS[i]), _vec(y[i]), _g(-np.log(CCE_PROBS[i, CCE_LABELS[i]])), _vec(g[i])]
        for i in range(CCE_PROBS.shape[0])
    ]
    table = _table(["i", "p_i", "y_i (one-hot)", "-log p_i,label", "dL/dp_i"], rows)
    return (
        f"{table}\n\n"
        f"`categorical_cross_entropy(p, y)` = {_g(L.categorical_cross_entropy(CCE_PROBS, y))} "
        f"(the mean of the column -log p_i,label over the N = {CCE_PROBS.shape[0]} rows)."
    )


def softmax_ce_block() -> str:
    s = L.softmax(SCE_LOGITS)
    g = L.softmax_cross_entropy_grad(SCE_LOGITS, SCE_LABELS)
    rows = [[str(i), _vec(SCE_LOGITS[i]), str(SCE_LABELS[i]), _vec(s[i]), _vec(g[i])] for i in range(s.shape[0])]
    table = _table(["i", "z_i", "label", "softmax(z_i)", "dL/dz_i"], rows)
    c = SCE_LOGITS.shape[1]
    onehot = L.one_hot(SCE_LABELS, c)
    return (
        f"{table}\n\n"
        f"- `softmax_cross_entropy(z, labels)` = "
        f"{_g(L.softmax_cross_entropy(SCE_LOGITS, SCE_LABELS))}\n"
        f"- `categorical_cross_entropy(softmax(z), one_hot(labels, {c}))` = "
        f"{_g(L.categorical_cross_entropy(s, onehot))}\n"
        f"- every row of dL/dz sums to 0 up to rounding (largest |row sum| here: "
        f"{_g(np.abs(g.sum(axis=1)).max())})\n"
        f"- row 2 has all-zero logits: its loss is log C = log {c} = {_g(np.log(c))}\n"
        f"- `softmax_cross_entropy(z + 1000, labels)` = "
        f"{_g(L.softmax_cross_entropy(SCE_LOGITS + 1000.0, SCE_LABELS))} (shift invariance)"
    )


BLOCKS = {
    "losses-mse": mse_block,
    "losses-mse-broadcast": mse_broadcast_block,
    "losses-bce": bce_block,
    "losses-bce-extremes": bce_extremes_block,
    "losses-cce": cce_block,
    "losses-softmax-ce": softmax_ce_block,
}
