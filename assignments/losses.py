# Your work for Task 1 (Loss functions and their gradients): fill in every place that raises
# NotImplementedError("Task 1.M: ..."). Keep the names and signatures of the functions.
"""Task 1: loss functions and their gradients (the last step of every backward pass).

Conventions used throughout this module:

- ROW layout: one sample per row. Predictions and targets of a regression or multi-label
  problem are arrays of shape (N,) or (N, K); class scores (logits) and class probabilities
  are arrays of shape (N, C).
- Every loss is a MEAN, the lecture's 1/n, and returns a Python float:
    * mse, binary_cross_entropy, binary_cross_entropy_with_logits: the mean over ALL
      elements, i.e. over N (shape (N,)) or over N*K (shape (N, K)). This is what
      torch (``reduction="mean"``) and Keras compute.
    * categorical_cross_entropy, softmax_cross_entropy: the sum over the C classes of a
      row, then the mean over the N rows.
- Every gradient is taken with respect to the loss's FIRST argument (predictions,
  probabilities or logits), has exactly that argument's shape, and is a float64 ndarray.
  Because the loss is a mean, every gradient carries the same 1/N (or 1/(N*K)) factor.
- Inputs are never modified; array-likes (lists, int arrays) are accepted and converted
  to float64 copies.
- Prediction and target must have the SAME shape; a (N,) target against (N, 1)
  predictions raises ValueError instead of broadcasting silently to (N, N).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Clipping epsilon for losses on probabilities: probabilities are clipped to
#: [EPS, 1 - EPS] (binary) or below at EPS (categorical) before the log is taken, so
#: p = 0 or p = 1 gives a large but finite loss (log(EPS) = -16.118...). Same value as
#: Keras's ``backend.epsilon()``. The logits forms need no epsilon.
EPS = 1e-7


def _check_same_shape(a: np.ndarray, b: np.ndarray, a_name: str, b_name: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` have exactly the same shape (no broadcasting).

    Given helper. A classic bug is a target of shape (N,) against predictions of shape
    (N, 1): numpy would broadcast ``y_pred - y_true`` to (N, N) and return a wrong number
    without any error.
    """
    if a.shape != b.shape:
        raise ValueError(
            f"{a_name} has shape {a.shape} but {b_name} has shape {b.shape}; they must be "
            "equal (reshape one of them, e.g. y.reshape(-1, 1), instead of relying on "
            "broadcasting)"
        )


def one_hot(labels: ArrayLike, num_classes: int) -> np.ndarray:
    """One-hot encoding Y[i, c] = 1 if labels[i] == c else 0.

    Given helper. ``labels``: shape (N,), integers in [0, num_classes) (integer-valued
    floats are accepted too). Returns a new float64 array of shape (N, num_classes).
    Raises ValueError for labels that are not 1-D, not integers, or out of range.
    The input is not modified.
    """
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {lab.shape}")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        if not (np.issubdtype(lab.dtype, np.floating) and np.all(lab == np.round(lab))):
            raise ValueError("labels of shape (N,) must be integer class indices")
    lab = lab.astype(np.int64)
    if lab.size and (lab.min() < 0 or lab.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got {lab.min()}..{lab.max()}")
    out = np.zeros((lab.shape[0], num_classes), dtype=np.float64)
    out[np.arange(lab.shape[0]), lab] = 1.0
    return out


def _target_rows(labels: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """Targets of a softmax loss as a float64 (N, C) array, from int labels (N,) or rows (N, C).

    Given helper. ``shape`` is the (N, C) shape of the logits. Integer labels of shape (N,)
    are one-hot encoded; a 2-D ``labels`` must have shape (N, C) and is copied as float64
    (one-hot rows; any rows that sum to 1 work the same way). Raises ValueError otherwise.
    """
    lab = np.asarray(labels)
    if lab.ndim == 1:
        if lab.shape[0] != shape[0]:
            raise ValueError(f"{lab.shape[0]} labels for {shape[0]} rows of logits")
        return one_hot(lab, shape[1])
    if lab.shape != tuple(shape):
        raise ValueError(f"labels must have shape (N,) or the logits' shape {tuple(shape)}, got {lab.shape}")
    return np.array(lab, dtype=np.float64)


def mse(y_pred: ArrayLike, y_true: ArrayLike) -> float:
    """Mean squared error L = (1/M) * sum_i (y_pred_i - y_true_i)^2, the mean over all M elements.

    ``y_pred``, ``y_true``: float64 arrays of the same shape, (N,) or (N, K); M = N or
    M = N*K. This is the mean over ALL elements, as torch's ``mse_loss`` and Keras's
    ``MeanSquaredError`` compute it (not the textbook (1/2) * sum form, and not the mean
    over the N rows of the per-row sum). Returns a Python float.
    Raises ValueError if the shapes differ (no broadcasting of (N,) against (N, 1)).
    Inputs are not modified.
    """
    raise NotImplementedError('Task 1.1: implement mse (Mean squared error L = (1/M) * sum_i (y_pred_i - y_true_i)^2, the mean over all M elements)')


def mse_grad(y_pred: ArrayLike, y_true: ArrayLike) -> np.ndarray:
    """Gradient of the mean squared error, dL/dy_pred = 2 (y_pred - y_true) / M with M = y_pred.size.

    ``y_pred``, ``y_true``: float64 arrays of the same shape, (N,) or (N, K); for (N, K)
    the factor is 2/(N*K) because the loss is the mean over all elements. Returns a new
    float64 array of the shape of ``y_pred``. Raises ValueError if the shapes differ.
    Inputs are not modified.
    """
    raise NotImplementedError('Task 1.2: implement mse_grad (Gradient of the mean squared error, dL/dy_pred = 2 (y_pred - y_true) / M with M = y_pred.size)')


def binary_cross_entropy(p: ArrayLike, y: ArrayLike) -> float:
    """Binary cross-entropy L = -(1/M) * sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)], the mean over all M elements.

    ``p``: predicted probabilities in [0, 1], float64, shape (N,) or (N, K); ``y``: targets
    in [0, 1] (usually 0/1) of the same shape. M = p.size. Numerical stability: ``p`` is
    clipped to [EPS, 1 - EPS] (EPS = 1e-7) before the logs, so p = 0 or 1 gives a large
    but finite loss (torch clamps its logs at -100 instead, so the libraries disagree at
    the extremes). Prefer ``binary_cross_entropy_with_logits`` when you have the logits.
    Returns a Python float. Raises ValueError if the shapes differ. Inputs are not modified.
    """
    raise NotImplementedError('Task 1.3: implement binary_cross_entropy (Binary cross-entropy L = -(1/M) * sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)], the mean over all M elements)')


def binary_cross_entropy_grad(p: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Gradient of the binary cross-entropy, dL/dp = (p - y) / (p (1 - p)) / M with p clipped to [EPS, 1 - EPS].

    ``p``, ``y``: float64 arrays of the same shape, (N,) or (N, K); M = p.size. For
    EPS <= p <= 1 - EPS this is exactly the derivative of ``binary_cross_entropy``.
    Outside that range the formula is evaluated at the clipped p (not the zero slope of
    the clip), so the gradient stays finite and still points from p towards y.
    Returns a new float64 array of the shape of ``p``. Raises ValueError if the shapes
    differ. Inputs are not modified.
    """
    raise NotImplementedError('Task 1.4: implement binary_cross_entropy_grad (Gradient of the binary cross-entropy, dL/dp = (p - y) / (p (1 - p)) / M with p clipped to [EPS, 1 - EPS])')


def binary_cross_entropy_with_logits(z: ArrayLike, y: ArrayLike) -> float:
    """Binary cross-entropy of p = sigmoid(z) computed from the logits, L = (1/M) * sum_i [max(z_i, 0) - z_i y_i + log(1 + exp(-|z_i|))].

    ``z``: logits (any real numbers), float64, shape (N,) or (N, K); ``y``: targets in
    [0, 1] of the same shape; M = z.size (mean over all elements, like torch's
    ``binary_cross_entropy_with_logits``). Numerical stability: this form equals
    -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] exactly but never overflows and
    never takes log(0): it is finite for logits of +-1000 (use ``np.log1p``).
    Returns a Python float. Raises ValueError if the shapes differ. Inputs are not modified.
    """
    raise NotImplementedError('Task 1.5: implement binary_cross_entropy_with_logits (Binary cross-entropy of p = sigmoid(z) computed from the logits, L = (1/M) * sum_i [max(z_i, 0) - z_i y_i + log(1 + exp(-|z_i|))])')


def binary_cross_entropy_with_logits_grad(z: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Gradient of the binary cross-entropy with respect to the logits, dL/dz = (sigmoid(z) - y) / M.

    ``z``, ``y``: float64 arrays of the same shape, (N,) or (N, K); M = z.size.
    Numerical stability: compute sigmoid(z) without overflow, e.g. with e = exp(-|z|):
    sigmoid(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0; the result is finite
    for logits of +-1000. Returns a new float64 array of the shape of ``z``.
    Raises ValueError if the shapes differ. Inputs are not modified.
    """
    raise NotImplementedError('Task 1.6: implement binary_cross_entropy_with_logits_grad (Gradient of the binary cross-entropy with respect to the logits, dL/dz = (sigmoid(z) - y) / M)')


def categorical_cross_entropy(p: ArrayLike, y_onehot: ArrayLike) -> float:
    """Categorical cross-entropy L = -(1/N) * sum_i sum_c y_ic log p_ic, the mean over the N rows.

    ``p``: predicted class probabilities, float64 of shape (N, C), each row a probability
    vector (e.g. the output of ``softmax``; rows are not renormalised); ``y_onehot``:
    one-hot targets of the same shape (N, C). Numerical stability: ``p`` is clipped below
    at EPS = 1e-7 before the log, so a zero probability on the true class gives a large
    but finite loss. Prefer ``softmax_cross_entropy`` when you have the logits.
    Returns a Python float. Raises ValueError if the shapes differ. Inputs are not modified.
    """
    raise NotImplementedError('Task 1.7: implement categorical_cross_entropy (Categorical cross-entropy L = -(1/N) * sum_i sum_c y_ic log p_ic, the mean over the N rows)')


def categorical_cross_entropy_grad(p: ArrayLike, y_onehot: ArrayLike) -> np.ndarray:
    """Gradient of the categorical cross-entropy with respect to the probabilities, dL/dp_ic = -y_ic / (N p_ic) with p clipped below at EPS.

    ``p``, ``y_onehot``: float64 arrays of the same shape (N, C). For p >= EPS this is
    exactly the derivative of ``categorical_cross_entropy``; entries with y_ic = 0 have
    gradient 0. Returns a new float64 array of shape (N, C). Raises ValueError if the
    shapes differ. Inputs are not modified.
    """
    raise NotImplementedError('Task 1.8: implement categorical_cross_entropy_grad (Gradient of the categorical cross-entropy with respect to the probabilities, dL/dp_ic = -y_ic / (N p_ic) with p clipped below at EPS)')


def softmax(z: ArrayLike) -> np.ndarray:
    """Row-wise softmax S_ic = exp(z_ic - m_i) / sum_k exp(z_ik - m_i) with m_i = max_k z_ik.

    ``z``: logits, float64 of shape (N, C), one sample per row. Returns a new float64
    array of shape (N, C) whose rows are positive and sum to 1. Numerical stability:
    subtracting the row maximum m_i does not change the result (softmax is invariant to
    adding a constant to a row) but makes every exponent <= 0, so nothing overflows even
    for logits of +-1000. The input is not modified.
    """
    raise NotImplementedError('Task 1.9: implement softmax (Row-wise softmax S_ic = exp(z_ic - m_i) / sum_k exp(z_ik - m_i) with m_i = max_k z_ik)')


def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> float:
    """Softmax cross-entropy from logits, L = (1/N) * sum_i [logsumexp(z_i) - sum_c y_ic z_ic], the mean over the N rows.

    ``logits``: float64 of shape (N, C); ``labels``: either integer class indices of shape
    (N,) in [0, C), or one-hot float rows of shape (N, C) (use the given helper
    ``_target_rows`` to turn either into (N, C) rows y). Equals
    ``categorical_cross_entropy(softmax(logits), y)`` without the clipping, and torch's
    ``cross_entropy(logits, labels)``. Numerical stability: logsumexp(z_i) =
    m_i + log sum_c exp(z_ic - m_i) with m_i the row maximum; finite for logits of +-1000.
    Returns a Python float. Raises ValueError for labels of the wrong shape or range.
    Inputs are not modified.
    """
    raise NotImplementedError('Task 1.10: implement softmax_cross_entropy (Softmax cross-entropy from logits, L = (1/N) * sum_i [logsumexp(z_i) - sum_c y_ic z_ic], the mean over the N rows)')


def softmax_cross_entropy_grad(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """Gradient of the softmax cross-entropy with respect to the logits, dL/dz = (softmax(z) - Y) / N.

    ``logits``: float64 of shape (N, C); ``labels``: integer class indices of shape (N,)
    or one-hot rows Y of shape (N, C), as in ``softmax_cross_entropy``. Returns a new
    float64 array of shape (N, C); each of its rows sums to 0 (for one-hot rows).
    Numerical stability: use the stable ``softmax``; finite for logits of +-1000.
    Raises ValueError for labels of the wrong shape or range. Inputs are not modified.
    """
    raise NotImplementedError('Task 1.11: implement softmax_cross_entropy_grad (Gradient of the softmax cross-entropy with respect to the logits, dL/dz = (softmax(z) - Y) / N)')
