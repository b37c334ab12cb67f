"""Worked numbers and figures for reference/minibatch.md (Task 6), computed by solutions.minibatch.

``BLOCKS[name]()`` returns the markdown between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->``; ``FIGURES[file](path)`` writes reference/figures/<file>.
Timings are deliberately left out of the blocks (they change from run to run, and a block must
be reproducible); the figure may show anything.
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np

from solutions import data
from solutions import minibatch as mb

#: The comparison problem: softmax regression on the standardised 8x8 digits.
EPOCHS = 20
LR = 0.1
SEED = 0
MINI = 32


def _fmt(x: float) -> str:
    return f"{x:.10g}"


@functools.lru_cache(maxsize=1)
def _problem() -> tuple[np.ndarray, np.ndarray]:
    s = data.digits_splits("digits8", seed=SEED)
    mean, std = mb.standardize_fit(s["X_train"])
    return mb.standardize_apply(s["X_train"], mean, std), s["y_train"]


@functools.lru_cache(maxsize=1)
def _comparison() -> tuple[dict, ...]:
    X, y = _problem()
    n = X.shape[0]
    return tuple(mb.compare_methods(X, y, batch_sizes=(n, 1, MINI), epochs=EPOCHS, lr=LR, seed=SEED))


def comparison_table() -> str:
    """Batch GD vs SGD vs mini-batch on the same problem, same lr, same initial weights."""
    X, _ = _problem()
    lines = [
        f"Softmax regression on the standardised 8x8 digits (N = {X.shape[0]} training rows, "
        f"D = {X.shape[1]}), lr = {LR}, {EPOCHS} epochs, same initial weights (seed {SEED}), "
        "shuffled every epoch. Losses are the mean cross-entropy on the full training set.",
        "",
        "| method | batch size B | updates per epoch ceil(N/B) | updates in total "
        "| loss at start | loss after 1 epoch | loss after "
        f"{EPOCHS} epochs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in _comparison():
        h = r["train_loss"]
        lines.append(
            f"| {r['method']} | {r['batch_size']} | {r['updates_per_epoch']} | {r['num_updates']} "
            f"| {_fmt(h[0])} | {_fmt(h[1])} | {_fmt(h[-1])} |"
        )
    return "\n".join(lines)


def batches_table() -> str:
    """The batches of a 10-sample set with B = 4, in order and shuffled with seed 0."""
    n, b = 10, 4
    plain = mb.batch_indices(n, b, shuffle=False)
    shuffled = mb.batch_indices(n, b, shuffle=True, seed=0)
    perm = np.random.default_rng(0).permutation(n)
    lines = [
        f"N = {n}, B = {b}: ceil(10/4) = {mb.num_updates_per_epoch(n, b)} updates per epoch; "
        f"`np.random.default_rng(0).permutation(10)` = `{perm.tolist()}`.",
        "",
        "| batch | size | indices, shuffle=False | indices, shuffle=True, seed=0 |",
        "| ---: | ---: | --- | --- |",
    ]
    for i, (p, s) in enumerate(zip(plain, shuffled), start=1):
        lines.append(f"| {i} | {len(p)} | {p.tolist()} | {s.tolist()} |")
    return "\n".join(lines)


def loss_curves(path: pathlib.Path) -> None:
    """Training loss of batch GD, SGD and mini-batch against epochs and against updates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _comparison()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for r in rows:
        h = np.asarray(r["train_loss"])
        label = f"{r['method']} (B = {r['batch_size']})"
        epochs = np.arange(len(h))
        ax1.plot(epochs, h, marker="o", markersize=3, label=label)
        updates = epochs[1:] * r["updates_per_epoch"]  # epoch 0 (no update) left out of the log axis
        ax2.plot(updates, h[1:], marker="o", markersize=3, label=label)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss (mean cross-entropy)")
    ax1.set_yscale("log")
    ax1.set_title("per epoch (one pass over the data)")
    ax2.set_xlabel("parameter updates (log)")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_title("per update")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"Softmax regression on 8x8 digits, lr = {LR}, same initial weights")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


BLOCKS = {
    "minibatch-batches": batches_table,
    "minibatch-comparison": comparison_table,
}

FIGURES = {"loss_curves.png": loss_curves}
