"""Task 7: training the lecture's MLP with PyTorch (nn.Sequential, CrossEntropyLoss, Adam, autograd).

The lecture's code, as functions::

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for X_batch, y_batch in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(X_batch), y_batch)
        loss.backward()
        optimizer.step()

Conventions (the whole course): ROW layout, X of shape (N, D), one sample per row; a
``nn.Linear(in, out)`` holds ``weight`` of shape (out, in) and ``bias`` of shape (out,) and
computes Z = X @ W.T + b. Labels y are class indices of shape (N,), int64. Losses are MEANS over
the samples of a batch (``CrossEntropyLoss``'s default ``reduction="mean"``, the lecture's 1/n).

The model outputs raw LOGITS (no softmax layer): ``nn.CrossEntropyLoss`` applies log-softmax
itself, with the log-sum-exp trick, so it is finite for any logits and its gradient with
respect to the logits is the clean (softmax(Z) - onehot(y)) / N. A softmax before it would be
applied twice: the loss is then the CE of softmax(softmax(Z)), its gradients are wrong and
much smaller, and training slows to a crawl.

Threads: nothing here calls ``torch.set_num_threads``; that is the caller's choice (on a
2-core machine ``torch.set_num_threads(1)`` is about 8x faster for these small networks).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = [
    "build_model",
    "train_step",
    "train",
    "accuracy",
    "autograd_demo",
    "predict_logits",
    "to_tensors",
    "model_dtype",
]


# ---------------------------------------------------------------------------
# Given helpers (not graded)
# ---------------------------------------------------------------------------


def model_dtype(model: nn.Module) -> torch.dtype:
    """Return the floating dtype of the model's parameters: dtype(first parameter), float32 if none.

    ``build_model`` gives float32 parameters; ``model.double()`` turns them into float64.
    The model is not changed.
    """
    for p in model.parameters():
        return p.dtype
    return torch.float32


def to_tensors(
    model: nn.Module, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Convert (X, y) to tensors for ``model``: X -> model's float dtype, y -> int64.

    X: array-like of shape (N, D), any real dtype -> tensor (N, D) of ``model_dtype(model)``
    (float32 for a fresh ``build_model``, float64 after ``model.double()``).
    y: array-like of shape (N,) of class indices, or None -> tensor (N,) int64, or None.
    Uses ``torch.as_tensor``, so a numpy input of the right dtype shares memory with the result;
    nothing here writes to it, and neither do the training functions of this module.
    """
    X_t = torch.as_tensor(X, dtype=model_dtype(model))
    y_t = None if y is None else torch.as_tensor(y, dtype=torch.int64)
    return X_t, y_t


def predict_logits(model: nn.Module, X: np.ndarray | torch.Tensor) -> np.ndarray:
    """Return the model's logits Z = model(X) as a numpy array, computed without gradients.

    X: array-like (N, D) -> ndarray (N, C) float64 (computed in the model's dtype, then cast).
    Puts the model in eval mode (``model.eval()``); X and the parameters are not changed.
    """
    X_t, _ = to_tensors(model, X)
    model.eval()
    with torch.no_grad():
        Z = model(X_t)
    return Z.detach().cpu().numpy().astype(np.float64)


# ---------------------------------------------------------------------------
# Graded functions
# ---------------------------------------------------------------------------


def build_model(
    in_features: int = 784, hidden: int = 256, out_features: int = 10, seed: int | None = None
) -> nn.Sequential:
    """Return the lecture's MLP x -> W2 relu(W1 x + b1) + b2 as nn.Sequential(Linear, ReLU, Linear).

    Layers: ``nn.Linear(in_features, hidden)``, ``nn.ReLU()``, ``nn.Linear(hidden, out_features)``,
    in this order and nothing else: the last layer outputs raw logits (no softmax; see the
    module docstring). Parameters are float32 (torch's default): layer 0 ``weight`` has shape
    (hidden, in_features), ``bias`` (hidden,); layer 2 ``weight`` (out_features, hidden),
    ``bias`` (out_features,), i.e. (out, in) as in the lecture.
    Initialisation is torch's default for ``nn.Linear`` from the global RNG; if ``seed`` is not
    None, ``torch.manual_seed(seed)`` is called first (this resets torch's global RNG).
    The model maps a float tensor (N, in_features) to logits (N, out_features).
    """
    if seed is not None:
        torch.manual_seed(seed)
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        nn.Linear(hidden, out_features),
    )
    ### END SOLUTION


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    X_batch: torch.Tensor,
    y_batch: torch.Tensor,
) -> float:
    """Do one optimisation step on L = loss_fn(model(X_batch), y_batch) and return L before the step.

    Exactly: ``optimizer.zero_grad()``; Z = model(X_batch); L = loss_fn(Z, y_batch);
    ``L.backward()``; ``optimizer.step()``; return ``L.item()``.
    X_batch: tensor (B, D) of the model's float dtype; y_batch: tensor (B,) int64 class indices.
    loss_fn is expected to be ``nn.CrossEntropyLoss()`` (mean over the batch) applied to raw
    logits. zero_grad() is needed because ``backward()`` ADDS into each ``.grad``: without it
    every step would use the sum of all gradients so far.
    Mutates the model's parameters (and their ``.grad``) and the optimizer's state, by design;
    X_batch and y_batch are not changed. Returns a Python float.
    """
    ### BEGIN SOLUTION
    optimizer.zero_grad()
    logits = model(X_batch)
    loss = loss_fn(logits, y_batch)
    loss.backward()
    optimizer.step()
    return float(loss.item())
    ### END SOLUTION


def train(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """Train with mini-batch Adam(lr) on mean cross-entropy for ``epochs`` epochs; return each epoch's mean loss.

    X: array-like (N, D), converted to the model's float dtype (float32 by default, float64 if
    the parameters are float64); y: array-like (N,) int class indices, converted to int64.
    Exactly: ``model.train()``; one ``torch.optim.Adam(model.parameters(), lr=lr)`` (default
    betas (0.9, 0.999), eps 1e-8) and one ``nn.CrossEntropyLoss()`` for the whole call; one
    generator ``g = torch.Generator().manual_seed(seed)`` for the whole call; each epoch draws
    ``perm = torch.randperm(N, generator=g)`` and visits the batches ``perm[i:i + batch_size]``
    for i = 0, batch_size, 2 * batch_size, ... (the last one may be smaller), doing one
    ``train_step`` per batch.
    Returns a list of ``epochs`` Python floats: the epoch's loss, the mean of the per-batch
    losses weighted by batch size, i.e. the mean over the N samples of the loss each sample's
    batch had before its step. Mutates the model's parameters; X and y are not changed.
    Thread settings are left to the caller (``torch.set_num_threads(1)`` is much faster on 2 cores).
    """
    X_t, y_t = to_tensors(model, X, y)
    g = torch.Generator().manual_seed(seed)
    ### BEGIN SOLUTION
    n = X_t.shape[0]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    history: list[float] = []
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            batch_loss = train_step(model, optimizer, loss_fn, X_t[idx], y_t[idx])
            total += batch_loss * len(idx)
        history.append(total / n)
    return history
    ### END SOLUTION


def accuracy(model: nn.Module, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Return the classification accuracy mean_i [argmax_c model(X)_ic == y_i] as a float in [0, 1].

    X: array-like (N, D) (converted to the model's dtype), y: array-like (N,) int class indices.
    Evaluates with ``model.eval()`` and under ``torch.no_grad()`` (no graph, no ``.grad``
    changes); leaves the model in eval mode. Ties in argmax go to the lowest index (torch's rule).
    Parameters, X and y are not changed. Returns a Python float.
    """
    X_t, y_t = to_tensors(model, X, y)
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        pred = model(X_t).argmax(dim=1)
    return float((pred == y_t).to(torch.float64).mean().item())
    ### END SOLUTION


def autograd_demo(x0: float = 1.0) -> float:
    """Return dy/dx of y = x**2 + 2*x at x = x0 computed by torch autograd (the exact value is 2*x0 + 2; 4.0 at x0 = 1).

    Make x a float64 scalar tensor with ``requires_grad=True``, build y, call ``y.backward()``,
    return ``x.grad`` as a Python float. No finite differences, no hand-written derivative.
    """
    ### BEGIN SOLUTION
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    y = x**2 + 2 * x
    y.backward()
    return float(x.grad.item())
    ### END SOLUTION
