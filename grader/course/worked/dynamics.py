"""Worked numbers and figures for reference/dynamics.md (Task 9), computed by solutions.dynamics.

``BLOCKS[name]()`` returns the markdown between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->``; ``FIGURES[file](path)`` writes reference/figures/<file>.
Values to 10 significant digits; relative errors of finite differences (round-off level, so they
depend on the last bits of the arithmetic) to 2. No timings: a block must be reproducible.
"""

from __future__ import annotations

import functools
import math
import pathlib

import numpy as np

from grader.course.markdown import num, table
from solutions import data
from solutions import dynamics as dy
from solutions import gradcheck as gc
from solutions import minibatch as mb

SEED = 0

# 1. initialisation and depth: a 10-layer MLP 64-32-...-32-10 on 200 training digits
DEPTH_SIZES = (64,) + (32,) * 9 + (10,)
DEPTH_ROWS = 100
CONFIGS = (
    ("sigmoid", "normal"),
    ("sigmoid", "xavier"),
    ("sigmoid", "he"),
    ("relu", "normal"),
    ("relu", "xavier"),
    ("relu", "he"),
)

# 2. L2: a 64-32-10 ReLU MLP, full-batch gradient descent on 300 training digits
L2_LAMS = (0.0, 1e-3, 1e-2, 1e-1)
L2_ROWS, L2_STEPS, L2_LR = 200, 100, 0.5

# 3. the learning rate: the same network and data, 50 steps per learning rate
SWEEP_LOW, SWEEP_HIGH, SWEEP_NUM, SWEEP_STEPS = 1e-3, 1e2, 11, 50

# 4. augmentation: a 64-64-10 ReLU network (Task 6's TwoLayerNet) on 400 training digits
AUG_ROWS, AUG_COPIES, AUG_EPOCHS, AUG_LR, AUG_BATCH = 400, (0, 2, 4), 20, 0.1, 32

# 5. the landscape: a line fitted to 40 noisy points
LINE_N, LINE_W0 = 40, (-1.5, 3.0)
PATHS = (("batch GD", LINE_N, 0.1, 80), ("mini-batch", 8, 0.1, 16), ("SGD", 1, 0.05, 2))  # 80 updates each

# 6. the cost of a gradient: 8-w-3 networks on 10 samples
COST_WIDTHS = (2, 4, 8, 16, 32)


@functools.lru_cache(maxsize=1)
def _digits() -> dict[str, np.ndarray]:
    return data.digits_splits("digits8", seed=SEED)


# ---------------------------------------------------------------------------------------------
# 1. initialisation and depth
# ---------------------------------------------------------------------------------------------


def init_table() -> str:
    """The standard deviation of each scheme for the layers of the deep network."""
    rows = []
    for fan_in, fan_out in ((64, 32), (32, 32), (32, 10)):
        cells = [f"{fan_in} -> {fan_out}"]
        for scheme in dy.INIT_SCHEMES:
            W = dy.init_weights(fan_in, fan_out, scheme, SEED)
            std = {"normal": 1.0, "xavier": math.sqrt(2 / (fan_in + fan_out)), "he": math.sqrt(2 / fan_in)}[scheme]
            cells.append(f"{num(std)} ({num(W.std())})")
        rows.append(cells)
    return table(
        ["layer n_{l-1} -> n_l", "normal: s (sample std)", "xavier: s (sample std)", "he: s (sample std)"], rows
    )


@functools.lru_cache(maxsize=1)
def _depth_norms() -> dict[tuple[str, str], np.ndarray]:
    d = _digits()
    X, y = d["X_train"][:DEPTH_ROWS], d["y_train"][:DEPTH_ROWS]
    return {
        (act, scheme): dy.layer_gradient_norms(dy.mlp_init(DEPTH_SIZES, scheme, SEED), X, y, act)
        for act, scheme in CONFIGS
    }


def depth_table() -> str:
    norms = _depth_norms()
    L = len(DEPTH_SIZES) - 1
    rows = [
        [act, scheme, num(g[0]), num(g[L // 2 - 1]), num(g[-1]), num(g[0] / g[-1])]
        for (act, scheme), g in norms.items()
    ]
    intro = (
        f"A {L}-layer MLP {'-'.join(str(s) for s in (DEPTH_SIZES[0], DEPTH_SIZES[1], '...', DEPTH_SIZES[-2], DEPTH_SIZES[-1]))} "
        f"at initialisation (seed {SEED}), on {DEPTH_ROWS} training digits: "
        "the Frobenius norm of dL/dW^(l) per layer.\n\n"
    )
    return intro + table(
        ["activation", "init", "layer 1 (input)", f"layer {L // 2}", f"layer {L} (output)", "layer 1 / layer L"], rows
    )


def gradient_norms_figure(path: pathlib.Path) -> None:
    """Norm of the weight gradient per layer, log scale, sigmoid and ReLU, three initialisations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norms = _depth_norms()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    layers = np.arange(1, len(DEPTH_SIZES))
    for ax, act in zip(axes, ("sigmoid", "relu")):
        for scheme in dy.INIT_SCHEMES:
            ax.semilogy(layers, norms[(act, scheme)], marker="o", markersize=3, label=f"{scheme}")
        ax.set_title(f"{act} hidden layers")
        ax.set_xlabel("layer l (1 = input side)")
        ax.set_xticks(layers)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(title="initialisation")
    axes[0].set_ylabel("||dL/dW^(l)||_F (log)")
    fig.suptitle(f"Gradient norm per layer of a {len(DEPTH_SIZES) - 1}-layer MLP at initialisation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# 2. L2 regularisation
# ---------------------------------------------------------------------------------------------


def _small_net() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(5, 4))
    y = np.array([0, 2, 1, 1, 0])
    params = dy.mlp_init((4, 6, 3), "he", SEED)
    params["b1"] = rng.normal(0.0, 0.1, size=6)
    params["b2"] = rng.normal(0.0, 0.1, size=3)
    return params, X, y


def l2_check_table() -> str:
    """The penalised gradient against centred differences of the penalised loss, per parameter."""
    params, X, y = _small_net()
    lam = 0.1
    loss, grads = dy.l2_loss_and_grads(params, X, y, lam, "tanh")
    base, plain = dy.mlp_loss_and_grads(params, X, y, "tanh")
    rows = []
    for k in params:

        def f(v, k=k):
            return dy.l2_loss_and_grads({**params, k: v}, X, y, lam, "tanh")[0]

        numeric = gc.numerical_gradient(f, params[k].copy())
        rows.append(
            [
                k,
                str(params[k].shape),
                num(np.abs(grads[k] - plain[k]).max()),
                f"{gc.relative_error(grads[k], numeric):.1e}",
            ]
        )
    intro = (
        f"A 4-6-3 tanh network on N = 5 samples, lam = {lam}: L = {num(base)}, "
        f"L_lam = {num(loss)} (penalty {num(loss - base)}).\n\n"
    )
    return intro + table(
        [
            "parameter",
            "shape",
            "max |penalised - plain gradient| (lam |W|, 0 for biases)",
            "max rel. error vs centred differences",
        ],
        rows,
    )


def _gd(loss_and_grads, params: dict[str, np.ndarray], lr: float, steps: int) -> dict[str, np.ndarray]:
    params = {k: v.copy() for k, v in params.items()}
    for _ in range(steps):
        _, grads = loss_and_grads(params)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params


@functools.lru_cache(maxsize=1)
def _l2_runs() -> list[list[str]]:
    d = _digits()
    X, y = d["X_train"][:L2_ROWS], d["y_train"][:L2_ROWS]
    p0 = dy.mlp_init((64, 32, 10), "he", SEED)
    rows = []
    for lam in L2_LAMS:
        p = _gd(lambda q: dy.l2_loss_and_grads(q, X, y, lam, "relu"), p0, L2_LR, L2_STEPS)
        sq = sum(float(np.sum(p[k] ** 2)) for k in p if k.startswith("W"))
        acc_tr = float(np.mean(np.argmax(_logits(p, X), axis=1) == y))
        acc_va = float(np.mean(np.argmax(_logits(p, d["X_val"]), axis=1) == d["y_val"]))
        rows.append([num(lam), num(sq), num(dy.mlp_loss(p, X, y, "relu")), num(acc_tr), num(acc_va)])
    return rows


def _logits(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    A = X
    L = dy.num_layers(params)
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"].T + params[f"b{l}"]
        A = np.maximum(Z, 0.0) if l < L else Z
    return A


def l2_effect_table() -> str:
    intro = (
        f"A 64-32-10 ReLU network (He init, seed {SEED}), {L2_STEPS} full-batch steps of lr = {L2_LR} on "
        f"{L2_ROWS} training digits, for several lam. The penalty shrinks the weights; the data loss "
        "(without the penalty) rises a little in exchange.\n\n"
    )
    return intro + table(
        [
            "lam",
            "sum_l ||W^(l)||_F^2 after training",
            "training loss L (no penalty)",
            "training accuracy",
            "validation accuracy",
        ],
        _l2_runs(),
    )


# ---------------------------------------------------------------------------------------------
# 3. the learning rate
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _sweep() -> tuple[dict, ...]:
    d = _digits()
    X, y = d["X_train"][:L2_ROWS], d["y_train"][:L2_ROWS]
    p0 = dy.mlp_init((64, 32, 10), "he", SEED)
    lrs = dy.log_grid(SWEEP_LOW, SWEEP_HIGH, SWEEP_NUM)
    return tuple(dy.lr_sweep(lambda p: dy.mlp_loss_and_grads(p, X, y, "relu"), p0, lrs, SWEEP_STEPS))


def sweep_table() -> str:
    res = _sweep()
    rows = [
        [
            num(r["lr"]),
            "inf (diverged)" if r["diverged"] else num(r["final_loss"]),
            str(r["diverged"]),
            str(r["steps_run"]),
        ]
        for r in res
    ]
    intro = (
        f"`lr_sweep` of the same 64-32-10 ReLU network from the same initial weights, {SWEEP_STEPS} full-batch "
        f"steps per learning rate on `log_grid({SWEEP_LOW:g}, {SWEEP_HIGH:g}, {SWEEP_NUM})`; a run diverges when "
        f"its loss exceeds 10 times the initial loss. `best_lr` picks lr = {num(dy.best_lr(res))}.\n\n"
    )
    return intro + table(["lr", f"loss after {SWEEP_STEPS} steps", "diverged", "steps run"], rows)


def lr_sweep_figure(path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = _sweep()
    ok = [r for r in res if not r["diverged"]]
    bad = [r for r in res if r["diverged"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog([r["lr"] for r in ok], [r["final_loss"] for r in ok], marker="o", label="final loss")
    top = max(r["final_loss"] for r in ok) * 2
    ax.scatter([r["lr"] for r in bad], [top] * len(bad), marker="x", color="red", label="diverged")
    ax.set_xlabel("learning rate (log)")
    ax.set_ylabel(f"training loss after {SWEEP_STEPS} steps (log)")
    ax.set_title("Learning-rate sweep: 64-32-10 ReLU MLP on 8x8 digits")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# 4. augmentation
# ---------------------------------------------------------------------------------------------


def augmentation_table() -> str:
    d = _digits()
    X, y = d["X_train"][:AUG_ROWS], d["y_train"][:AUG_ROWS]
    X_te, y_te = d["X_test"], d["y_test"]
    shifted = dy.shift_images(X_te, np.random.default_rng(SEED + 1).integers(-1, 2, size=(len(X_te), 2)))
    rows = []
    for copies in AUG_COPIES:
        Xa, ya = dy.augment_with_shifts(X, y, copies=copies, max_shift=1, seed=SEED)
        model = mb.TwoLayerNet(64, 64, 10, seed=SEED)
        mb.train(model, Xa, ya, batch_size=AUG_BATCH, lr=AUG_LR, epochs=AUG_EPOCHS, seed=SEED)
        rows.append(
            [str(copies), str(len(ya)), num(mb.accuracy(model, X_te, y_te)), num(mb.accuracy(model, shifted, y_te))]
        )
    intro = (
        f"A 64-64-10 ReLU network trained with mini-batches (B = {AUG_BATCH}, lr = {AUG_LR}, {AUG_EPOCHS} epochs, "
        f"seed {SEED}) on {AUG_ROWS} training digits plus `copies` shifted copies (`max_shift=1`), tested on "
        f"the {len(y_te)} held-out test digits as they are and each shifted by a random (dy, dx) in "
        "{-1, 0, 1}^2.\n\n"
    )
    return intro + table(["copies", "training rows", "test accuracy", "test accuracy, shifted test digits"], rows)


# ---------------------------------------------------------------------------------------------
# 5. the loss landscape
# ---------------------------------------------------------------------------------------------


def _line_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    x = rng.normal(1.0, 1.0, size=LINE_N)
    return x, 2.0 * x - 1.0 + rng.normal(0.0, 0.3, size=LINE_N)


@functools.lru_cache(maxsize=1)
def _paths() -> tuple[tuple[str, int, float, int, np.ndarray], ...]:
    x, y = _line_data()
    return tuple(
        (name, b, lr, ep, dy.descent_path(x, y, np.array(LINE_W0), lr, ep, b, seed=SEED)) for name, b, lr, ep in PATHS
    )


def landscape_table() -> str:
    x, y = _line_data()
    best = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)[0]
    rows = []
    for name, b, lr, ep, path in _paths():
        w = path[-1]
        rows.append(
            [
                name,
                str(b),
                num(lr),
                str(ep),
                str(len(path) - 1),
                f"({num(w[0])}, {num(w[1])})",
                num(dy.line_loss_and_grad(w, x, y)[0]),
            ]
        )
    rows.append(
        [
            "least squares",
            "",
            "",
            "",
            "",
            f"({num(best[0])}, {num(best[1])})",
            num(dy.line_loss_and_grad(best, x, y)[0]),
        ]
    )
    intro = (
        f"The line y = w_1 x + w_2 fitted to N = {LINE_N} points y = 2x - 1 + noise (seed {SEED}), "
        f"all paths from w0 = {LINE_W0}, loss at w0 = {num(dy.line_loss_and_grad(np.array(LINE_W0), x, y)[0])}.\n\n"
    )
    return intro + table(["method", "batch size B", "lr", "epochs", "updates", "final (w_1, w_2)", "final loss"], rows)


def landscape_figure(path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = _line_data()
    w1 = np.linspace(-2.5, 4.0, 131)
    w2 = np.linspace(-4.0, 4.0, 161)
    S = dy.loss_surface(x, y, w1, w2)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    levels = np.geomspace(S.min() * 1.05, S.max(), 25)
    cs = ax.contour(w1, w2, S, levels=levels, cmap="viridis", linewidths=0.8)
    fig.colorbar(cs, ax=ax, label="MSE (log-spaced levels)")
    for (name, b, lr, ep, p), colour in zip(_paths(), ("black", "tab:orange", "tab:red")):
        ax.plot(
            p[:, 0],
            p[:, 1],
            marker=".",
            markersize=3,
            linewidth=1,
            color=colour,
            label=f"{name} (B = {b}, lr = {lr:g}, {len(p) - 1} updates)",
        )
    ax.plot(*LINE_W0, marker="s", color="black", linestyle="none", label="start w0")
    best = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)[0]
    ax.plot(
        best[0],
        best[1],
        marker="*",
        markersize=12,
        color="gold",
        markeredgecolor="black",
        linestyle="none",
        label="minimum",
    )
    ax.set_xlabel("w_1 (slope)")
    ax.set_ylabel("w_2 (intercept)")
    ax.set_title("Loss landscape of y = w_1 x + w_2 and three descent paths")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# 6. the cost of a gradient
# ---------------------------------------------------------------------------------------------


def cost_table() -> str:
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(10, 8))
    y = rng.integers(0, 3, size=10)
    rows = []
    for width in COST_WIDTHS:
        params = dy.mlp_init((8, width, 3), "xavier", SEED)
        res = dy.gradient_cost(
            lambda p: dy.mlp_loss(p, X, y, "tanh"),
            lambda p: dy.mlp_loss_and_grads(p, X, y, "tanh"),
            params,
            gc.numerical_gradient,
        )
        rows.append(
            [
                f"8-{width}-3",
                str(res["n_params"]),
                str(res["fd_loss_calls"]),
                str(res["backprop_calls"]),
                f"{res['max_rel_error']:.1e}",
            ]
        )
    intro = (
        "`gradient_cost` with Task 5's centred `numerical_gradient` and the given backprop "
        "(`mlp_loss_and_grads`), tanh networks on N = 10 samples:\n\n"
    )
    return intro + table(
        [
            "network",
            "parameters P",
            "loss calls, finite differences (2P)",
            "calls, backprop (1 forward + 1 backward)",
            "max rel. error between the two",
        ],
        rows,
    )


BLOCKS = {
    "dynamics-init": init_table,
    "dynamics-depth": depth_table,
    "dynamics-l2-check": l2_check_table,
    "dynamics-l2-effect": l2_effect_table,
    "dynamics-sweep": sweep_table,
    "dynamics-augmentation": augmentation_table,
    "dynamics-landscape": landscape_table,
    "dynamics-cost": cost_table,
}

FIGURES = {
    "dynamics_gradient_norms.png": gradient_norms_figure,
    "dynamics_lr_sweep.png": lr_sweep_figure,
    "dynamics_landscape.png": landscape_figure,
}
