"""Worked numbers for reference/torch_training.md, computed by solutions.torch_training.

``BLOCKS`` maps a block name to a function returning the markdown that ``course handout``
writes between the ``<!-- BEGIN GENERATED: name -->`` / ``<!-- END GENERATED: name -->`` lines.
Numbers are printed to 10 significant digits. torch is imported lazily (inside the functions).
"""

from __future__ import annotations

import numpy as np

# The tiny float64 example of the note: N = 3 samples, D = 2 inputs, H = 3 hidden, C = 3 classes.
X_SMALL = [[1.0, 2.0], [-1.0, 0.5], [0.5, -1.0]]
Y_SMALL = [0, 2, 1]
W1_SMALL = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]
B1_SMALL = [0.0, 0.1, -0.1]
W2_SMALL = [[0.3, -0.1, 0.2], [0.2, 0.4, -0.3], [-0.2, 0.1, 0.5]]
B2_SMALL = [0.0, 0.0, 0.0]
PARAM_NAMES = ["W1 = 0.weight", "b1 = 0.bias", "W2 = 2.weight", "b2 = 2.bias"]


def _g(x: float) -> str:
    return f"{float(x):.10g}"


def _vec(a) -> str:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return "[" + ", ".join(_g(v) for v in a) + "]"
    return "[" + "; ".join(", ".join(_g(v) for v in row) for row in a) + "]"


def _small_model():
    import torch

    from solutions import torch_training as tt

    model = tt.build_model(2, 3, 3).double()
    with torch.no_grad():
        for p, value in zip(model.parameters(), [W1_SMALL, B1_SMALL, W2_SMALL, B2_SMALL]):
            p.copy_(torch.tensor(value, dtype=torch.float64))
    return model


def autograd_table() -> str:
    """dy/dx of y = x^2 + 2x by autograd_demo, next to the exact 2x + 2."""
    from solutions import torch_training as tt

    lines = ["| x0 | autograd_demo(x0) | 2 x0 + 2 |", "| --- | --- | --- |"]
    for x0 in (1.0, 0.0, 3.0, -2.5):
        lines.append(f"| {_g(x0)} | {_g(tt.autograd_demo(x0))} | {_g(2 * x0 + 2)} |")
    return "\n".join(lines)


def layers_table() -> str:
    """Parameter shapes and counts of the lecture's build_model()."""
    from solutions import torch_training as tt

    model = tt.build_model()
    lines = ["| parameter | shape | entries |", "| --- | --- | --- |"]
    total = 0
    for name, p in model.named_parameters():
        total += p.numel()
        lines.append(f"| `{name}` | {tuple(p.shape)} | {p.numel()} |")
    lines.append(f"| total | | {total} |")
    return "\n".join(lines)


def one_step_table() -> str:
    """One train_step with SGD(lr=1) on the tiny float64 example: W0 - W1 is the gradient."""
    import torch
    from torch import nn

    from solutions import torch_training as tt

    model = _small_model()
    before = [p.detach().clone() for p in model.parameters()]
    X = torch.tensor(X_SMALL, dtype=torch.float64)
    y = torch.tensor(Y_SMALL, dtype=torch.int64)
    loss_fn = nn.CrossEntropyLoss()
    loss0 = tt.train_step(model, torch.optim.SGD(model.parameters(), lr=1.0), loss_fn, X, y)
    with torch.no_grad():
        loss1 = loss_fn(model(X), y).item()
    lines = ["| quantity | value |", "| --- | --- |"]
    lines.append(f"| loss before the step (returned by `train_step`) | {_g(loss0)} |")
    for name, p0, p1 in zip(PARAM_NAMES, before, model.parameters()):
        lines.append(f"| {name}: W0 - W1 = gradient | {_vec((p0 - p1.detach()).numpy())} |")
    lines.append(f"| loss after the step | {_g(loss1)} |")
    return "\n".join(lines)


def zero_grad_table() -> str:
    """The gradient of b2 in two steps, with zero_grad (train_step) and without it."""
    import torch
    from torch import nn

    from solutions import torch_training as tt

    X = torch.tensor(X_SMALL, dtype=torch.float64)
    y = torch.tensor(Y_SMALL, dtype=torch.int64)
    loss_fn = nn.CrossEntropyLoss()
    lr = 0.5

    with_zero = []
    model = _small_model()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(2):
        tt.train_step(model, opt, loss_fn, X, y)
        with_zero.append(model[2].bias.grad.detach().clone().numpy())
    b2_with = model[2].bias.detach().numpy().copy()

    without = []
    model = _small_model()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(2):  # the mistake: no optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()
        without.append(model[2].bias.grad.detach().clone().numpy())
    b2_without = model[2].bias.detach().numpy().copy()

    lines = [
        "| SGD, lr = 0.5 | `.grad` of b2 used in step 1 | `.grad` of b2 used in step 2 | b2 after 2 steps |",
        "| --- | --- | --- | --- |",
        f"| with `zero_grad()` | {_vec(with_zero[0])} | {_vec(with_zero[1])} | {_vec(b2_with)} |",
        f"| without | {_vec(without[0])} | {_vec(without[1])} | {_vec(b2_without)} |",
    ]
    return "\n".join(lines)


BLOCKS = {
    "torch-autograd-demo": autograd_table,
    "torch-layers": layers_table,
    "torch-one-step": one_step_table,
    "torch-zero-grad": zero_grad_table,
}
