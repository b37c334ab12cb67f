"""Shared by the public and hidden checks of Task 7 (torch_training.py): the trusted one-liners
run in the worker, the numpy float64 oracle of the lecture's Linear-ReLU-Linear with mean
cross-entropy, and the reading of dtype errors raised inside the student's code.

Nothing here imports torch: the one-liners are evaluated in the worker (``student.source``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.gradients import CheckFailure, Diagnosis, Mistake
from grader.sandbox import StudentError

TORCH = "__import__('torch')"
AS_TENSOR = f"lambda a: {TORCH}.as_tensor(a)"
TO_NUMPY = "lambda t: t.detach().cpu().double().numpy().copy()"
SGD = f"lambda m, lr: {TORCH}.optim.SGD(m.parameters(), lr=lr)"
CROSS_ENTROPY = f"lambda: {TORCH}.nn.CrossEntropyLoss()"
MODEL = f"lambda D, H, C: (lambda nn: nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, C)))({TORCH}.nn)"
# torch.manual_seed(s), then the lecture's model: what build_model(D, H, C, seed=s) documents
SEEDED_MODEL = f"lambda D, H, C, s: ({TORCH}.manual_seed(s), ({MODEL})(D, H, C))[-1]"
LOAD = (
    f"lambda m, ps: (lambda torch: (m.double(), [p.data.copy_(torch.as_tensor(v)) "
    f"for p, v in zip(m.parameters(), ps)], m)[-1])({TORCH})"
)
LOGITS = (
    f"lambda m, X: (lambda torch: m(torch.as_tensor(X, dtype=next(m.parameters()).dtype))"
    f".detach().double().numpy())({TORCH})"
)
PARAM_DTYPES = "lambda m: [str(p.dtype).replace('torch.', '') for p in m.parameters()]"
TRAINING = "lambda m: bool(m.training)"
SET_MODE = "lambda m, training: m.train(training) and None"

SOFTMAX = Mistake(
    "softmax_before_cross_entropy",
    "a softmax before nn.CrossEntropyLoss (in build_model or in train_step): the loss applies "
    "log-softmax itself, so pass it the raw logits",
)
AFTER_STEP = Mistake(
    "loss_after_step", "returned the loss AFTER optimizer.step(): keep L = loss_fn(model(X), y) from before the step"
)
RETURNED_Y = Mistake("returned_y_not_derivative", "returned y = x^2 + 2x instead of dy/dx")
SOFTMAX_LAYER = (
    "there is a softmax layer in the model: build_model must end with the last Linear (raw logits), "
    "because nn.CrossEntropyLoss applies log-softmax itself"
)

# dtype errors raised by torch inside the student's code, and what they mean here
X_DTYPE = Diagnosis(
    "x_not_in_model_dtype",
    "X reached the model in another float dtype than its parameters: convert X with "
    "to_tensors(model, X, y), which uses model_dtype(model) (float64 after model.double()), "
    "not a fixed torch.float32 / torch.tensor(X)",
)
Y_DTYPE = Diagnosis(
    "y_not_int64",
    "the labels reached the loss in another integer dtype than int64: convert y with "
    "to_tensors(model, X, y) (torch.int64), the class indices CrossEntropyLoss needs",
)
STEPPED_BEFORE_BACKWARD = Diagnosis(
    "step_between_forward_and_backward",
    "the weights were changed in place between the forward pass and loss.backward() (torch saved them "
    "for the backward pass): that is optimizer.step() called before loss.backward(); the order is "
    "zero_grad(), forward, loss, backward(), step()",
)


def softmax(Z: np.ndarray) -> np.ndarray:
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def loss_and_grads(params, X, y, loss: str = "ce"):
    """L and [dW1, db1, dW2, db2] of Linear-ReLU-Linear (ROW layout, W (out, in), mean over the batch).

    ``loss``: "ce" (nn.CrossEntropyLoss on the logits, the documented one); "double_softmax"
    (CrossEntropyLoss after a softmax: CE of softmax(softmax(Z2))); "nll_logits" (nn.NLLLoss on
    the raw logits: -mean_i Z2[i, y_i])."""
    W1, b1, W2, b2 = params
    n = X.shape[0]
    Z1 = X @ W1.T + b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ W2.T + b2
    Y = np.eye(W2.shape[0])[y]
    if loss == "double_softmax":
        P = softmax(Z2)
        Q = softmax(P)
        value = -np.log(Q[np.arange(n), y]).mean()
        dP = (Q - Y) / n
        D2 = P * (dP - (dP * P).sum(axis=1, keepdims=True))
    elif loss == "nll_logits":
        value = -Z2[np.arange(n), y].mean()
        D2 = -Y / n
    else:
        S = Z2 - Z2.max(axis=1, keepdims=True)
        logp = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
        value = -logp[np.arange(n), y].mean()
        D2 = (np.exp(logp) - Y) / n
    D1 = (D2 @ W2) * (Z1 > 0)
    return float(value), [D1.T @ X, D1.sum(axis=0), D2.T @ A1, D2.sum(axis=0)]


def error_diagnosis(message: str) -> Diagnosis | None:
    """What an error of torch (its message) shows in these checks: X or y not converted as
    documented, or the weights stepped before backward()."""
    text = str(message)
    if "modified by an inplace operation" in text:
        return STEPPED_BEFORE_BACKWARD
    if "must have the same dtype" in text or ("expected scalar type" in text and "Long" not in text):
        return X_DTYPE
    if "target dtype" in text or ("expected scalar type Long" in text):
        return Y_DTYPE
    return None


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` (a student function); a torch error it raises is named where the
    message shows its cause (``error_diagnosis``)."""
    try:
        return fn(*args, **kwargs)
    except StudentError as exc:
        found = error_diagnosis(exc.message)
        if found is None:
            raise
        raise CheckFailure(f"{exc}. Likely: {found.message}", diagnosis=found) from exc
